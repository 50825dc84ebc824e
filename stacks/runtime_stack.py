"""The Lark MCP server on AgentCore Runtime, and the secret holding the Lark app credentials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from mcp_constructs import McpServerRuntime
from mcp_constructs.adopted_secret import AdoptedSecret
from stacks.config import AppConfig

#: The server image's build context: the repository root, with the root `Dockerfile`. The root
#: `.dockerignore` narrows it to an allowlist (lark_mcp_server/ ...), which the CDK asset applies
#: too, so the image hash moves only with the image's own files.
BUILD_DIR = Path(__file__).resolve().parent.parent


class RuntimeStack(Stack):
    """Secret (existing or a new empty one) + the server image + the AgentCore runtime."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: AppConfig,
        build_dir: Path = BUILD_DIR,
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
            # Adopted if it exists (a redeploy after `make destroy`, which keeps it), else
            # created with a placeholder: never a credential in the template. The operator fills
            # it once (see the FillLarkSecretCommand output).
            self.adopted_secret = AdoptedSecret(
                self,
                "LarkAppSecret",
                secret_name=secret_name,
                description="Lark/Feishu app credentials for the Lark MCP server: "
                '{"app_id": "...", "app_secret": "..."}',
            )
            self.lark_secret = self.adopted_secret.secret

        environment = config.runtime_environment()
        self.runtime = McpServerRuntime(
            self,
            "Server",
            directory=str(build_dir),
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
