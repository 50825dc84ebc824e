"""The Monitoring stack: one dashboard and the alarms for gateway -> runtime(s) -> tool calls.

A stack of its own so it can be left out (`-c monitoring=false`) or torn down without touching
the chain, and so its CloudWatch resources never block a change to the runtime or gateway.
It deploys after the Gateway stack (it reads the gateway's and runtimes' ARNs), and with user
sign-in after the UserAuth stack (the authorization server's log groups, function and API).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from constructs import Construct

from mcp_constructs.monitoring import (
    McpMonitoring,
    MonitoredServer,
    MonitoredSignIn,
    pascal,
    runtime_log_group_name,
)


class MonitoringStack(Stack):
    """Dashboard `<stack name>`, alarms `<stack name>-*`, optional e-mail notifications."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        gateway: agentcore.CfnGateway,
        servers: Sequence[MonitoredServer],
        alarm_email: str | None = None,
        sign_in: MonitoredSignIn | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.monitoring = McpMonitoring(
            self,
            "Monitoring",
            gateway=gateway,
            servers=servers,
            alarm_email=alarm_email,
            sign_in=sign_in,
        )
        dashboard = self.monitoring.dashboard.dashboard_name
        CfnOutput(
            self,
            "DashboardUrl",
            description="CloudWatch dashboard of the gateway, the runtime(s) and tool calls",
            value=f"https://{self.region}.console.aws.amazon.com/cloudwatch/home"
            f"?region={self.region}#dashboards/dashboard/{dashboard}",
        )
        for server in servers:
            CfnOutput(
                self,
                f"{pascal(server.name)}RuntimeLogGroup",
                description=f"Runtime '{server.name}' logs: aws logs tail <this> --follow",
                value=runtime_log_group_name(server.runtime.attr_agent_runtime_id),
            )
        if self.monitoring.topic is not None:
            CfnOutput(
                self,
                "AlarmTopicArn",
                description="SNS topic the alarms notify (confirm the e-mail subscription once)",
                value=self.monitoring.topic.topic_arn,
            )
