"""Deploys that prove themselves: tool sync and smoke test as CloudFormation custom resources.

- `GatewayToolSync` makes the gateway fetch its targets' tool lists again (and waits for READY)
  whenever the image, a target or the expected tools change, so it never serves a stale list.
- `GatewaySmokeTest` then gets a ``client_credentials`` token and calls ``tools/list`` through
  the gateway, failing the deploy with a one-line reason unless every expected tool is listed.

Both rerun exactly when their ``Triggers`` property changes (hashes, never a timestamp), so
``cdk diff`` stays quiet when nothing changed. Their Lambda code (``runtime/``) is plain Python
with no third-party packages: synth needs no Docker bundling. The asset also carries the
botocore models of the services they call, found through ``AWS_DATA_PATH``
(``botocore_models.py``), so they work whatever boto3 the Lambda runtime ships.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aws_cdk import (
    Acknowledgment,
    CfnResource,
    CustomResource,
    Duration,
    Fn,
    Stack,
    Validations,
)
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from .botocore_models import LAMBDA_DATA_PATH, staged_asset
from .runtime.mcp_smoke import DEFAULT_PROTOCOL_VERSION

# Newest Python Lambda runtime aws-cdk-lib knows (cdk-nag AwsSolutions-L1 asks for the newest).
PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_14
DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_MONTH
# CloudFormation gives a custom resource one hour; keep the whole wait inside it.
MAX_TOTAL_SECONDS = 55 * 60
NAG = "AwsSolutions::AwsSolutions"  # cdk-nag 3 rule ids, as Validations.acknowledge takes them


def fingerprint(scope: Construct, value: Any) -> str:
    """A short stable hash of ``value`` as it will appear in the template.

    Tokens are resolved first (to ``Ref`` / ``Fn::GetAtt`` of logical ids), so the hash is the
    same in every synth of the same code and moves only when the value itself moves.
    """
    resolved = Stack.of(scope).resolve(value)
    canonical = json.dumps(resolved, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _endpoint(target: agentcore.CfnGatewayTarget) -> str | None:
    """An MCP server target's endpoint URL as the template will hold it, if it has one."""
    config = target.target_configuration
    mcp = getattr(config, "mcp", None)
    server = getattr(mcp, "mcp_server", None)
    endpoint = getattr(server, "endpoint", None)
    return endpoint if isinstance(endpoint, str) else None


def _handler_code() -> lambda_.Code:
    # The handler modules plus the pinned botocore's models, staged in a temporary directory:
    # only content is hashed, so the asset hash is reproducible across checkouts.
    return lambda_.Code.from_asset(str(staged_asset()))


class _CheckProvider(Construct):
    """Role, log group, on_event + is_complete functions and a Provider, for one handler module.

    ``permissions``: what the handlers call besides their logs (added to the role last).
    ``code``: the handlers' asset. Default: ``runtime/`` with the shipped botocore models.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        module: str,
        description: str,
        query_interval: Duration,
        max_wait: Duration,
        function_timeout: Duration,
        log_retention: logs.RetentionDays,
        permissions: iam.PolicyStatement | None,
        code: lambda_.Code | None = None,
    ) -> None:
        super().__init__(scope, id)
        total = max_wait.plus(query_interval).plus(query_interval).plus(function_timeout)
        if total.to_seconds() > MAX_TOTAL_SECONDS:
            raise ValueError(
                f"max_wait of {max_wait.to_human_string()} is too long: CloudFormation waits at"
                f" most an hour for a custom resource (keep max_wait under 50 minutes)"
            )
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description}: its own log group plus the calls added by the construct",
        )
        self.log_group.grant_write(self.role)
        # During a rollback the handlers log a failing check instead of failing the rollback.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudformation:DescribeStacks"], resources=[Stack.of(self).stack_id]
            )
        )
        code = code or _handler_code()
        functions = {}
        for step in ("on_event", "is_complete"):
            functions[step] = lambda_.Function(
                self,
                "OnEvent" if step == "on_event" else "IsComplete",
                runtime=PYTHON_RUNTIME,
                architecture=lambda_.Architecture.ARM_64,
                handler=f"{module}.{step}",
                code=code,
                role=self.role,
                timeout=function_timeout,
                memory_size=256,
                log_group=self.log_group,
                description=f"{description} ({step})",
                # botocore reads these models before its own: the runtime's boto3 may lag.
                environment={"AWS_DATA_PATH": LAMBDA_DATA_PATH},
            )
        # The Provider polls is_complete until it answers IsComplete; our handlers give up with
        # their own message at max_wait, before the framework's bare "Operation timed out".
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=functions["on_event"],
            is_complete_handler=functions["is_complete"],
            query_interval=query_interval,
            total_timeout=total,
            log_group=self.log_group,
        )
        # Acknowledged on the Provider only (cdk-nag 3 reads acknowledgements up the tree), so
        # our own functions and roles stay fully checked.
        Validations.of(self.provider).acknowledge(
            Acknowledgment(
                id=f"{NAG}-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]",
                reason="CDK Provider framework functions (aws-cdk-lib's own code) use "
                "AWSLambdaBasicExecutionRole: writing their logs only.",
            ),
            *[
                Acknowledgment(
                    id=f"{NAG}-IAM5[Resource::<{Stack.of(self).get_logical_id(fn)}.Arn>:*]",
                    reason="CDK Provider framework invokes this one function, any version "
                    "(<arn>:*); nothing else is wildcarded.",
                )
                for fn in self._invoked_functions(functions.values())
            ],
            Acknowledgment(
                id=f"{NAG}-SF1",
                reason="Provider waiter state machine only re-invokes is_complete during a deploy;"
                " every poll is logged by our handlers in this construct's log group. Turning its"
                " logging on would add log-delivery permissions on '*'.",
            ),
            Acknowledgment(
                id=f"{NAG}-SF2",
                reason="Provider waiter state machine: aws-cdk-lib offers no X-Ray option; it "
                "only polls one function during deploys.",
            ),
        )
        if permissions is not None:
            self.role.add_to_policy(permissions)

    def _invoked_functions(self, handlers: Iterable[lambda_.Function]) -> list[CfnResource]:
        """Functions the Provider's roles may invoke as ``<arn>:*``: ours and its own two."""
        framework = [
            self.provider.node.find_child(f"framework-{step}")
            for step in ("isComplete", "onTimeout")
        ]
        return [fn.node.default_child for fn in [*handlers, *framework]]


class GatewayToolSync(Construct):
    """Runs ``SynchronizeGatewayTargets`` for the given targets and waits until they are READY.

    :param gateway: the gateway whose targets to synchronise.
    :param targets: its MCP targets (one synchronisation each; the API takes one id per call).
    :param triggers: extra hashes that must rerun the sync when they change, e.g.
        ``{"image": image_asset.asset_hash}``. The targets' configuration hash is added here.
    :param max_wait: how long a target may take to be READY again. Default: 10 minutes.
    :param query_interval: how often to poll the target status. Default: 15 seconds.
    :param log_retention: retention of the handlers' log group. Default: one month.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        gateway: agentcore.CfnGateway,
        targets: Sequence[agentcore.CfnGatewayTarget],
        triggers: Mapping[str, str] | None = None,
        max_wait: Duration | None = None,
        query_interval: Duration | None = None,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
    ) -> None:
        super().__init__(scope, id)
        if not targets:
            raise ValueError("GatewayToolSync needs at least one gateway target to synchronise")
        max_wait = max_wait or Duration.minutes(10)
        self.triggers: dict[str, str] = {
            "targets": fingerprint(
                self,
                [
                    [t.name, t.target_configuration, t.credential_provider_configurations]
                    for t in targets
                ],
            ),
            **(triggers or {}),
        }
        endpoints = [e for e in (_endpoint(t) for t in targets) if e is not None]
        if endpoints:
            # The endpoints themselves, not a hash: they hold the runtime ARN another stack
            # owns, which CloudFormation resolves at each update. A recreated runtime then
            # changes this property, and the sync (and the smoke test after it) runs again.
            self.triggers["endpoints"] = Fn.join(" ", endpoints)
        checks = _CheckProvider(
            self,
            "Handler",
            module="tool_sync",
            description="Synchronises the AgentCore gateway targets' tool lists",
            query_interval=query_interval or Duration.seconds(15),
            max_wait=max_wait,
            function_timeout=Duration.minutes(1),
            log_retention=log_retention,
            permissions=iam.PolicyStatement(
                actions=[
                    "bedrock-agentcore:SynchronizeGatewayTargets",
                    "bedrock-agentcore:GetGatewayTarget",
                ],
                resources=[gateway.attr_gateway_arn],
            ),
        )
        self.log_group = checks.log_group
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=checks.provider.service_token,
            resource_type="Custom::GatewayToolSync",
            properties={
                "GatewayIdentifier": gateway.attr_gateway_identifier,
                "TargetIds": [t.attr_target_id for t in targets],
                "MaxWaitSeconds": max_wait.to_seconds(),
                "Triggers": self.triggers,
            },
        )
        for target in targets:
            self.resource.node.add_dependency(target)


class GatewaySmokeTest(Construct):
    """Fails the deploy unless ``tools/list`` through the gateway lists every expected tool.

    :param gateway: the gateway to call (its MCP URL).
    :param target: the target whose tools are expected (names are ``<target name>___<tool>``).
    :param user_pool: the pool of ``client``; the handler may read only this pool's clients.
    :param client: a confidential app client with the ``client_credentials`` flow and
        ``oauth_scope``; its secret is read at run time (DescribeUserPoolClient), never templated.
    :param oauth_scope: the full OAuth scope to ask for, e.g. ``lark-mcp/invoke``.
    :param token_url: the pool domain's token endpoint (``https://<domain>/oauth2/token``).
    :param expected_tools: bare tool names (from ``lark_mcp_server/tools_manifest.json``).
    :param after: the tool sync to wait for (the smoke test depends on it).
    :param triggers: extra hashes that must rerun the test, e.g. the image asset hash. The
        expected tools' hash and the tool sync's triggers are added here.
    :param protocol_version: the ``MCP-Protocol-Version`` header; one the gateway supports.
        Default: ``2025-03-26``.
    :param max_wait: how long to keep retrying failures that time may fix (DNS of a new Cognito
        domain, 5xx, a tool list still refreshing). Default: 10 minutes.
    :param query_interval: time between attempts. Default: 30 seconds.
    :param log_retention: retention of the handlers' log group. Default: one month.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        gateway: agentcore.CfnGateway,
        target: agentcore.CfnGatewayTarget,
        user_pool: cognito.IUserPool,
        client: cognito.IUserPoolClient,
        oauth_scope: str,
        token_url: str,
        expected_tools: Sequence[str],
        after: GatewayToolSync | None = None,
        triggers: Mapping[str, str] | None = None,
        protocol_version: str = DEFAULT_PROTOCOL_VERSION,
        max_wait: Duration | None = None,
        query_interval: Duration | None = None,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
    ) -> None:
        super().__init__(scope, id)
        if not expected_tools:
            raise ValueError("GatewaySmokeTest needs the expected tool names (expected_tools)")
        max_wait = max_wait or Duration.minutes(10)
        self.triggers: dict[str, str] = {
            **(after.triggers if after is not None else {}),  # rerun whenever the sync reruns
            "expected_tools": fingerprint(self, sorted(expected_tools)),
            **(triggers or {}),
        }
        checks = _CheckProvider(
            self,
            "Handler",
            module="smoke_handler",
            description="Smoke-tests the AgentCore gateway: token, tools/list, expected tools",
            query_interval=query_interval or Duration.seconds(30),
            max_wait=max_wait,
            function_timeout=Duration.seconds(90),
            log_retention=log_retention,
            permissions=iam.PolicyStatement(
                actions=["cognito-idp:DescribeUserPoolClient"],
                resources=[user_pool.user_pool_arn],
            ),
        )
        self.log_group = checks.log_group
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=checks.provider.service_token,
            resource_type="Custom::GatewaySmokeTest",
            properties={
                "GatewayUrl": gateway.attr_gateway_url,
                "TokenUrl": token_url,
                "UserPoolId": user_pool.user_pool_id,
                "ClientId": client.user_pool_client_id,
                "Scope": oauth_scope,
                "TargetName": target.name,
                "ExpectedTools": list(expected_tools),
                "ProtocolVersion": protocol_version,
                "MaxWaitSeconds": max_wait.to_seconds(),
                "Triggers": self.triggers,
            },
        )
        self.resource.node.add_dependency(target)
        if after is not None:
            self.resource.node.add_dependency(after.resource)
