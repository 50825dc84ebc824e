"""The authorization server behind "sign in with Feishu/Lark", and the user token store.

One construct owns everything the sign-in needs in AWS:

* the user token table (DynamoDB, on demand, point-in-time recovery, encrypted with its own
  customer-managed key, retained and deletion-protected: people's Lark tokens live here), and
  a second customer-managed key that wraps the per-person data keys sealing each stored Lark
  token (lark_user_store.envelope), so reading an item is not reading a token;
* the token signing key: a KMS asymmetric RSA_2048 key (RS256); the private half never leaves KMS,
  so it appears in no template, environment variable or log;
* the OAuth client ``quicksuite``: its secret is generated into Secrets Manager at deploy time
  (``{"client_id", "client_secret", "redirect_uris"}``) and read by the server at run time;
* the server itself (``lark_auth_server.aws_lambda.handler``, arm64, wheels bundled without
  Docker by :mod:`mcp_constructs.python_bundle`) behind an API Gateway HTTP API.

The tokens' audience is the user gateway's MCP URL. That gateway is created after this
construct (its authorizer reads our discovery URL, and its target calls the runtime that trusts
our issuer), so the server cannot take the URL as a CloudFormation reference without a cycle:
``audience`` may be ``ssm:<parameter name>``, the parameter the user gateway's stack writes,
read by the server at cold start (the construct grants ``ssm:GetParameter`` on it).

Each OAuth endpoint has its own throttle (HTTP API route settings), so anonymous traffic on
``/authorize``, ``/callback`` or the metadata cannot use up what ``/token`` needs.

Why an HTTP API rather than a Lambda function URL: its endpoint
``https://<api id>.execute-api.<region>.<suffix>`` is built from the API id without string
surgery, so the issuer and discovery URLs are plain joins (a function URL ends in ``/`` and
would need ``Fn::Split``, which CloudFormation refuses over a cross-stack reference); it also
gives per-stage throttling and access logs, which a function URL has not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from mcp_constructs.nag import acknowledge
from mcp_constructs.python_bundle import PYTHON_RUNTIME, REPO, WHEELHOUSE_ROOT, PythonBundle

#: The item kinds the MCP server reads and writes (lark_user_store.tokens.USER_PREFIX and
#: lark_mcp_server.user_tokens.LEASE_PREFIX); everything else in the table is the auth server's.
RUNTIME_KEY_PREFIXES = ("user#", "refreshing#")
#: Get a person's tokens; conditional PutItem (refresh, lease); conditional DeleteItem (lease).
RUNTIME_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
#: The client id Quick Suite uses (fixed, so the form can be filled before the first deploy).
QUICKSUITE_CLIENT_ID = "quicksuite"
HANDLER = "lark_auth_server.aws_lambda.handler"
#: What the authorization server Lambda is made of (its wheels: `make setup`).
AUTH_SERVER_BUNDLE = PythonBundle(
    packages=(REPO / "lark_auth_server", REPO / "lark_user_store"),
    requirements=REPO / "lark_auth_server" / "requirements.txt",
    wheelhouse=WHEELHOUSE_ROOT / "lark_auth_server",
    make_target="make setup",
)


def quicksuite_redirect_uri(region: str) -> str:
    """Quick Suite's OAuth callback, fixed per region."""
    return f"https://{region}.quicksight.aws.amazon.com/sn/oauthcallback"


class UserAuth(Construct):
    """Authorization server (Lambda + HTTP API), token table, keys and the Quick Suite client.

    Args:
        lark_secret: the Lark app credentials (``{"app_id", "app_secret"}``) the server reads.
        lark_domain: Lark OpenAPI origin, e.g. ``https://open.feishu.cn``.
        redirect_uris: redirect URIs registered for the ``quicksuite`` client (exact match).
        lark_user_scopes: Lark scopes asked of each person; the server adds ``offline_access``.
            Default none.
        code: the server's code. Default: the repo's ``lark_auth_server`` + ``lark_user_store``
            with their wheels (raises with the make target to run when they are missing).
        reserved_concurrency: concurrent executions reserved for (and capping) the server.
            Default none: Lambda refuses any reservation that leaves fewer than 100 unreserved,
            which a new account (limit 10) cannot give; `make doctor` checks one that is set.
        audience: every token's ``aud``: the user gateway's MCP URL, or ``ssm:<parameter
            name>`` holding it (see the module docstring).
        rate_limit / burst_limit: requests per second for routes without their own throttle
            (the catch-all). Default 20/40. ``route_throttles`` sets the others.
        route_throttles: (rate, burst) per route key. Default :data:`ROUTE_THROTTLES`.
        log_retention: retention of the server's and the API's log groups. Default one month.
        redirect_allow: https hosts and app schemes self-registered clients may redirect to
            (``AUTH_REDIRECT_ALLOW``; docs/user-auth.md "Redirect policy"). Default: the
            server's own list (Quick Suite in every region, Claude, VS Code, Cursor).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        lark_secret: secretsmanager.ISecret,
        lark_domain: str,
        redirect_uris: Sequence[str],
        audience: str,
        lark_user_scopes: Sequence[str] = (),
        code: lambda_.Code | None = None,
        reserved_concurrency: int | None = None,
        rate_limit: int = 20,
        burst_limit: int = 40,
        route_throttles: Mapping[str, tuple[int, int]] | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        redirect_allow: Sequence[str] | None = None,
    ) -> None:
        super().__init__(scope, id)
        if not redirect_uris:
            raise ValueError(f"{self.node.path}: the quicksuite client needs a redirect URI")
        code = code or AUTH_SERVER_BUNDLE.code()
        self.client_id = QUICKSUITE_CLIENT_ID
        #: Registered for the ``quicksuite`` client; the first is Quick Suite's own.
        self.redirect_uris: tuple[str, ...] = tuple(redirect_uris)

        # -- the user token store ---------------------------------------------------------
        self.table_key = kms.Key(
            self,
            "TableKey",
            description="Encrypts the Lark user tokens of the Lark MCP sign-in",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table = dynamodb.Table(
            self,
            "Tokens",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.table_key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute="ttl",
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

        # The tokens inside each item are sealed again with a per-person data key that this
        # key wraps (encryption context {"open_id": ...}); the table's key alone opens nothing.
        self.token_key = kms.Key(
            self,
            "TokenKey",
            description="Wraps the data keys that encrypt each stored Lark user token",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

        # -- the access-token signing key ---------------------------------------------------
        # Asymmetric keys cannot rotate automatically: rotate by deploying a new key and listing
        # the old one in AUTH_PREVIOUS_SIGNING_KEYS until its tokens (1 hour) expire.
        self.signing_key = kms.Key(
            self,
            "SigningKey",
            description="Signs the access tokens (RS256) of the Lark MCP authorization server",
            key_spec=kms.KeySpec.RSA_2048,
            key_usage=kms.KeyUsage.SIGN_VERIFY,
            # Tokens it signed live one hour; nothing needs it after a destroy.
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )

        # -- the Quick Suite client ---------------------------------------------------------
        template = {"client_id": self.client_id, "redirect_uris": list(redirect_uris)}
        self.clients_secret = secretsmanager.Secret(
            self,
            "ClientsSecret",
            description="OAuth client of Quick Suite at the Lark MCP authorization server: "
            '{"client_id", "client_secret", "redirect_uris"}',
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=Stack.of(self).to_json_string(template),
                generate_string_key="client_secret",
                password_length=48,
                exclude_punctuation=True,
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.clients_secret,
            "AwsSolutions-SMG4",
            "The Quick Suite client secret is pasted into the Quick Suite integration by a "
            "person; rotating it automatically would break sign-in until they paste it again. "
            "Rotate by hand (docs/user-auth.md).",
        )

        # -- the sign-in cookie key ------------------------------------------------------------
        # Seals the pending sign-in in the person's browser (lark_auth_server.signin_cookie).
        self.cookie_secret = secretsmanager.Secret(
            self,
            "CookieSecret",
            description="Key material sealing the sign-in cookie of the Lark MCP authorization "
            "server (a pending sign-in, at most 10 minutes)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.cookie_secret,
            "AwsSolutions-SMG4",
            "Seals sign-in cookies that live 10 minutes; rotate by hand (put a new random "
            "value, restart the function): sign-ins in progress then start again.",
        )

        # -- the server ----------------------------------------------------------------------
        self.log_group = logs.LogGroup(self, "ServerLogs", retention=log_retention)
        self.role = iam.Role(
            self,
            "ServerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Lark MCP authorization server: its logs, the token table, the signing "
            "key and its two secrets",
        )
        self.log_group.grant_write(self.role)
        self.api = apigwv2.HttpApi(
            self,
            "Api",
            description="Lark MCP authorization server (OAuth 2.1, sign in with Feishu/Lark)",
            create_default_stage=False,
        )
        #: `https://<api id>.execute-api.<region>.<suffix>`: the tokens' `iss`.
        self.issuer: str = self.api.api_endpoint
        #: The server's settings (a deploy check reruns when they change).
        self.server_environment: dict[str, str] = {
            "USER_TOKEN_STORE": self.token_store_url,
            "LARK_DOMAIN": lark_domain,
            "LARK_USER_SCOPES": " ".join(lark_user_scopes),
            "LARK_SECRET_ARN": lark_secret.secret_arn,
            "AUTH_CLIENTS_SECRET_ARN": self.clients_secret.secret_arn,
            "AUTH_SIGNING_KEY": f"kms:{self.signing_key.key_arn}",
            "AUTH_COOKIE_SECRET_ARN": self.cookie_secret.secret_arn,
            "AUTH_ISSUER": self.issuer,
            "AUTH_AUDIENCE": audience,
        }
        #: What the server (and the runtime) reads as the audience.
        self.audience = audience
        if redirect_allow is not None:
            self.server_environment["AUTH_REDIRECT_ALLOW"] = " ".join(redirect_allow)
        self.function = lambda_.Function(
            self,
            "Server",
            description="Lark MCP authorization server",
            runtime=PYTHON_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=code,
            role=self.role,
            timeout=Duration.seconds(20),
            memory_size=512,
            reserved_concurrent_executions=reserved_concurrency or None,
            log_group=self.log_group,
            # One JSON object per line with `extra` fields on top (`event`: the Monitoring
            # stack's metric filters); lark_auth_server/logs.py writes the same locally.
            logging_format=lambda_.LoggingFormat.JSON,
            environment=self.server_environment,
        )
        self.grant_token_store(self.function)
        self.signing_key.grant(self.function, "kms:Sign", "kms:GetPublicKey")
        self.clients_secret.grant_read(self.function)
        self.cookie_secret.grant_read(self.function)
        lark_secret.grant_read(self.function)
        self.grant_read_audience(self.function)

        integration = integrations.HttpLambdaIntegration("Server", self.function)
        self.route_throttles = dict(route_throttles or ROUTE_THROTTLES)
        routes: list[apigwv2.HttpRoute] = []
        for key in self.route_throttles:
            method, path = key.split(" ", 1)
            routes += self.api.add_routes(
                path=path, methods=[apigwv2.HttpMethod(method)], integration=integration
            )
        routes += self.api.add_routes(  # anything else (health, later endpoints): the default
            path="/{proxy+}",
            methods=[apigwv2.HttpMethod.GET, apigwv2.HttpMethod.POST],
            integration=integration,
        )
        self.access_logs = logs.LogGroup(self, "ApiAccessLogs", retention=log_retention)
        self.stage = apigwv2.HttpStage(
            self,
            "Stage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=rate_limit, burst_limit=burst_limit),
        )
        stage = self.stage.node.default_child
        stage.route_settings = {
            key: {"ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst}
            for key, (rate, burst) in self.route_throttles.items()
        }
        for route in routes:  # route settings name routes that must exist first
            stage.node.add_dependency(route)
        # Method, path (never the query: it carries authorization codes), status and caller.
        self.stage.node.default_child.access_log_settings = (
            apigwv2.CfnStage.AccessLogSettingsProperty(
                # The log group's ARN without the `:*` of its Arn attribute: API Gateway stores
                # it so, and a `:*` makes drift detection report the stage modified forever.
                destination_arn=Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=self.access_logs.log_group_name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                ),
                format=json.dumps(_ACCESS_LOG_FORMAT, separators=(",", ":")),
            )
        )
        for route in self.api.node.children:
            if isinstance(route, apigwv2.HttpRoute):
                acknowledge(
                    route,
                    "AwsSolutions-APIG4",
                    "OAuth endpoints are public by design: /authorize and /callback are opened "
                    "by a person's browser, /token authenticates the client itself (client "
                    "secret, PKCE), discovery and /jwks are public metadata.",
                )

    # -- attributes ----------------------------------------------------------------------------

    @property
    def discovery_url(self) -> str:
        """OpenID discovery document of the issuer (what a CUSTOM_JWT authorizer reads)."""
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def authorization_url(self) -> str:
        return f"{self.issuer}/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/token"

    @property
    def callback_url(self) -> str:
        """Register this as the redirect URL of the Lark app (Lark developer console)."""
        return f"{self.issuer}/callback"

    @property
    def token_store_url(self) -> str:
        """``USER_TOKEN_STORE`` for every reader of the store (lark_user_store.open_store):
        the table and the KMS key that wraps the tokens' data keys."""
        return f"dynamodb://{self.table.table_name}?kms_key={self.token_key.key_arn}"

    # -- grants --------------------------------------------------------------------------------

    def grant_token_store(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read and write every item kind of the store (the authorization server: sign-ins,
        codes, refresh-token families, registrations), and seal/open people's Lark tokens."""
        grant = self.table.grant_read_write_data(grantee)
        _acknowledge_table_key_actions(grantee)
        self._grant_data_keys(grantee)
        return grant

    def grant_read_audience(self, grantee: iam.IGrantable) -> iam.Grant | None:
        """Read the SSM parameter holding the audience (None when it is a plain URL)."""
        if not self.audience.startswith("ssm:"):
            return None
        name = self.audience.removeprefix("ssm:").lstrip("/")
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["ssm:GetParameter"],
            resource_arns=[
                Stack.of(self).format_arn(service="ssm", resource="parameter", resource_name=name)
            ],
        )

    def grant_token_refresh(self, grantee: iam.IGrantable) -> iam.Grant:
        """What the MCP server needs of the store, no more: read, conditionally write and
        delete only the items keyed ``user#<open_id>`` (a person's Lark tokens) and
        ``refreshing#<open_id>`` (the refresh lease), enforced with ``dynamodb:LeadingKeys``,
        and seal/open the Lark tokens. It cannot read our codes, refresh tokens, families or
        client registrations."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(RUNTIME_TABLE_ACTIONS),
            resource_arns=[self.table.table_arn],
            conditions={
                "ForAllValues:StringLike": {
                    "dynamodb:LeadingKeys": [f"{p}*" for p in RUNTIME_KEY_PREFIXES]
                }
            },
        )
        # DynamoDB decrypts and encrypts items with the table's key on the caller's behalf
        # (the same key actions Table.grantReadWriteData gives).
        self.table_key.grant_encrypt_decrypt(grantee)
        _acknowledge_table_key_actions(grantee)
        self._grant_data_keys(grantee)
        return grant

    def _grant_data_keys(self, grantee: iam.IGrantable) -> iam.Grant:
        """GenerateDataKey/Decrypt on the token key, only with a person's encryption context."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["kms:GenerateDataKey", "kms:Decrypt"],
            resource_arns=[self.token_key.key_arn],
            conditions={
                "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["open_id"]},
                "Null": {"kms:EncryptionContext:open_id": "false"},
            },
        )

    def grant_read_client_secret(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the Quick Suite client's secret (for a person's `make quicksuite`, not code)."""
        return self.clients_secret.grant_read(grantee)


def _acknowledge_table_key_actions(grantee: iam.IGrantable) -> None:
    """Table.grantReadWriteData's KMS wildcards, on the table's own key only."""
    principal = grantee.grant_principal
    policy = (
        principal.node.try_find_child("DefaultPolicy") if isinstance(principal, iam.Role) else None
    )
    if policy is None:
        return
    for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
        acknowledge(
            policy.node.default_child,
            f"AwsSolutions-IAM5[Action::{action}]",
            "aws-cdk's Table.grantReadWriteData: DynamoDB encrypts items with the table's "
            "customer-managed key on the caller's behalf; the statement names that key alone.",
        )


#: (requests per second, burst) per route. /token is Quick Suite's and every client's refresh;
#: the browser routes and the metadata are anonymous and may not use it up.
ROUTE_THROTTLES: dict[str, tuple[int, int]] = {
    "POST /token": (25, 50),
    "GET /authorize": (5, 10),
    "GET /callback": (5, 10),
    "GET /jwks": (5, 10),
    "GET /.well-known/{proxy+}": (5, 10),
    # Anyone may register a client: its own small bucket (the server also limits per address).
    "POST /register": (2, 5),
    "POST /consent": (5, 10),
}

_ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "method": "$context.httpMethod",
    "path": "$context.path",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "integrationError": "$context.integrationErrorMessage",
}
