"""The Lark MCP server on AgentCore Runtime, and the secret holding the Lark app credentials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from mcp_constructs import McpServerRuntime
from mcp_constructs.adopted_secret import AdoptedSecret
from mcp_constructs.nag import acknowledge_resolved
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

        if config.lark_secret_name:
            self._grant_decrypt_with_the_secrets_key()

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

    def _grant_decrypt_with_the_secrets_key(self) -> None:
        """An existing secret may be encrypted with a customer-managed key the app cannot name.

        Reading it then needs ``kms:Decrypt`` on that key: granted on this account's keys, but
        only when Secrets Manager asks on the runtime's behalf (``kms:ViaService``) for this
        secret (its ARN is in the encryption context Secrets Manager sends). With the default
        ``aws/secretsmanager`` key the statement is unused.
        """
        keys = self.format_arn(service="kms", resource="key", resource_name="*")
        statement = iam.PolicyStatement(
            sid="DecryptTheLarkSecretWithItsKey",
            actions=["kms:Decrypt"],
            resources=[keys],
            conditions={
                "StringEquals": {
                    "kms:ViaService": f"secretsmanager.{self.region}.{self.url_suffix}"
                },
                "StringLike": {
                    "kms:EncryptionContext:SecretARN": f"{self.lark_secret.secret_arn}-??????"
                },
            },
        )
        self.runtime.role.add_to_principal_policy(statement)
        policy = self.runtime.role.node.try_find_child("DefaultPolicy")
        acknowledge_resolved(
            policy or self.runtime.role,
            "AwsSolutions-IAM5",
            "Resource",
            keys,
            "The existing Lark secret's customer-managed key is not known to the app; kms:Decrypt"
            " is limited to Secrets Manager decrypting this one secret (kms:ViaService and the"
            " SecretARN encryption context).",
        )
