"""An MCP server container on Amazon Bedrock AgentCore Runtime, built from a local directory.

The image is a CDK asset (built and pushed by `cdk deploy`, only staged by `cdk synth`, so
synth needs no Docker). Its hash, and so the runtime's ContainerUri, moves only when what goes
into the image moves: the build context is `directory` narrowed by its `.dockerignore` (Docker
ignore rules, `!` re-includes: an allowlist works) plus the usual local clutter excluded. The
runtime speaks MCP over the public AgentCore endpoint with no inbound authorizer of its own:
callers are authorized by IAM (SigV4), which is how a gateway reaches it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import ArnFormat, IgnoreMode, Stack, Token
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from mcp_constructs.nag import acknowledge_resolved
from mcp_constructs.service_role import agentcore_service_role

#: Never part of an image: local environments, build output, VCS data, caches, tests.
DEFAULT_IMAGE_EXCLUDES: tuple[str, ...] = (
    ".venv",
    "**/.venv",
    "node_modules",
    "**/node_modules",
    "cdk.out",
    "**/cdk.out",
    ".git",
    "**/.git",
    "__pycache__",
    "**/__pycache__",
    "**/*.pyc",
    ".pytest_cache",
    "**/.pytest_cache",
    ".ruff_cache",
    "**/.ruff_cache",
    "tests",
    "**/tests",
)

_RUNTIME_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,47}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class McpServerRuntime(Construct):
    """An AgentCore Runtime (protocol MCP, network PUBLIC) running an image built from `directory`.

    Args:
        directory: build context holding a `Dockerfile` (and usually a `.dockerignore`, applied
            with Docker's rules); only this directory is sent to Docker.
        runtime_name: AgentCore runtime name (`[a-zA-Z][a-zA-Z0-9_]{0,47}`); renaming replaces
            the runtime.
        environment: environment variables for the server. Default none. Never put a secret
            value here: pass `secret` and let the server read it.
        secret: a Secrets Manager secret the server may read (GetSecretValue on it alone);
            its ARN is passed as `secret_env_var`. Default none.
        secret_env_var: environment variable carrying the secret's ARN. Default `SECRET_ARN`.
        image_excludes: paths kept out of the build context, on top of the directory's own
            `.dockerignore`. Default DEFAULT_IMAGE_EXCLUDES.
        platform: image platform. Default linux/arm64, the architecture AgentCore runs.
        description: runtime description. Default none.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        directory: str,
        runtime_name: str,
        environment: Mapping[str, str] | None = None,
        secret: secretsmanager.ISecret | None = None,
        secret_env_var: str = "SECRET_ARN",
        image_excludes: Sequence[str] = DEFAULT_IMAGE_EXCLUDES,
        platform: ecr_assets.Platform | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        environment = dict(environment or {})
        if not Token.is_unresolved(runtime_name) and not _RUNTIME_NAME.match(runtime_name):
            raise ValueError(
                f"{self.node.path}: runtime name {runtime_name!r} must be a letter followed by "
                "up to 47 letters, digits or underscores (AgentCore allows no hyphens)"
            )
        if not (Path(directory) / "Dockerfile").is_file():
            raise ValueError(
                f"{self.node.path}: no Dockerfile in {directory}; the image is built from that "
                "directory alone, so it needs its own Dockerfile"
            )
        bad_env = [name for name in environment if not _ENV_NAME.match(name)]
        if bad_env:
            raise ValueError(f"{self.node.path}: invalid environment variable names {bad_env}")
        if secret is not None:
            if secret_env_var in environment:
                raise ValueError(
                    f"{self.node.path}: environment already sets {secret_env_var}; "
                    "pass the secret through `secret` only"
                )
            environment[secret_env_var] = secret.secret_arn

        stack = Stack.of(self)
        self.runtime_name = runtime_name
        self.secret = secret

        self.image = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=directory,
            platform=platform or ecr_assets.Platform.LINUX_ARM64,
            exclude=list(image_excludes),
            ignore_mode=IgnoreMode.DOCKER,
        )

        self.role = agentcore_service_role(
            self,
            "ExecutionRole",
            source_arn=stack.format_arn(service="bedrock-agentcore", resource="*"),
            description=f"Execution role of the AgentCore runtime {runtime_name}",
        )
        self._grant_execution_permissions(stack)
        if secret is not None:
            secret.grant_read(self.role)

        self.resource = agentcore.CfnRuntime(
            self,
            "Resource",
            agent_runtime_name=runtime_name,
            description=description,
            role_arn=self.role.role_arn,
            agent_runtime_artifact=agentcore.CfnRuntime.AgentRuntimeArtifactProperty(
                container_configuration=agentcore.CfnRuntime.ContainerConfigurationProperty(
                    container_uri=self.image.image_uri
                )
            ),
            network_configuration=agentcore.CfnRuntime.NetworkConfigurationProperty(
                network_mode="PUBLIC"
            ),
            protocol_configuration="MCP",
            environment_variables=environment or None,
        )
        # The service checks the role can pull the image when the runtime is created, so the
        # role's policy must exist first (the role itself already is, through RoleArn).
        self.resource.node.add_dependency(self.role.node.find_child("DefaultPolicy"))

        self.runtime_arn: str = self.resource.attr_agent_runtime_arn
        self.runtime_id: str = self.resource.attr_agent_runtime_id
        self.runtime_version: str = self.resource.attr_agent_runtime_version

    def add_environment(self, name: str, value: str) -> None:
        """Set one more environment variable of the server (never a secret value)."""
        if not _ENV_NAME.match(name):
            raise ValueError(f"{self.node.path}: invalid environment variable name {name!r}")
        current = dict(self.resource.environment_variables or {})
        if name in current:
            raise ValueError(f"{self.node.path}: environment variable {name} is already set")
        self.resource.environment_variables = {**current, name: value}

    def allow_request_headers(self, *names: str) -> None:
        """Let these request headers reach the server (the runtime passes no others); at most
        20, each `X-Amzn-Bedrock-AgentCore-Runtime-Custom-*` or another non-reserved name."""
        config = self.resource.request_header_configuration
        current = list(config.request_header_allowlist or []) if config else []
        merged = current + [name for name in names if name not in current]
        if len(merged) > 20:
            raise ValueError(f"{self.node.path}: a runtime passes at most 20 request headers")
        self.resource.request_header_configuration = (
            agentcore.CfnRuntime.RequestHeaderConfigurationProperty(request_header_allowlist=merged)
        )

    @property
    def image_asset_hash(self) -> str:
        """Changes exactly when the image content changes (use it to trigger re-checks)."""
        return self.image.asset_hash

    @property
    def log_group_prefix(self) -> str:
        """Log groups are `/aws/bedrock-agentcore/runtimes/<runtime id>-<endpoint>`."""
        return f"/aws/bedrock-agentcore/runtimes/{self.runtime_name}-"

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow `grantee` to call this runtime (any endpoint) with InvokeAgentRuntime."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["bedrock-agentcore:InvokeAgentRuntime"],
            resource_arns=[self.runtime_arn, f"{self.runtime_arn}/runtime-endpoint/*"],
        )

    def _grant_execution_permissions(self, stack: Stack) -> None:
        """What an AgentCore runtime needs, scoped as narrowly as the services allow.

        Each wildcard left is acknowledged for cdk-nag (IAM5) with the reason it is needed.
        """
        self.image.repository.grant_pull(self.role)
        log_group = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{self.log_group_prefix}*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        all_log_groups = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        directory = stack.format_arn(
            service="bedrock-agentcore",
            resource="workload-identity-directory",
            resource_name="default",
        )
        self._allow(
            "OwnLogGroup",
            ["logs:CreateLogGroup", "logs:DescribeLogStreams"],
            {
                log_group: "The runtime's log groups are named <runtime id>-<endpoint>; the id is "
                "assigned at creation, so they are matched by this runtime's name prefix."
            },
        )
        self._allow(
            "OwnLogStreams",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            {
                f"{log_group}:log-stream:*": "Log streams are created per session inside this "
                "runtime's own log groups."
            },
        )
        self._allow(
            "DescribeLogGroups",
            ["logs:DescribeLogGroups"],
            {
                all_log_groups: "logs:DescribeLogGroups is only authorized on all log groups of "
                "the account and region."
            },
        )
        self._allow(
            "XRayTraces",
            [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
            ],
            {"*": _NO_RESOURCE_SCOPE},
        )
        self._allow(
            "AgentCoreMetrics",
            ["cloudwatch:PutMetricData"],
            {"*": _NO_RESOURCE_SCOPE},
            conditions={"StringEquals": {"cloudwatch:namespace": "bedrock-agentcore"}},
        )
        self._allow(
            "WorkloadAccessToken",
            [
                "bedrock-agentcore:GetWorkloadAccessToken",
                "bedrock-agentcore:GetWorkloadAccessTokenForJWT",
                "bedrock-agentcore:GetWorkloadAccessTokenForUserId",
            ],
            {
                directory: "",
                f"{directory}/workload-identity/*": "The service creates the runtime's "
                "workload identity, with a generated name, in the default directory.",
            },
        )

    def _allow(
        self,
        sid: str,
        actions: list[str],
        resources: Mapping[str, str],
        conditions: Mapping[str, object] | None = None,
    ) -> None:
        """Add a statement; `resources` maps each ARN to why its wildcard is needed (or "")."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid=sid, actions=actions, resources=list(resources), conditions=conditions
            )
        )
        policy = self.role.node.find_child("DefaultPolicy").node.default_child
        for arn, reason in resources.items():
            if reason:
                acknowledge_resolved(policy, "AwsSolutions-IAM5", "Resource", arn, reason)


_NO_RESOURCE_SCOPE = (
    "X-Ray calls, ecr:GetAuthorizationToken and cloudwatch:PutMetricData support no resource "
    "scope; metrics are further limited to the bedrock-agentcore namespace."
)
