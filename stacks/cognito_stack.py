"""Inbound auth: a Cognito pool issuing client-credentials tokens for the gateway."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from mcp_constructs import M2MAuth
from mcp_constructs.teams import READ_SCOPE_NAME, add_team_clients, read_scope_needed
from stacks.config import AppConfig


class CognitoStack(Stack):
    """User pool, domain, resource server with the invoke scope, one app client per team."""

    def __init__(self, scope: Construct, id: str, *, config: AppConfig, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        scopes = {config.scope: "Call the Lark tools of the MCP gateway"}
        if read_scope_needed(config.teams):
            scopes[READ_SCOPE_NAME] = "List and call only the read-only tools (read teams)"
        self.auth = M2MAuth(
            self,
            "Auth",
            resource_server_id=config.resource_server_id,
            scopes=scopes,
            domain_prefix=config.cognito_domain_prefix,
        )
        for name in config.extra_clients:
            self.auth.add_client(name)
        # One client per team from context `teams`, scoped to its access level.
        add_team_clients(self, self.auth, config.teams, invoke_scope_name=config.scope)

        CfnOutput(self, "UserPoolId", value=self.auth.user_pool.user_pool_id)
        CfnOutput(self, "TokenUrl", value=self.auth.token_url, description="OAuth token endpoint")
        CfnOutput(self, "DiscoveryUrl", value=self.auth.discovery_url)
        CfnOutput(self, "Scope", value=self.auth.full_scope(config.scope))
        for name, client in self.auth.clients.items():
            suffix = _output_suffix(name)
            CfnOutput(
                self,
                f"ClientId{suffix}",
                value=client.user_pool_client_id,
                description=f"App client '{name}'",
            )
            CfnOutput(
                self,
                f"ClientSecretCommand{suffix}",
                value=self.auth.client_secret_command(client),
                description=f"Prints the secret of app client '{name}'",
            )


def _output_suffix(name: str) -> str:
    """`default` -> ``, `team-a` -> `TeamA` (output ids allow letters and digits only)."""
    if name == "default":
        return ""
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))
