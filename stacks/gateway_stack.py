"""The MCP front door: an AgentCore Gateway that checks Cognito tokens and calls the runtime."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from mcp_constructs import JwtAuthorizer, M2MAuth, McpGateway, McpServerRuntime
from mcp_constructs.deploy_checks import GatewaySmokeTest, GatewayToolSync
from mcp_constructs.deploy_checks.constructs import fingerprint
from mcp_constructs.manifest import expected_tool_names, load_manifest, select_tools
from mcp_constructs.rate_limit import add_team_rate_limits
from mcp_constructs.teams import READ_SCOPE_NAME, read_scope_needed
from mcp_constructs.tool_policy import GatewayToolPolicy
from stacks.cognito_stack import _output_suffix
from stacks.config import AppConfig

#: Agents see the tools as `lark___<tool>`.
TARGET_NAME = "lark"


class GatewayStack(Stack):
    """Gateway (CUSTOM_JWT: every app client, the invoke scope) + one MCP server target."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: AppConfig,
        auth: M2MAuth,
        runtime: McpServerRuntime,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        # `<rs>/read` exists only when a team has read access (README: Teams and Quick Suite).
        read_scope = READ_SCOPE_NAME if read_scope_needed(config.teams) else None
        self.auth = auth
        self.runtime = runtime
        self.gateway = McpGateway(
            self,
            "Gateway",
            gateway_name=config.gateway_name,
            authorizer=JwtAuthorizer.from_m2m_auth(
                auth, scopes=[config.scope, *([read_scope] if read_scope else [])]
            ),
            description="Lark/Feishu tools for AI agents",
        )
        self.target = self.gateway.add_mcp_server_target(
            "LarkTarget",
            runtime,
            target_name=TARGET_NAME,
            description="Lark MCP server on AgentCore Runtime",
        )
        # Deploys that prove themselves (README): refresh the gateway's tool list when the image
        # or target changes, then fail the deploy unless tools/list shows every expected tool.
        image = {"image": runtime.image_asset_hash}
        expected = expected_tool_names(config.lark_tools, read_only=bool(config.lark_read_only))
        self.tool_sync = GatewayToolSync(
            self,
            "ToolSync",
            gateway=self.gateway.resource,
            targets=[self.target.resource],
            # Also when larkTools/larkReadOnly change the served tools without a new image: the
            # tool policies are validated against the synced list and would name unknown tools.
            triggers=image | {"tools": fingerprint(self, expected)},
        )
        self.smoke_test = GatewaySmokeTest(
            self,
            "SmokeTest",
            gateway=self.gateway.resource,
            target=self.target.resource,
            user_pool=auth.user_pool,
            client=auth.default_client,
            token_url=auth.token_url,
            oauth_scope=auth.full_scope(config.scope),
            expected_tools=expected,
            after=self.tool_sync,
            triggers=image,
        )
        # Tool permissions at the gateway (README: Teams and Quick Suite): Cedar policies let the
        # invoke scope call every tool and the read scope only the read-only ones. They wait for
        # the tool sync (validated against the current tools); the smoke test waits for them.
        self.tool_policy = GatewayToolPolicy(
            self,
            "ToolPolicy",
            gateway=self.gateway.resource,
            gateway_role=self.gateway.role,
            invoke_scope=auth.full_scope(config.scope),
            read_scope=auth.full_scope(read_scope) if read_scope else None,
            mode=config.policy_mode,
        )
        policies = self.tool_policy.add_target(
            self.target.resource,
            target_name=TARGET_NAME,
            tools=select_tools(load_manifest(), expected),
            after=[self.tool_sync.resource],
        )
        self.smoke_test.resource.node.add_dependency(*policies)
        # Requests per minute per app client (docs/teams-and-quicksuite.md): context `rateLimit`
        # for every client, a team's own `rateLimit` for its client; output `RateLimits`.
        self.rate_limits = add_team_rate_limits(
            self,
            gateway_id=self.gateway.gateway_id,
            default_per_minute=config.rate_limit,
            team_clients={
                t.name: (auth.clients[t.name].user_pool_client_id, t.rate_limit)
                for t in config.teams
            },
        )

        # Everything the Quick Suite MCP integration form asks for, in one place.
        CfnOutput(self, "McpEndpointUrl", value=self.gateway.gateway_url)
        CfnOutput(self, "GatewayId", value=self.gateway.gateway_id)
        CfnOutput(self, "TargetName", value=TARGET_NAME)
        CfnOutput(self, "TokenUrl", value=auth.token_url)
        CfnOutput(self, "Scope", value=auth.full_scope(config.scope))
        for name, client in auth.clients.items():
            suffix = _output_suffix(name)
            CfnOutput(self, f"ClientId{suffix}", value=client.user_pool_client_id)
            CfnOutput(
                self,
                f"ClientSecretCommand{suffix}",
                value=auth.client_secret_command(client),
                description=f"Prints the secret of app client '{name}' (never stored in outputs)",
            )
