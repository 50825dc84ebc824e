"""A rough monthly AWS bill for one deployment, from published unit prices and stated usage.

`python scripts/cost.py [--people 20] [--calls 30] [--days 21] [--teams 1] [--no-user-auth]`
prints one line per billable part and a total. docs/cost.md shows the default run (a test keeps
the page equal to this output). The unit prices below are us-east-1 list prices; other regions
differ a little. Check them on the pricing pages named beside each before you rely on a figure.
Lark, Quick Suite (per user) and the model behind Quick Suite are billed separately and are not
counted here.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

#: (price in USD, unit, where it is published)
PRICES = {
    "runtime_vcpu_hour": (0.0895, "vCPU-hour", "aws.amazon.com/bedrock/agentcore/pricing"),
    "runtime_gb_hour": (0.00945, "GB-hour", "aws.amazon.com/bedrock/agentcore/pricing"),
    "gateway_1k_calls": (0.005, "1,000 MCP calls", "aws.amazon.com/bedrock/agentcore/pricing"),
    "policy_request": (
        0.000025,
        "authorization request",
        "aws.amazon.com/bedrock/agentcore/pricing",
    ),
    "cognito_m2m_client": (6.00, "app client-month", "aws.amazon.com/cognito/pricing"),
    "cognito_1k_tokens": (2.25, "1,000 token requests", "aws.amazon.com/cognito/pricing"),
    "secret_month": (0.40, "secret-month", "aws.amazon.com/secrets-manager/pricing"),
    "kms_key_month": (1.00, "key-month", "aws.amazon.com/kms/pricing"),
    "dashboard_month": (3.00, "dashboard-month", "aws.amazon.com/cloudwatch/pricing"),
    "alarm_month": (0.10, "alarm-month", "aws.amazon.com/cloudwatch/pricing"),
    "logs_gb": (0.50, "GB ingested", "aws.amazon.com/cloudwatch/pricing"),
    "ecr_gb_month": (0.10, "GB-month", "aws.amazon.com/ecr/pricing"),
    "http_api_million": (1.00, "million requests", "aws.amazon.com/api-gateway/pricing"),
    "dynamodb_million_reads": (0.125, "million read units", "aws.amazon.com/dynamodb/pricing"),
}

#: What one deployment uses per call or per month, beyond what the options set. Assumptions,
#: not measurements: change them here and the page follows.
CPU_SECONDS_PER_CALL = 0.1  # vCPU-seconds the server spends on one tool call
SESSION_GB = 0.5  # memory of a runtime session
HOURS_IN_USE_PER_DAY = 4  # hours a day each person's session stays alive (15 min idle timeout)
LOG_BYTES_PER_CALL = 600  # the tool-call log line and AgentCore's own lines
IMAGE_GB = 0.3  # the server image in ECR
ALARMS = 9  # alarms of the Monitoring stack (one runtime; a test counts them)
SIGN_IN_ALARMS = 4  # its alarms on the authorization server, with sign-in (a test counts them)


@dataclass(frozen=True)
class Usage:
    people: int = 20
    calls: int = 30  # tool calls per person per working day
    days: int = 21  # working days a month
    teams: int = 1  # team clients besides the default client
    user_auth: bool = True

    @property
    def monthly_calls(self) -> int:
        return self.people * self.calls * self.days


def lines(usage: Usage) -> list[tuple[str, float, str]]:
    """(billable part, USD per month, how it was counted)."""
    p = {key: value[0] for key, value in PRICES.items()}
    calls = usage.monthly_calls
    session_hours = usage.people * HOURS_IN_USE_PER_DAY * usage.days
    clients = 1 + usage.teams
    tokens = clients * HOURS_IN_USE_PER_DAY * usage.days  # one token an hour per client in use
    alarms = ALARMS + (SIGN_IN_ALARMS if usage.user_auth else 0)
    out = [
        (
            "AgentCore Runtime, CPU",
            calls * CPU_SECONDS_PER_CALL / 3600 * p["runtime_vcpu_hour"],
            f"{calls:,} calls x {CPU_SECONDS_PER_CALL} vCPU-s",
        ),
        (
            "AgentCore Runtime, memory",
            session_hours * SESSION_GB * p["runtime_gb_hour"],
            f"{session_hours:,} session-hours x {SESSION_GB} GB",
        ),
        (
            "AgentCore Gateway",
            2 * calls / 1000 * p["gateway_1k_calls"],
            f"{2 * calls:,} MCP requests (a tools/list per call, at most)",
        ),
        (
            "Gateway policy engine",
            calls * p["policy_request"],
            f"{calls:,} authorization requests",
        ),
        (
            "Cognito machine-to-machine",
            clients * p["cognito_m2m_client"] + tokens / 1000 * p["cognito_1k_tokens"],
            f"{clients} app clients, {tokens:,} token requests",
        ),
        (
            "Secrets Manager",
            (2 if usage.user_auth else 1) * p["secret_month"],
            "Lark app secret" + (", quicksuite client" if usage.user_auth else ""),
        ),
        (
            "CloudWatch",
            p["dashboard_month"]
            + alarms * p["alarm_month"]
            + calls * LOG_BYTES_PER_CALL / 1e9 * p["logs_gb"],
            f"1 dashboard, {alarms} alarms, logs",
        ),
        ("ECR", IMAGE_GB * p["ecr_gb_month"], f"{IMAGE_GB} GB image"),
    ]
    if usage.user_auth:
        out += [
            ("KMS (sign-in)", 3 * p["kms_key_month"], "token table key, token key, signing key"),
            (
                "Sign-in: HTTP API, Lambda, DynamoDB",
                usage.people * usage.days * 10 / 1e6 * p["http_api_million"]
                + 2 * calls / 1e6 * p["dynamodb_million_reads"],
                "token refreshes and a token read per call; Lambda stays in its free tier",
            ),
        ]
    return out


def render(usage: Usage) -> str:
    rows = lines(usage)
    width = max(len(name) for name, _, _ in rows)
    text = [
        f"{usage.people} people, {usage.calls} tool calls each per working day, "
        f"{usage.days} days, {1 + usage.teams} app clients, sign-in "
        f"{'on' if usage.user_auth else 'off'}: {usage.monthly_calls:,} calls a month",
        "",
    ]
    text += [f"{name:<{width}}  {usd:8.2f} USD  {how}" for name, usd, how in rows]
    text += ["", f"{'total':<{width}}  {sum(usd for _, usd, _ in rows):8.2f} USD a month"]
    return "\n".join(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/cost.py", description=__doc__)
    parser.add_argument("--people", type=int, default=Usage.people)
    parser.add_argument("--calls", type=int, default=Usage.calls, help="per person per day")
    parser.add_argument("--days", type=int, default=Usage.days, help="working days a month")
    parser.add_argument("--teams", type=int, default=Usage.teams, help="team app clients")
    parser.add_argument("--no-user-auth", action="store_true", help="without sign-in")
    args = parser.parse_args(argv)
    usage = Usage(args.people, args.calls, args.days, args.teams, not args.no_user_auth)
    print(render(usage))
    return 0


if __name__ == "__main__":
    sys.exit(main())
