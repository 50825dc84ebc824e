"""The authorization server behind "sign in with Feishu/Lark", and the user token store.

One construct owns everything the sign-in needs in AWS:

* the user token table (DynamoDB, on demand, point-in-time recovery, encrypted with its own
  customer-managed key, retained and deletion-protected: people's Lark tokens live here);
* the token signing key: a KMS asymmetric RSA_2048 key (RS256); the private half never leaves KMS,
  so it appears in no template, environment variable or log;
* the OAuth client ``quicksuite``: its secret is generated into Secrets Manager at deploy time
  (``{"client_id", "client_secret", "redirect_uris"}``) and read by the server at run time;
* the server itself (``lark_auth_server.aws_lambda.handler``, arm64, wheels bundled without
  Docker by :mod:`mcp_constructs.python_bundle`) behind an API Gateway HTTP API.

Why an HTTP API rather than a Lambda function URL: its endpoint
``https://<api id>.execute-api.<region>.<suffix>`` is built from the API id without string
surgery, so the issuer and discovery URLs are plain joins (a function URL ends in ``/`` and
would need ``Fn::Split``, which CloudFormation refuses over a cross-stack reference); it also
gives per-stage throttling and access logs, which a function URL has not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

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
        rate_limit / burst_limit: requests per second the HTTP API lets through. Default 20/40.
        log_retention: retention of the server's and the API's log groups. Default one month.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        lark_secret: secretsmanager.ISecret,
        lark_domain: str,
        redirect_uris: Sequence[str],
        lark_user_scopes: Sequence[str] = (),
        code: lambda_.Code | None = None,
        reserved_concurrency: int | None = None,
        rate_limit: int = 20,
        burst_limit: int = 40,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
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
            "AUTH_ISSUER": self.issuer,
        }
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
        lark_secret.grant_read(self.function)

        self.api.add_routes(
            path="/{proxy+}",
            methods=[apigwv2.HttpMethod.GET, apigwv2.HttpMethod.POST],
            integration=integrations.HttpLambdaIntegration("Server", self.function),
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
        """``USER_TOKEN_STORE`` for every reader of the store (lark_user_store.open_store)."""
        return f"dynamodb://{self.table.table_name}"

    # -- grants --------------------------------------------------------------------------------

    def grant_token_store(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read and write the user tokens (the table and encrypt/decrypt with its key)."""
        grant = self.table.grant_read_write_data(grantee)
        _acknowledge_table_key_actions(grantee)
        return grant

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
