"""The MCP front door for signed-in people (context ``userAuth: true``; docs/user-auth.md)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Fn, Stack
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from mcp_constructs.deploy_checks import GatewayToolSync
from mcp_constructs.deploy_checks.constructs import fingerprint
from mcp_constructs.deploy_checks.sign_in import SignInCheck
from mcp_constructs.manifest import expected_tool_names, load_manifest, select_tools
from mcp_constructs.runtime import McpServerRuntime
from mcp_constructs.user_auth import UserAuth
from mcp_constructs.user_gateway import UserGateway, UserToolPolicy
from stacks.config import AppConfig

TARGET_NAME = "lark"


def accounts_origin(lark_domain: str) -> str:
    """Where the authorization server sends people to sign in, for context ``larkDomain``:
    ``https://open.feishu.cn`` -> ``https://accounts.feishu.cn`` (as
    ``lark_auth_server.lark.accounts_origin``, which the app does not import)."""
    for host in ("feishu.cn", "larksuite.com"):
        if f"://open.{host}" in lark_domain:
            return lark_domain.replace(f"://open.{host}", f"://accounts.{host}")
    return lark_domain  # a proxy serving both


def user_gateway_url_parameter(config: AppConfig) -> str:
    """The SSM parameter holding the user gateway's MCP URL: the tokens' audience, read at run
    time by the authorization server and the runtime (both deployed before the gateway)."""
    return f"/{config.stack_prefix}/user-gateway/mcp-url"


def user_gateway_name(config: AppConfig) -> str:
    """`<prefix>-user-gw`: at most 48 characters for any valid stack prefix (<= 40)."""
    return f"{config.stack_prefix.lower()}-user-gw"


class UserGatewayStack(Stack):
    """User gateway + its tool sync + Cedar policies + the Quick Suite form outputs."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: AppConfig,
        auth: UserAuth,
        runtime: McpServerRuntime,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.user_gateway = UserGateway(
            self,
            "UserGateway",
            gateway_name=user_gateway_name(config),
            discovery_url=auth.discovery_url,
            runtime=runtime,
            target_name=TARGET_NAME,
            description="Lark/Feishu tools acting as the signed-in person",
        )
        gateway, target = self.user_gateway.gateway, self.user_gateway.target
        self.mcp_url_parameter = ssm.StringParameter(
            self,
            "McpUrlParameter",
            parameter_name=user_gateway_url_parameter(config),
            string_value=gateway.gateway_url,
            description="MCP URL of the Lark user gateway: the audience of the sign-in's tokens",
        )
        expected = expected_tool_names(config.lark_tools, read_only=bool(config.lark_read_only))
        self.tool_sync = GatewayToolSync(
            self,
            "ToolSync",
            gateway=gateway.resource,
            targets=[target.resource],
            triggers={
                "image": runtime.image_asset_hash,
                "tools": fingerprint(self, expected),
            },
        )
        self.sign_in_check = SignInCheck(
            self,
            "SignInCheck",
            # What the runtime was configured with, not a second copy of the issuer.
            issuer=(runtime.resource.environment_variables or {}).get(
                "LARK_USER_AUTH_ISSUER", auth.issuer
            ),
            discovery_url=auth.discovery_url,
            client_id=auth.client_id,
            redirect_uri=auth.redirect_uris[0],
            gateway=gateway.resource,
            accounts_origin=accounts_origin(config.lark_domain),
            fill_secret_command=(
                "aws secretsmanager put-secret-value --secret-id "
                f"{config.lark_secret_name or config.default_secret_name} --region {self.region}"
                " --secret-string file://lark-app.json"
                ' (lark-app.json: {"app_id": "cli_...", "app_secret": "..."}; delete it after)'
            ),
            restart_command=Fn.join(
                "",
                [
                    "aws lambda update-function-configuration --function-name ",
                    auth.function.function_name,
                    f" --region {self.region}",
                    ' --description "secrets changed $(date +%s)"',
                ],
            ),
            after=self.tool_sync,
            triggers={
                # The server's code and settings, and the interceptor's code.
                "auth_server": fingerprint(
                    self,
                    [
                        auth.function.node.default_child.code,
                        auth.server_environment,
                    ],
                ),
                "interceptor": fingerprint(
                    self, self.user_gateway.interceptor.function.node.default_child.code
                ),
            },
        )
        # The check's /authorize names the gateway as resource: the server reads it from SSM.
        self.sign_in_check.node.add_dependency(self.mcp_url_parameter)
        self.tool_policy = UserToolPolicy(
            self,
            "ToolPolicy",
            gateway=gateway.resource,
            gateway_role=gateway.role,
            audience=gateway.gateway_url,
            mode=config.policy_mode,
        )
        self.tool_policy.add_target(
            target.resource,
            target_name=TARGET_NAME,
            tools=select_tools(load_manifest(), expected),
            after=[self.tool_sync.resource],
        )

        # Quick Suite -> MCP integration -> "User authentication", in the form's order.
        CfnOutput(self, "UserMcpEndpointUrl", value=gateway.gateway_url)
        CfnOutput(self, "UserGatewayId", value=gateway.gateway_id)
        CfnOutput(self, "UserClientId", value=auth.client_id)
        CfnOutput(self, "UserTokenUrl", value=auth.token_url)
        CfnOutput(self, "UserAuthorizationUrl", value=auth.authorization_url)
        CfnOutput(self, "LarkRedirectUrl", value=auth.callback_url)
        CfnOutput(
            self,
            "UserClientSecretArn",
            value=auth.clients_secret.secret_arn,
            description="Secret holding the quicksuite client's secret (never output itself)",
        )
        CfnOutput(
            self,
            "SignInPending",
            value=self.sign_in_check.resource.get_att_string("Pending"),
            description="What the deploy's sign-in check left to do, e.g. fill the Lark secret "
            "(as of its last run; `make verify USER_AUTH=1` checks now)",
        )
