"""Per-client request rate limits at the gateway, so one runaway agent cannot starve the rest.

Every caller of the gateway is a Cognito app client, and Cognito puts the client's id in the
``client_id`` claim of every client-credentials access token. One
``AWS::BedrockAgentCore::GatewayRateLimit`` keyed by that claim
(``$.context.jwt.client_id``) gives every client its own requests-per-minute bucket:

* an entry ``*`` with the default rate: AgentCore gives *each* client id that has no entry of
  its own an independent bucket at that rate (the default client, ``extraClients``, teams
  without a ``rateLimit``);
* one entry per team that sets ``rateLimit``, with that team's client id (exact matches win
  over ``*``).

Source: AgentCore developer guide, "Add rate limits to a gateway", "Rate limit dimensions"
(``*`` creates independent per-entity buckets; most specific entry wins) and "Rate limit
enforcement" (throttled MCP requests get JSON-RPC error ``-32003`` "Rate limit exceeded" with
``data.retryAfter`` in seconds). Rates are 0 to 10,000,000 per period; 0 refuses every request.
Enforcement is approximate (eventually consistent, fail-open), so this is traffic management,
not a security boundary: access is still decided by the authorizer and the Cedar policies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_bedrockagentcore as agentcore
from constructs import Construct

#: The dimension key: the ``client_id`` claim of the caller's (Cognito) access token.
CLIENT_ID_DIMENSION = "$.context.jwt.client_id"
#: The entry value that matches every client id without an entry of its own.
ANY_CLIENT = "*"
#: Requests per minute for each client without a limit of its own. 5 requests a second is far
#: above what people chatting with an agent cause, yet keeps one looping agent to a fraction of
#: the Lark app's own limits (many Lark APIs allow 1,000 calls a minute per app).
DEFAULT_REQUESTS_PER_MINUTE = 300
#: AgentCore's upper bound for a rate (CreateGatewayRateLimit: RateConfig.rate <= 10,000,000).
MAX_REQUESTS_PER_MINUTE = 10_000_000
#: Gateway stack output: JSON {"default": N, "teams": {name: N}} that `make quicksuite` reads.
RATE_LIMITS_OUTPUT = "RateLimits"


class RateLimitError(ValueError):
    """A rate that AgentCore would refuse; the message names where it came from."""


def parse_rate(raw: Any, where: str, *, minimum: int) -> int:
    """A whole number of requests per minute in ``minimum..10,000,000``, else RateLimitError.

    ``raw`` may be a JSON number or, from ``-c rateLimit=300``, text.
    """
    value: Any = raw
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        value = int(raw.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RateLimitError(
            f"{where}={raw!r} must be a whole number of requests per minute, e.g. 300"
        )
    if not minimum <= value <= MAX_REQUESTS_PER_MINUTE:
        raise RateLimitError(
            f"{where}={value} must be between {minimum} and {MAX_REQUESTS_PER_MINUTE:,} requests "
            "per minute" + (" (0 refuses every request of that client)" if minimum == 0 else "")
        )
    return value


def _entry(client_id: str, per_minute: int) -> agentcore.CfnGatewayRateLimit.LimitEntryProperty:
    return agentcore.CfnGatewayRateLimit.LimitEntryProperty(
        dimensions={CLIENT_ID_DIMENSION: client_id},
        requests=[
            agentcore.CfnGatewayRateLimit.RateConfigProperty(period="minute", rate=per_minute)
        ],
    )


class ClientRateLimits(Construct):
    """One gateway rate limit: ``default_per_minute`` for every client, overrides by client id.

    ``per_client`` maps a client id (usually ``UserPoolClient.user_pool_client_id``, a token)
    to its own requests per minute. No ``RateLimitId`` is set: AgentCore generates one, so two
    deployments never collide and a replacement never conflicts with the limit it replaces.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        gateway_id: str,
        default_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
        per_client: Mapping[str, int] | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        rates = {ANY_CLIENT: default_per_minute, **(per_client or {})}
        for client, rate in rates.items():
            parse_rate(rate, f"rate limit of client {client}", minimum=0)
        self.resource = agentcore.CfnGatewayRateLimit(
            self,
            "Resource",
            gateway_identifier=gateway_id,
            dimension_keys=[CLIENT_ID_DIMENSION],
            entries=[_entry(client, rate) for client, rate in rates.items()],
            description=description
            or f"Requests per minute per app client (token claim client_id); "
            f"default {default_per_minute}",
        )


def add_team_rate_limits(
    scope: Construct,
    *,
    gateway_id: str,
    default_per_minute: int,
    team_clients: Mapping[str, tuple[str, int | None]],
) -> ClientRateLimits:
    """The gateway's per-client limits for the app, and the ``RateLimits`` output.

    ``team_clients`` maps a team name to (its client id, its ``rateLimit`` or None for the
    default). The output holds every team's effective limit for ``make quicksuite``.
    """
    limits = ClientRateLimits(
        scope,
        "GatewayRateLimits",
        gateway_id=gateway_id,
        default_per_minute=default_per_minute,
        per_client={cid: rate for cid, rate in team_clients.values() if rate is not None},
    )
    summary = {
        "default": default_per_minute,
        "teams": {
            name: default_per_minute if rate is None else rate
            for name, (_, rate) in team_clients.items()
        },
    }
    CfnOutput(
        scope,
        RATE_LIMITS_OUTPUT,
        value=json.dumps(summary, separators=(",", ":")),
        description="Gateway requests per minute per app client (JSON: default, teams)",
    )
    return limits
