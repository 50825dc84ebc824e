"""The gateway for signed-in people: our issuer's JWTs in, the same runtime behind it.

Beside the bot gateway (Cognito client credentials), a second AgentCore gateway accepts the
access tokens of our authorization server (CUSTOM_JWT on its discovery URL, any client: MCP
clients register themselves, so their ids cannot be listed; the tokens' audience decides).
Its REQUEST interceptor (:mod:`mcp_constructs.interceptor.caller_jwt`) copies the caller's JWT
into ``X-Amzn-Bedrock-AgentCore-Runtime-Custom-Caller-Jwt``; the target lets exactly that
header through to the runtime (``MetadataConfiguration.AllowedRequestHeaders``), whose own
allowlist (``RequestHeaderConfiguration``) the stack sets on the runtime. The MCP server
verifies the JWT and acts as that person.

Tool permissions reuse :mod:`mcp_constructs.tool_policy`'s policy engine: every tool is allowed
to a token whose ``aud`` is this gateway's MCP URL (the scope claim of our tokens may be empty,
and the client may be any registered one, so the condition is on the audience). The gateway's
own authorizer cannot name its URL (it is made with the gateway), so the policies are where
the gateway binds tokens to itself; the MCP server checks ``aud`` again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import Duration, Token
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from mcp_constructs.gateway import InvokableRuntime, JwtAuthorizer, McpGateway
from mcp_constructs.interceptor.caller_jwt import CALLER_JWT_HEADER
from mcp_constructs.manifest import Tool
from mcp_constructs.python_bundle import PYTHON_RUNTIME
from mcp_constructs.tool_policy import GatewayToolPolicy, action_name, permit_when

INTERCEPTOR_DIR = Path(__file__).resolve().parent / "interceptor"
_AUDIENCE = re.compile(r"^https://[^\s\"\\*]+$")


class CallerJwtInterceptor(Construct):
    """The REQUEST interceptor Lambda (plain Python, no packages), with its own log group."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        super().__init__(scope, id)
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="User gateway REQUEST interceptor: writes its own logs only",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description="Copies the caller's JWT into the header the Lark MCP server reads",
            runtime=PYTHON_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="caller_jwt.handler",
            code=lambda_.Code.from_asset(str(INTERCEPTOR_DIR), exclude=["__pycache__", "*.pyc"]),
            role=self.role,
            timeout=Duration.seconds(5),
            memory_size=128,
            log_group=self.log_group,
        )


def user_permit(*, gateway_arn: str, actions: Sequence[str], audience: str) -> str:
    """``permit`` tokens for ``audience`` (their ``aud`` claim, exactly) to run ``actions``."""
    if not actions or not audience:
        raise ValueError("a permit needs at least one action and an audience")
    if not Token.is_unresolved(audience) and not _AUDIENCE.match(audience):
        raise ValueError(f"audience {audience!r} must be an https URL without quotes or spaces")
    return permit_when(
        gateway_arn=gateway_arn,
        actions=actions,
        condition=f'principal.hasTag("aud") && principal.getTag("aud") == "{audience}"',
    )


class UserToolPolicy(GatewayToolPolicy):
    """The policy engine of :class:`GatewayToolPolicy`, with one permit per target for tokens
    bound to this gateway (``aud`` = ``audience``) instead of the scope-based ones."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        gateway: agentcore.CfnGateway,
        gateway_role: iam.IRole,
        audience: str,
        mode: str = "ENFORCE",
    ) -> None:
        super().__init__(
            scope,
            id,
            gateway=gateway,
            gateway_role=gateway_role,
            invoke_scope="",
            read_scope=None,
            mode=mode,
        )
        self.audience = audience

    def statements(self, target_name: str, tools: Sequence[Tool]) -> dict[str, tuple[str, str]]:
        """One ``user`` policy (id ``<Target>UserPolicy``): every tool to tokens for this
        gateway, whichever client holds them."""
        statement = user_permit(
            gateway_arn=self.gateway.attr_gateway_arn,
            actions=[action_name(target_name, t.name) for t in tools],
            audience=self.audience,
        )
        description = (
            f"Signed-in people (tokens whose aud is this gateway) may list and call every tool "
            f"of {target_name}"
        )
        return {"user": (statement, description)}


class UserGateway(Construct):
    """Gateway (CUSTOM_JWT on our issuer) + caller-JWT interceptor + one target to `runtime`.

    Args:
        gateway_name: gateway name (see McpGateway).
        discovery_url: our issuer's ``/.well-known/openid-configuration``.
        runtime: the MCP server runtime (the same one the bot gateway calls). Its request
            header allowlist must name the caller-JWT header (the stack does that).
        target_name: agents see tools as ``<target_name>___<tool>``. Default ``lark``.
        description: gateway description.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        gateway_name: str,
        discovery_url: str,
        runtime: InvokableRuntime,
        target_name: str = "lark",
        description: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.interceptor = CallerJwtInterceptor(self, "Interceptor")
        self.gateway = McpGateway(
            self,
            "Gateway",
            gateway_name=gateway_name,
            authorizer=JwtAuthorizer(
                discovery_url=discovery_url,
                allowed_clients=(),
                allowed_scopes=(),
                any_scope=True,
                any_client=True,
            ),
            description=description,
        )
        self.gateway.add_request_interceptor(self.interceptor.function, pass_request_headers=True)
        self.target = self.gateway.add_mcp_server_target(
            "LarkTarget",
            runtime,
            target_name=target_name,
            description="Lark MCP server on AgentCore Runtime, acting as the signed-in person",
            allowed_request_headers=[CALLER_JWT_HEADER],
        )
        self.target_name = target_name
