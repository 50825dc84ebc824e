"""Sign in with Feishu/Lark: the authorization server, the token store and their keys.

Built only with context ``userAuth: true`` (docs/user-auth.md). Deployed before the runtime,
which reads the store and trusts this issuer, and before the user gateway.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, CfnOutput, Fn, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from mcp_constructs.interceptor.caller_jwt import CALLER_JWT_HEADER
from mcp_constructs.runtime import McpServerRuntime
from mcp_constructs.user_auth import UserAuth, quicksuite_redirect_uri
from stacks.config import AppConfig
from stacks.user_auth_config import UserAuthConfig
from stacks.user_gateway_stack import user_gateway_url_parameter


class UserAuthStack(Stack):
    """UserAuth construct + the outputs a person needs (Lark redirect URL, Quick Suite form)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: AppConfig,
        user_auth: UserAuthConfig,
        code: lambda_.Code | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        # By name (INTERFACES: fixed per stack prefix): no dependency on the Runtime stack,
        # which creates the secret when larkSecretName is not set.
        secret_name = config.lark_secret_name or config.default_secret_name
        lark_secret = secretsmanager.Secret.from_secret_name_v2(self, "LarkSecret", secret_name)
        region = user_auth.quick_suite_region or self.region
        if not user_auth.lark_user_scopes:
            # Feishu grants only the scopes the authorize page asks for (plus earlier grants).
            Annotations.of(self).add_warning_v2(
                "lark-mcp:larkUserScopes",
                "context 'larkUserScopes' is empty: people will grant only offline_access and "
                "user tools will be refused. Set it to the user scopes enabled on the Lark app, "
                "e.g. -c larkUserScopes='calendar:calendar:readonly search:docs:read' "
                "(docs/user-auth.md)",
            )
        self.auth = UserAuth(
            self,
            "UserAuth",
            lark_secret=lark_secret,
            lark_domain=config.lark_domain,
            lark_user_scopes=user_auth.lark_user_scopes,
            redirect_uris=[quicksuite_redirect_uri(region), *user_auth.extra_redirect_uris],
            # The user gateway is deployed after this stack: its URL comes through SSM.
            audience=f"ssm:{user_gateway_url_parameter(config)}",
            reserved_concurrency=user_auth.concurrency,
            redirect_allow=user_auth.redirect_allow,
            code=code,
        )
        auth = self.auth
        CfnOutput(self, "IssuerUrl", value=auth.issuer)
        CfnOutput(self, "DiscoveryUrl", value=auth.discovery_url)
        CfnOutput(
            self,
            "LarkRedirectUrl",
            value=auth.callback_url,
            description="Add this redirect URL to the Lark app (Security settings)",
        )
        CfnOutput(self, "UserClientId", value=auth.client_id)
        CfnOutput(
            self,
            "QuickSuiteRedirectUrl",
            value=auth.redirect_uris[0],
            description="Quick Suite's redirect URL registered for the quicksuite client",
        )
        CfnOutput(self, "UserAuthorizationUrl", value=auth.authorization_url)
        CfnOutput(self, "UserTokenUrl", value=auth.token_url)
        CfnOutput(
            self,
            "UserClientSecretArn",
            value=auth.clients_secret.secret_arn,
            description="Secret holding the quicksuite client's secret (never output itself)",
        )
        CfnOutput(
            self,
            "UserClientSecretCommand",
            value=Fn.join(
                "",
                [
                    "aws secretsmanager get-secret-value --secret-id ",
                    auth.clients_secret.secret_arn,
                    " --region ",
                    self.region,
                    " --query SecretString --output text",
                ],
            ),
            description="Prints the quicksuite client's JSON; paste its client_secret",
        )
        CfnOutput(self, "UserTokenTable", value=auth.table.table_name)
        CfnOutput(
            self,
            "AuthServerFunctionName",
            value=auth.function.function_name,
            description="The authorization server Lambda (its logs; restart it after changing "
            "a secret it reads)",
        )

    def connect_runtime(self, runtime: McpServerRuntime) -> None:
        """Let the MCP server act as signed-in people: trust this issuer, the quicksuite
        client and the audience, read/write the token store, and receive the caller-JWT
        header."""
        runtime.add_environment("LARK_USER_AUTH_ISSUER", self.auth.issuer)
        runtime.add_environment("LARK_USER_AUTH_CLIENTS", self.auth.client_id)
        runtime.add_environment("LARK_USER_AUTH_AUDIENCE", self.auth.audience)
        self.auth.grant_read_audience(runtime.role)
        runtime.add_environment("USER_TOKEN_STORE", self.auth.token_store_url)
        runtime.allow_request_headers(CALLER_JWT_HEADER)
        self.auth.grant_token_refresh(runtime.role)
