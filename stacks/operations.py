"""What the app adds for operations: extra MCP servers and the Monitoring stack (from context).

`add_extra_server` is the "second MCP server in a few lines": a runtime built from the server's
own Dockerfile directory in the Runtime stack, a gateway target for it in the Gateway stack
(which grants the gateway role InvokeAgentRuntime on it), the gateway's tool policies for its
tools (with the policy engine enforcing, a target without policies is invisible), and the same
deploy checks the Lark target has: a tool sync on image changes and a smoke test expecting the
server's tools.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import App, Environment

from mcp_constructs import McpServerRuntime, McpServerTarget
from mcp_constructs.deploy_checks import GatewaySmokeTest, GatewayToolSync
from mcp_constructs.manifest import Tool
from mcp_constructs.monitoring import MonitoredServer, MonitoredSignIn, pascal
from stacks.config import AppConfig
from stacks.gateway_stack import TARGET_NAME, GatewayStack
from stacks.monitoring_stack import MonitoringStack
from stacks.ops_config import ExtraServer, OpsConfigError, load_ops_config
from stacks.runtime_stack import RuntimeStack
from stacks.user_auth_stack import UserAuthStack


@dataclass(frozen=True)
class ExtraServerParts:
    """What `add_extra_server` built, for callers and tests."""

    server: ExtraServer
    runtime: McpServerRuntime
    target: McpServerTarget
    tool_sync: GatewayToolSync
    smoke_test: GatewaySmokeTest


@dataclass(frozen=True)
class Operations:
    extra_servers: tuple[ExtraServerParts, ...]
    monitoring: MonitoringStack | None


def add_operations(
    app: App,
    config: AppConfig,
    runtime_stack: RuntimeStack,
    gateway_stack: GatewayStack,
    env: Environment | None = None,
    user_auth_stack: UserAuthStack | None = None,
) -> Operations:
    """Read `extraServers`, `monitoring` and `alarmEmail` from context and add what they ask."""
    ops = load_ops_config(app.node.try_get_context)
    extras = tuple(
        add_extra_server(runtime_stack, gateway_stack, server, config)
        for server in ops.extra_servers
    )
    monitoring = None
    if ops.monitoring:
        servers = [
            MonitoredServer(TARGET_NAME, runtime_stack.runtime.resource, tool_logs=True),
            *(
                MonitoredServer(e.server.name, e.runtime.resource, tool_logs=e.server.tool_logs)
                for e in extras
            ),
        ]
        sign_in = None
        if user_auth_stack is not None:
            auth = user_auth_stack.auth
            sign_in = MonitoredSignIn(
                log_group=auth.log_group,
                function=auth.function,
                api=auth.api,
                access_log_group=auth.access_logs,
                server=TARGET_NAME,  # the user gateway's target is the Lark server's runtime
            )
        monitoring = MonitoringStack(
            app,
            f"{config.stack_prefix}-Monitoring",
            gateway=gateway_stack.gateway.resource,
            servers=servers,
            alarm_email=ops.alarm_email,
            sign_in=sign_in,
            env=env,
            description="Dashboard and alarms for the MCP gateway, runtimes and tool calls",
        )
        # After the Gateway stack's smoke test has called the runtime, so AgentCore has usually
        # created the runtime log group the metric filters attach to (LogRetention covers the
        # rest).
        monitoring.add_stack_dependency(gateway_stack)
        if user_auth_stack is not None:
            monitoring.add_stack_dependency(user_auth_stack)
        monitoring.tags.set_tag("project", "lark-agentcore-mcp")
    return Operations(extra_servers=extras, monitoring=monitoring)


def add_extra_server(
    runtime_stack: RuntimeStack,
    gateway_stack: GatewayStack,
    server: ExtraServer,
    config: AppConfig,
) -> ExtraServerParts:
    """One more containerised MCP server behind the same gateway (see the module docstring)."""
    if server.name == TARGET_NAME:
        raise OpsConfigError(
            f"context 'extraServers': the name {server.name!r} is the Lark server's target; "
            "pick another name"
        )
    construct_name = pascal(server.name)
    runtime = McpServerRuntime(
        runtime_stack,
        f"{construct_name}Server",
        directory=str(server.directory),
        runtime_name=extra_runtime_name(config, server),
        environment=server.environment,
        description=f"MCP server '{server.name}' (extraServers)",
    )
    target = gateway_stack.gateway.add_mcp_server_target(
        f"{construct_name}Target",
        runtime,
        target_name=server.name,
        description=f"MCP server '{server.name}' on AgentCore Runtime",
    )
    image = {"image": runtime.image_asset_hash}
    tool_sync = GatewayToolSync(
        gateway_stack,
        f"{construct_name}ToolSync",
        gateway=gateway_stack.gateway.resource,
        targets=[target.resource],
        triggers=image,
    )
    auth = gateway_stack.auth
    smoke_test = GatewaySmokeTest(
        gateway_stack,
        f"{construct_name}SmokeTest",
        gateway=gateway_stack.gateway.resource,
        target=target.resource,
        user_pool=auth.user_pool,
        client=auth.default_client,
        oauth_scope=auth.full_scope(config.scope),
        token_url=auth.token_url,
        expected_tools=list(server.tools),
        after=tool_sync,
        triggers=image,
    )
    for dependable in target.dependables:
        smoke_test.node.add_dependency(dependable)
    # The gateway's policy engine refuses tools no policy names: the invoke scope may call this
    # server's tools; read-only teams only those listed in `readOnlyTools` (default none).
    policies = gateway_stack.tool_policy.add_target(
        target.resource,
        target_name=server.name,
        tools=[Tool(name, read_only=name in server.read_only_tools) for name in server.tools],
        after=[tool_sync.resource],
    )
    smoke_test.resource.node.add_dependency(*policies)
    return ExtraServerParts(server, runtime, target, tool_sync, smoke_test)


def extra_runtime_name(config: AppConfig, server: ExtraServer) -> str:
    """`<stack prefix>_<server>` in the characters AgentCore allows, at most 48 of them."""
    name = f"{re.sub(r'[^A-Za-z0-9]', '_', config.stack_prefix)}_{server.runtime_suffix}"
    if len(name) > 48:
        raise OpsConfigError(
            f"context 'extraServers': runtime name {name!r} is longer than AgentCore's 48 "
            "characters; use a shorter server name or stackPrefix"
        )
    return name
