"""The Lark MCP server on AgentCore Runtime, and the secret holding the Lark app credentials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from mcp_constructs import McpServerRuntime
from mcp_constructs.nag import acknowledge
from stacks.config import AppConfig

#: The server's build context: the image is built from this directory alone.
SERVER_DIR = Path(__file__).resolve().parent.parent / "lark_mcp_server"
_PLACEHOLDER = '{"app_id": "", "app_secret": ""}'


class RuntimeStack(Stack):
    """Secret (existing or a new empty one) + the server image + the AgentCore runtime."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: AppConfig,
        server_dir: Path = SERVER_DIR,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        if config.lark_secret_name:
            self.lark_secret = secretsmanager.Secret.from_secret_name_v2(
                self, "LarkSecret", config.lark_secret_name
            )
            secret_name = config.lark_secret_name
        else:
            secret_name = config.default_secret_name
            # Created empty: the template carries a placeholder, never a credential. The
            # operator fills it once (see the FillLarkSecretCommand output).
            self.lark_secret = secretsmanager.Secret(
                self,
                "LarkSecret",
                secret_name=secret_name,
                description="Lark/Feishu app credentials for the Lark MCP server: "
                '{"app_id": "...", "app_secret": "..."}',
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    secret_string_template=_PLACEHOLDER,
                    generate_string_key="placeholder",
                    password_length=16,
                    exclude_punctuation=True,
                ),
                removal_policy=RemovalPolicy.RETAIN,
            )
            acknowledge(
                self.lark_secret,
                "AwsSolutions-SMG4",
                "The Lark app secret is issued and rotated in the Lark developer "
                "console; AWS cannot rotate it. Rotate there, then put the new value here.",
            )

        environment = config.runtime_environment()
        self.runtime = McpServerRuntime(
            self,
            "Server",
            directory=str(server_dir),
            runtime_name=config.runtime_name,
            environment=environment,
            secret=self.lark_secret,
            secret_env_var="LARK_SECRET_ARN",
            description="Lark/Feishu tools over MCP",
        )

        CfnOutput(self, "RuntimeArn", value=self.runtime.runtime_arn)
        CfnOutput(self, "LarkSecretName", value=secret_name)
        CfnOutput(
            self,
            "FillLarkSecretCommand",
            description="Stores the Lark app credentials (write lark-app.json first, then "
            "delete it)",
            value=(
                f"aws secretsmanager put-secret-value --secret-id {secret_name} "
                f"--region {self.region} --secret-string file://lark-app.json  "
                '# lark-app.json: {"app_id": "cli_...", "app_secret": "..."}'
            ),
        )
