"""CloudWatch dashboard and alarms for the MCP chain: gateway -> runtime(s) -> tool calls.

Metric names, namespace and dimensions are the ones AgentCore publishes, as aws-cdk-lib
2.275.0's own `aws_bedrockagentcore` L2 constructs address them (`GatewayBase.metric`,
`RuntimeBase.metric`); the stacks here use the L1 resources, so this module builds the same
`cloudwatch.Metric` objects from a gateway ARN and a runtime ARN + name:

- gateway: namespace `AWS/Bedrock-AgentCore`, dimensions `Operation=InvokeGateway`,
  `Protocol=MCP`, `Resource=<gateway ARN>`; metrics `Invocations`, `Throttles`, `SystemErrors`
  (5xx), `UserErrors` (4xx except 429), `Latency`, `Duration`, `TargetExecutionTime`.
- runtime: dimensions RUNTIME_DIMENSIONS (`Operation=InvokeAgentRuntime`,
  `Name=<runtime name>::DEFAULT`, `Resource=<runtime ARN>`; see the constant for the sources);
  metrics `Invocations`, `SessionCount`, `Throttles`, `SystemErrors`, `UserErrors`, `Latency`.

A watched metric that never arrives must not look like "all is well": error alarms treat missing
data as OK (no traffic is no error), so two alarms watch the watching itself. `<Server>
RuntimeSilent` fires when the runtime recorded no invocation for a day (missing data is
breaching): nobody reached it, or its metrics arrive under other dimensions than the ones every
runtime graph and alarm here uses. `<Server>RuntimeMetricsMissing` (servers with tool logs)
fires when the server logged tool calls but AgentCore published no invocation for it: the
runtime's graphs and alarms are blind.

The MCP server's own view comes from its JSON log lines (one per tool call: `tool`, `status`
`ok`/`lark_error`/`tool_error`/`crash`, `attempts`, `duration_ms`) through metric filters on
the runtime's log group `/aws/bedrock-agentcore/runtimes/<runtime id>-DEFAULT`. AgentCore
creates that group on the first invocation, so a `LogRetention` custom resource creates it
first if it is missing (and sets its retention): a metric filter on a missing group fails.

With user sign-in (`MonitoredSignIn`), the dashboard also counts what happens to people, from
log lines that carry an `event` field: the authorization server's (Lambda JSON log format)
`sign_in`, `sign_in_refused`, `client_registered`, `registration_refused`, `refresh_refused`,
and the MCP server's `reconnect_required` (a tool call that asked the person to sign in again);
and alarms on the authorization server's Lambda errors and throttles, its HTTP API's 5xx, and
its 429s (stage throttling, counted from the API's JSON access log).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Acknowledgment, ArnFormat, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

AGENTCORE_NAMESPACE = "AWS/Bedrock-AgentCore"
GATEWAY_OPERATION = "InvokeGateway"
RUNTIME_OPERATION = "InvokeAgentRuntime"
RUNTIME_ENDPOINT = "DEFAULT"
PERIOD = Duration.minutes(5)


def runtime_log_group_name(runtime_id: str) -> str:
    """Where AgentCore writes a runtime's stdout (its default endpoint's application logs)."""
    return f"/aws/bedrock-agentcore/runtimes/{runtime_id}-{RUNTIME_ENDPOINT}"


def gateway_metric(gateway_arn: str, metric_name: str, statistic: str) -> cloudwatch.Metric:
    """One AgentCore gateway metric, with the dimensions the service publishes it under."""
    return cloudwatch.Metric(
        namespace=AGENTCORE_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={"Operation": GATEWAY_OPERATION, "Protocol": "MCP", "Resource": gateway_arn},
        statistic=statistic,
        period=PERIOD,
    )


#: The dimension set AgentCore publishes a runtime's metrics under (its DEFAULT endpoint).
#: Sources: AgentCore's runtime-observability page ("AgentCore generated runtime observability
#: data", docs.aws.amazon.com/bedrock-agentcore/latest/devguide/observability-runtime-metrics.html)
#: lists the metrics (Invocations, Throttles, SystemErrors, UserErrors, Latency, SessionCount...)
#: but names no dimensions; aws-cdk-lib 2.275.0's own `RuntimeBase.metric`
#: (aws-bedrockagentcore/lib/runtime/runtime-base.js) addresses them with exactly these three:
#: `{Operation: "InvokeAgentRuntime", Name: `${agentRuntimeName}::DEFAULT`, Resource:
#: agentRuntimeArn}` (its `metricAggregated` uses `AggregateOperation` alone, account-wide).
#: This is not the gateway's set (`Operation`, `Protocol`, `Resource`). Since no AWS page pins
#: it, the RuntimeSilent / RuntimeMetricsMissing alarms make a mismatch visible.
RUNTIME_DIMENSIONS: tuple[str, ...] = ("Operation", "Name", "Resource")


def runtime_metric(
    runtime_arn: str,
    runtime_name: str,
    metric_name: str,
    statistic: str,
    period: Duration = PERIOD,
) -> cloudwatch.Metric:
    """One AgentCore runtime metric for the runtime's DEFAULT endpoint (RUNTIME_DIMENSIONS)."""
    values = {
        "Operation": RUNTIME_OPERATION,
        "Name": f"{runtime_name}::{RUNTIME_ENDPOINT}",
        "Resource": runtime_arn,
    }
    return cloudwatch.Metric(
        namespace=AGENTCORE_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={name: values[name] for name in RUNTIME_DIMENSIONS},
        statistic=statistic,
        period=period,
    )


@dataclass(frozen=True)
class MonitoredServer:
    """A containerised MCP server on an AgentCore runtime, as the dashboard shows it.

    `name` labels widgets and alarms (letters, digits, `-`, `_`). `tool_logs` says the server
    writes one JSON line per tool call with `tool`, `status` and `duration_ms` (the Lark
    server does; a new server opts in once it logs the same way).
    """

    name: str
    runtime: agentcore.CfnRuntime
    tool_logs: bool = False


@dataclass(frozen=True)
class MonitoredSignIn:
    """The user sign-in path (context `userAuth`), as the dashboard shows it.

    `log_group`: the authorization server's (JSON lines with `event`); `function` and `api`:
    its Lambda function and HTTP API; `access_log_group`: the API's JSON access log (`status`);
    `server`: the name of the `MonitoredServer` whose runtime logs `reconnect_required`.
    """

    log_group: logs.ILogGroup
    function: lambda_.IFunction
    api: apigwv2.IHttpApi
    access_log_group: logs.ILogGroup
    server: str


#: (metric name, `event` value, where it is logged) of the sign-in dashboard.
SIGN_IN_EVENTS: tuple[tuple[str, str, str], ...] = (
    ("SignIns", "sign_in", "auth"),
    ("SignInsRefused", "sign_in_refused", "auth"),
    ("ClientsRegistered", "client_registered", "auth"),
    ("RegistrationsRefused", "registration_refused", "auth"),
    ("RefreshesRefused", "refresh_refused", "auth"),
    ("ReconnectsRequired", "reconnect_required", "runtime"),
)


@dataclass(frozen=True)
class AlarmThresholds:
    """When an alarm fires, per 5-minute period. Defaults suit a team-sized deployment."""

    gateway_user_errors: int = 20
    """4xx from the gateway (bad or expired tokens, unknown tools) worth a look."""
    tool_errors: int = 5
    """Tool calls that ended in a Lark error, a tool error or a crash."""
    gateway_p99_duration_ms: int = 50_000
    """Quick Suite gives an MCP call 60 s; p99 near that means calls are about to time out."""
    auth_throttled: int = 20
    """Requests the authorization server's API refused with 429 (its stage throttle)."""
    runtime_silent_hours: int | None = 24
    """No runtime invocation recorded for this long (1-24) fires `<Server>RuntimeSilent`;
    None leaves the alarm out (e.g. for a server used only now and then)."""


class McpMonitoring(Construct):
    """Dashboard + alarms for one gateway and the runtimes behind it; optional e-mail alerts.

    Error alarms treat missing data as OK (no traffic is not a failure); the RuntimeSilent and
    RuntimeMetricsMissing alarms notice a runtime whose metrics stay away (module docstring).
    With `alarm_email`, every
    alarm notifies an SNS topic (KMS-encrypted with a key CloudWatch may use, TLS-only) that
    e-mails that address; the recipient confirms the subscription once.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        gateway: agentcore.CfnGateway,
        servers: Sequence[MonitoredServer],
        alarm_email: str | None = None,
        thresholds: AlarmThresholds | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        sign_in: MonitoredSignIn | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not servers:
            raise ValueError("McpMonitoring needs at least one MonitoredServer to watch.")
        names = [server.name for server in servers]
        if len(set(names)) != len(names):
            raise ValueError(f"McpMonitoring: server names must be unique, got {names}.")
        if sign_in is not None and sign_in.server not in names:
            raise ValueError(
                f"McpMonitoring: sign_in.server={sign_in.server!r} is not one of the servers "
                f"{names}; name the server whose runtime serves the signed-in people."
            )
        if alarm_email is not None and "@" not in alarm_email:
            raise ValueError(
                f"alarmEmail={alarm_email!r} is not an e-mail address; "
                "pass -c alarmEmail=ops@example.com or leave it out."
            )
        self._thresholds = thresholds or AlarmThresholds()
        silent = self._thresholds.runtime_silent_hours
        if silent is not None and not 1 <= silent <= 24:
            raise ValueError(
                f"AlarmThresholds.runtime_silent_hours={silent} must be 1-24 (a CloudWatch alarm "
                "looks back at most a day) or None to leave the RuntimeSilent alarm out."
            )
        self._prefix = Stack.of(self).stack_name
        self.alarms: list[cloudwatch.Alarm] = []
        self._runtime_groups: dict[str, tuple[logs.ILogGroup, Construct]] = {}
        self.topic = self._alarm_topic(alarm_email) if alarm_email else None

        gateway_arn = gateway.attr_gateway_arn
        widgets: list[list[cloudwatch.IWidget]] = [self._gateway_widgets(gateway_arn)]
        for server in servers:
            widgets.append(self._runtime_widgets(server))
            if server.tool_logs:
                widgets.append(self._tool_widgets(server, log_retention))
        if sign_in is not None:
            runtime = next(s for s in servers if s.name == sign_in.server)
            widgets.append(self._sign_in_widgets(sign_in, runtime, log_retention))

        alarm_widget = cloudwatch.AlarmStatusWidget(
            title="Alarms", alarms=self.alarms, width=24, height=3
        )
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=self._prefix,
            default_interval=Duration.hours(3),
            widgets=[[alarm_widget], *widgets],
        )
        if self.topic is not None:
            action = cw_actions.SnsAction(self.topic)
            for alarm in self.alarms:
                alarm.add_alarm_action(action)

    # -- gateway ---------------------------------------------------------------------------
    def _gateway_widgets(self, gateway_arn: str) -> list[cloudwatch.IWidget]:
        def metric(name: str, statistic: str = "Sum") -> cloudwatch.Metric:
            return gateway_metric(gateway_arn, name, statistic)

        self._alarm(
            "GatewaySystemErrors",
            metric("SystemErrors"),
            1,
            "Gateway answered 5xx: the target runtime failed or AgentCore Gateway had an error.",
        )
        self._alarm(
            "GatewayThrottles",
            metric("Throttles"),
            1,
            "Gateway answered 429: requests exceed the gateway's quota.",
        )
        self._alarm(
            "GatewayUserErrors",
            metric("UserErrors"),
            self._thresholds.gateway_user_errors,
            "Many 4xx at the gateway: rejected tokens or scopes, unknown tools, bad requests.",
        )
        self._alarm(
            "GatewaySlow",
            metric("Duration", "p99"),
            self._thresholds.gateway_p99_duration_ms,
            "p99 gateway duration is close to the 60 s clients allow an MCP call.",
            evaluation_periods=3,
        )
        return [
            cloudwatch.GraphWidget(
                title="Gateway requests",
                left=[metric("Invocations")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Gateway errors (4xx user, 5xx system, 429 throttles)",
                left=[metric("UserErrors"), metric("SystemErrors"), metric("Throttles")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Gateway latency (ms)",
                left=[
                    metric("Latency", "p50"),
                    metric("Latency", "p99"),
                    metric("Duration", "p99"),
                    metric("TargetExecutionTime", "p99"),
                ],
                width=8,
            ),
        ]

    # -- runtime ---------------------------------------------------------------------------
    def _runtime_widgets(self, server: MonitoredServer) -> list[cloudwatch.IWidget]:
        runtime = server.runtime
        label = server.name

        def metric(
            name: str, statistic: str = "Sum", period: Duration = PERIOD
        ) -> cloudwatch.Metric:
            return runtime_metric(
                runtime.attr_agent_runtime_arn, runtime.agent_runtime_name, name, statistic, period
            )

        self._alarm(
            f"{pascal(label)}RuntimeSystemErrors",
            metric("SystemErrors"),
            1,
            f"Runtime '{label}' had server-side errors (crash, failed start, image pull).",
        )
        self._alarm(
            f"{pascal(label)}RuntimeThrottles",
            metric("Throttles"),
            1,
            f"Runtime '{label}' throttled invocations (TPS or session quota).",
        )
        hours = self._thresholds.runtime_silent_hours
        if hours is not None:
            self._alarm(
                f"{pascal(label)}RuntimeSilent",
                metric("Invocations", period=Duration.hours(hours)),
                1,
                f"AgentCore recorded no invocation of runtime '{label}' in {hours} h. Either "
                "nobody called it (expected on quiet days), or its metrics arrive under other "
                "dimensions than this dashboard's (Operation, Name, Resource): then every "
                "runtime graph and alarm here is blind. Compare with `aws cloudwatch list-metrics "
                "--namespace AWS/Bedrock-AgentCore --metric-name Invocations`.",
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                missing=cloudwatch.TreatMissingData.BREACHING,
            )
        return [
            cloudwatch.GraphWidget(
                title=f"Runtime {label}: invocations and new sessions",
                left=[metric("Invocations"), metric("SessionCount")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title=f"Runtime {label}: errors",
                left=[metric("UserErrors"), metric("SystemErrors"), metric("Throttles")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title=f"Runtime {label}: latency (ms)",
                left=[metric("Latency", "Average"), metric("Latency", "p99")],
                width=8,
            ),
        ]

    # -- the server's own tool-call log lines ----------------------------------------------
    def _tool_widgets(
        self, server: MonitoredServer, retention: logs.RetentionDays
    ) -> list[cloudwatch.IWidget]:
        label = server.name
        scope = Construct(self, f"{pascal(label)}ToolLogs")
        group, ensure = self._runtime_log_group(server, scope, retention)
        namespace = f"McpServers/{self._prefix}/{label}"
        tool_call = logs.FilterPattern.exists("$.tool")
        failed = logs.FilterPattern.all(
            tool_call, logs.FilterPattern.string_value("$.status", "!=", "ok")
        )
        filters = [
            ("Calls", "ToolCalls", logs.FilterPattern.all(tool_call), "1", None, None),
            ("Errors", "ToolErrors", failed, "1", None, None),
            ("ErrorsByTool", "ToolErrors", failed, "1", {"Tool": "$.tool"}, None),
            (
                "Duration",
                "ToolDuration",
                logs.FilterPattern.all(tool_call, logs.FilterPattern.exists("$.duration_ms")),
                "$.duration_ms",
                None,
                cloudwatch.Unit.MILLISECONDS,
            ),
        ]
        for filter_id, metric_name, pattern, value, dimensions, unit in filters:
            metric_filter = logs.MetricFilter(
                scope,
                filter_id,
                log_group=group,
                filter_pattern=pattern,
                metric_namespace=namespace,
                metric_name=metric_name,
                metric_value=value,
                dimensions=dimensions,
                unit=unit,
            )
            metric_filter.node.add_dependency(ensure)

        def metric(
            name: str, statistic: str = "Sum", period: Duration = PERIOD
        ) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=namespace, metric_name=name, statistic=statistic, period=period
            )

        self._alarm(
            f"{pascal(label)}ToolErrors",
            metric("ToolErrors"),
            self._thresholds.tool_errors,
            f"Tool calls on '{label}' fail (Lark errors, tool errors or crashes); "
            "the runtime log says which tool and why.",
        )
        # The server's own log says it served tool calls; AgentCore's runtime metrics under
        # RUNTIME_DIMENSIONS should then count invocations too. FILL: a metric that never
        # arrives counts as 0 instead of leaving the alarm without data.
        window = Duration.minutes(15)
        blind = cloudwatch.MathExpression(
            expression="IF(FILL(calls, 0) > 0 AND FILL(invocations, 0) == 0, 1, 0)",
            using_metrics={
                "calls": metric("ToolCalls", period=window),
                "invocations": runtime_metric(
                    server.runtime.attr_agent_runtime_arn,
                    server.runtime.agent_runtime_name,
                    "Invocations",
                    "Sum",
                    period=window,
                ),
            },
            label=f"{label}: tool calls logged, no runtime invocation recorded",
            period=window,
        )
        self._alarm(
            f"{pascal(label)}RuntimeMetricsMissing",
            blind,
            1,
            f"'{label}' logged tool calls but AgentCore recorded no invocation of its runtime "
            "under the dimensions this dashboard watches (Operation, Name, Resource): the "
            "runtime graphs and alarms are blind. Find the dimensions AgentCore uses with `aws "
            "cloudwatch list-metrics --namespace AWS/Bedrock-AgentCore --metric-name "
            "Invocations` and update RUNTIME_DIMENSIONS in mcp_constructs/monitoring.py.",
            evaluation_periods=2,
        )
        by_tool = cloudwatch.MathExpression(
            expression=(
                f"SEARCH('{{{namespace},Tool}} MetricName=\"ToolErrors\"', 'Sum', "
                f"{int(PERIOD.to_seconds())})"
            ),
            using_metrics={},
            label="",
            period=PERIOD,
        )
        return [
            cloudwatch.GraphWidget(
                title=f"{label}: tool calls and failures",
                left=[metric("ToolCalls"), metric("ToolErrors")],
                width=8,
            ),
            cloudwatch.GraphWidget(title=f"{label}: failures by tool", left=[by_tool], width=8),
            cloudwatch.GraphWidget(
                title=f"{label}: tool duration incl. retries (ms)",
                left=[metric("ToolDuration", "p50"), metric("ToolDuration", "p99")],
                width=8,
            ),
        ]

    def _runtime_log_group(
        self, server: MonitoredServer, scope: Construct, retention: logs.RetentionDays
    ) -> tuple[logs.ILogGroup, Construct]:
        """The runtime's log group and the resource that makes sure it exists (once per server)."""
        if server.name not in self._runtime_groups:
            group_name = runtime_log_group_name(server.runtime.attr_agent_runtime_id)
            # Creates the group if AgentCore has not yet (first invocation), sets its retention
            # and keeps it on delete: metric filters need it to exist.
            ensure = logs.LogRetention(
                scope, "LogGroup", log_group_name=group_name, retention=retention
            )
            _acknowledge_log_retention_function(Stack.of(self))
            group = logs.LogGroup.from_log_group_name(scope, "RuntimeLogGroup", group_name)
            self._runtime_groups[server.name] = (group, ensure)
        return self._runtime_groups[server.name]

    # -- user sign-in ------------------------------------------------------------------------
    def _sign_in_widgets(
        self, sign_in: MonitoredSignIn, server: MonitoredServer, retention: logs.RetentionDays
    ) -> list[cloudwatch.IWidget]:
        scope = Construct(self, "SignIn")
        namespace = f"McpServers/{self._prefix}/sign-in"
        runtime_group, ensure = self._runtime_log_group(server, scope, retention)
        for metric_name, event, where in SIGN_IN_EVENTS:
            metric_filter = logs.MetricFilter(
                scope,
                metric_name,
                log_group=sign_in.log_group if where == "auth" else runtime_group,
                filter_pattern=logs.FilterPattern.string_value("$.event", "=", event),
                metric_namespace=namespace,
                metric_name=metric_name,
                metric_value="1",
            )
            if where == "runtime":
                metric_filter.node.add_dependency(ensure)
        logs.MetricFilter(
            scope,
            "Throttled",
            log_group=sign_in.access_log_group,
            filter_pattern=logs.FilterPattern.string_value("$.status", "=", "429"),
            metric_namespace=namespace,
            metric_name="AuthThrottled",
            metric_value="1",
        )

        def metric(name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=namespace, metric_name=name, statistic="Sum", period=PERIOD
            )

        errors = sign_in.function.metric_errors(period=PERIOD, statistic="Sum")
        throttles = sign_in.function.metric_throttles(period=PERIOD, statistic="Sum")
        server_errors = sign_in.api.metric_server_error(period=PERIOD, statistic="Sum")
        self._alarm(
            "AuthServerErrors",
            errors,
            1,
            "The authorization server's Lambda failed (an unhandled error or a timeout): people "
            "may be unable to sign in or refresh. Its log group says why.",
        )
        self._alarm(
            "AuthServerThrottles",
            throttles,
            1,
            "The authorization server's Lambda was throttled (its reserved concurrency is used "
            "up): sign-ins and token refreshes are being refused.",
        )
        self._alarm(
            "AuthApi5xx",
            server_errors,
            1,
            "The authorization server's HTTP API answered 5xx: sign-in or token requests failed.",
        )
        self._alarm(
            "AuthApiThrottled",
            metric("AuthThrottled"),
            self._thresholds.auth_throttled,
            "The authorization server's HTTP API refused many requests with 429 (stage "
            "throttling): a burst of sign-ins or an abusive caller; see its access log.",
        )
        return [
            cloudwatch.GraphWidget(
                title="Sign-ins (people) and registrations (clients)",
                left=[
                    metric("SignIns"),
                    metric("SignInsRefused"),
                    metric("ClientsRegistered"),
                    metric("RegistrationsRefused"),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Refreshes refused and people asked to reconnect",
                left=[metric("RefreshesRefused"), metric("ReconnectsRequired")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Authorization server: errors and throttling",
                left=[errors, throttles, server_errors, metric("AuthThrottled")],
                width=8,
            ),
        ]

    # -- alarms and where they go ----------------------------------------------------------
    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        *,
        evaluation_periods: int = 1,
        comparison: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        ),
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=f"{self._prefix}-{construct_id}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=comparison,
            treat_missing_data=missing,
        )
        self.alarms.append(alarm)
        return alarm

    def _alarm_topic(self, email: str) -> sns.Topic:
        # The AWS-managed SNS key cannot be used by CloudWatch alarms: a customer key whose
        # policy lets CloudWatch encrypt is what keeps the topic encrypted *and* deliverable.
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the MCP alarm topic; CloudWatch alarms may use it to publish.",
            enable_key_rotation=True,
            # It protects alarm notifications in flight, no data at rest: delete it with the
            # stack (after AWS's waiting period) rather than leave a billed key behind.
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        topic = sns.Topic(self, "AlarmTopic", master_key=key, enforce_ssl=True)
        # A topic policy replaces SNS's default one (which let the account publish): without
        # this statement CloudWatch may not publish and no alarm mail is ever sent. Only this
        # account's alarms of this stack (confused-deputy conditions).
        stack = Stack.of(self)
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisStacksAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name=f"{self._prefix}-*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic


# aws-cdk-lib's LogRetention singleton (its construct id is part of aws-cdk-lib's contract).
_LOG_RETENTION_FUNCTION_ID = "LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a"


def _acknowledge_log_retention_function(stack: Stack) -> None:
    function = stack.node.try_find_child(_LOG_RETENTION_FUNCTION_ID)
    if function is None:
        return
    Validations.of(function).acknowledge(
        Acknowledgment(
            id="AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            "service-role/AWSLambdaBasicExecutionRole]",
            reason="aws-cdk-lib's LogRetention function: the basic execution role writes its "
            "own logs and creates the runtime's log group (logs:CreateLogGroup) if AgentCore "
            "has not created it yet.",
        ),
        Acknowledgment(
            id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
            reason="aws-cdk-lib's LogRetention singleton serves every log group of the stack, so "
            "logs:PutRetentionPolicy/DeleteRetentionPolicy is on '*'; it only touches the "
            "runtime log groups named in its custom resources.",
        ),
    )


def pascal(name: str) -> str:
    """`lark-mcp` -> `LarkMcp`: a server name as a construct id / alarm name part."""
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_"))
