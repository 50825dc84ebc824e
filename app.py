"""The CDK app: Cognito -> Gateway -> Runtime for the Lark MCP server (README: Configuration)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Environment, Stack, Validations
from cdk_nag import AwsSolutionsChecks

from mcp_constructs.python_bundle import WheelhouseMissing
from mcp_constructs.references import record_references
from stacks.cognito_stack import CognitoStack
from stacks.config import AppConfig, ConfigError, load_config
from stacks.gateway_stack import GatewayStack
from stacks.operations import add_operations
from stacks.runtime_stack import RuntimeStack
from stacks.user_auth_config import UserAuthConfig, load_user_auth_config
from stacks.user_auth_stack import UserAuthStack
from stacks.user_gateway_stack import UserGatewayStack


def build_app(
    context: Mapping[str, Any] | None = None,
    outdir: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> App:
    """Create the app and its three stacks (tests call this with cdk.json's context)."""
    app = App(context=dict(context or {}), outdir=outdir)
    config = load_config(app.node.try_get_context, environ)
    user_auth = load_user_auth_config(app.node.try_get_context)
    _, runtime, gateway = add_stacks(app, config, user_auth)
    # Monitoring stack and extra MCP servers (context: monitoring, alarmEmail, extraServers).
    env = Environment(account=config.account, region=config.region)
    auth_stack = app.node.try_find_child(f"{config.stack_prefix}-UserAuth")  # with userAuth
    add_operations(app, config, runtime, gateway, env, user_auth_stack=auth_stack)
    # Every stack records the cross-stack values it resolved (`make deploy` finds stale ones).
    for stack in app.node.children:
        if isinstance(stack, Stack):
            record_references(stack)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def add_stacks(
    app: App, config: AppConfig, user_auth: UserAuthConfig | None = None
) -> tuple[CognitoStack, RuntimeStack, GatewayStack]:
    """Cognito -> [UserAuth] -> Runtime -> Gateway [-> UserGateway] (docs/user-auth.md)."""
    env = Environment(account=config.account, region=config.region)
    names = config.stack_names
    cognito = CognitoStack(app, names["Cognito"], config=config, env=env)
    auth_stack = None
    if user_auth is not None:
        auth_stack = UserAuthStack(
            app, f"{config.stack_prefix}-UserAuth", config=config, user_auth=user_auth, env=env
        )
    runtime = RuntimeStack(app, names["Runtime"], config=config, env=env)
    gateway = GatewayStack(
        app,
        names["Gateway"],
        config=config,
        auth=cognito.auth,
        runtime=runtime.runtime,
        env=env,
    )
    stacks: list = [cognito, runtime, gateway]
    if auth_stack is not None:
        auth_stack.connect_runtime(runtime.runtime)
        user_gateway = UserGatewayStack(
            app,
            f"{config.stack_prefix}-UserGateway",
            config=config,
            auth=auth_stack.auth,
            runtime=runtime.runtime,
            env=env,
        )
        stacks += [auth_stack, user_gateway]
    for stack in stacks:
        stack.tags.set_tag("project", "lark-agentcore-mcp")
    return cognito, runtime, gateway


def main() -> None:
    try:
        app = build_app()
    except ConfigError as err:
        sys.exit(f"Configuration error: {err}")
    except WheelhouseMissing as err:
        sys.exit(f"Missing Lambda packages: {err}")
    app.synth()


if __name__ == "__main__":
    main()
