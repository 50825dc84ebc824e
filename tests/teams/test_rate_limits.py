"""Per-team rate limits at the gateway: context, template, and what a limited caller reads.

- `rateLimit` (app) and `teams[i].rateLimit` are checked at synth with messages naming the key;
- the synthesized app has one `AWS::BedrockAgentCore::GatewayRateLimit` keyed by the token's
  `client_id` claim: `*` at the app's rate, the team's own client at the team's rate, cfn-lint
  and cdk-nag clean, and a `RateLimits` output for `make quicksuite`;
- over loopback (Cognito-like issuer, gateway stand-in answering as AgentCore documents, the
  real server), a client over its limit gets one readable sentence from the smoke test /
  `make verify`, while another client keeps working.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from mcp_constructs.deploy_checks.runtime.mcp_smoke import RetryPolicy, SmokeConfig, run_smoke
from mcp_constructs.manifest import tool_names
from mcp_constructs.rate_limit import (
    CLIENT_ID_DIMENSION,
    DEFAULT_REQUESTS_PER_MINUTE,
    ClientRateLimits,
)
from stacks.config import ConfigError, load_config
from tests.deploy_checks.local_stack import (
    AppClient,
    GatewayStandIn,
    Issuer,
    serve_in_thread,
    start_server_process,
)
from tests.infra.conftest import synthesize

TEAMS = [
    {"name": "support", "access": "read", "rateLimit": 60},
    {"name": "ops", "access": "write"},
]
RATE_LIMIT_TYPE = "AWS::BedrockAgentCore::GatewayRateLimit"


# --- context ----------------------------------------------------------------------------------


def _config(**context):
    return load_config(context.get, environ={})


def test_defaults_and_values_from_cdk_json_or_the_command_line():
    assert _config().rate_limit == DEFAULT_REQUESTS_PER_MINUTE == 300
    assert _config(rateLimit="120").rate_limit == 120  # -c rateLimit=120 arrives as text
    config = _config(rateLimit=1000, teams=json.dumps(TEAMS))
    assert config.rate_limit == 1000
    assert [(t.name, t.rate_limit) for t in config.teams] == [("support", 60), ("ops", None)]
    blocked = _config(teams=[{"name": "paused", "access": "read", "rateLimit": 0}])
    assert blocked.teams[0].rate_limit == 0  # 0 refuses every request of that team


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"rateLimit": "fast"}, "context 'rateLimit'='fast' must be a whole number"),
        ({"rateLimit": 0}, "context 'rateLimit'=0 must be between 1 and 10,000,000"),
        ({"rateLimit": 2.5}, "context 'rateLimit'=2.5 must be a whole number"),
        ({"rateLimit": 10_000_001}, "must be between 1 and 10,000,000 requests per minute"),
        (
            {"teams": [{"name": "ops", "access": "write", "rateLimit": -1}]},
            'context "teams"[0] ("ops"): rateLimit=-1 must be between 0 and 10,000,000',
        ),
        (
            {"teams": [{"name": "ops", "access": "write", "rateLimit": "sixty"}]},
            """context "teams"[0] ("ops"): rateLimit='sixty' must be a whole number""",
        ),
        (
            {"teams": [{"name": "ops", "access": "write", "ratelimit": 60}]},
            'has unknown key(s) ratelimit; only "name", "access" and "rateLimit" are allowed',
        ),
    ],
)
def test_wrong_values_name_the_key(context, message):
    with pytest.raises(ConfigError) as err:
        _config(**context)
    assert message in str(err.value)


# --- template ---------------------------------------------------------------------------------


def test_construct_alone_gives_every_client_the_default():
    stack = Stack(App(), "Alone")
    ClientRateLimits(stack, "Limits", gateway_id="gw-0123456789")
    (limit,) = Template.from_stack(stack).find_resources(RATE_LIMIT_TYPE).values()
    assert limit["Properties"]["Entries"] == [
        {
            "Dimensions": {CLIENT_ID_DIMENSION: "*"},
            "Requests": [{"Period": "minute", "Rate": DEFAULT_REQUESTS_PER_MINUTE}],
        }
    ]
    assert "RateLimitId" not in limit["Properties"]  # generated: two deployments never collide


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    context = {"teams": json.dumps(TEAMS), "rateLimit": "120"}
    return synthesize(tmp_path_factory.mktemp("rate-limit-cdk-out"), context)


@pytest.fixture(scope="module")
def gateway(synth) -> dict:
    return synth.raw["Gateway"]


def test_one_rate_limit_keyed_by_client_id_with_the_teams_override(gateway):
    limits = {k: r for k, r in gateway["Resources"].items() if r["Type"] == RATE_LIMIT_TYPE}
    assert len(limits) == 1
    (props,) = (r["Properties"] for r in limits.values())
    (gateway_id,) = (
        k for k, r in gateway["Resources"].items() if r["Type"] == "AWS::BedrockAgentCore::Gateway"
    )
    assert props["GatewayIdentifier"] == {"Fn::GetAtt": [gateway_id, "GatewayIdentifier"]}
    assert props["DimensionKeys"] == [CLIENT_ID_DIMENSION]
    by_client = {
        json.dumps(e["Dimensions"][CLIENT_ID_DIMENSION]): e["Requests"] for e in props["Entries"]
    }
    assert by_client.pop('"*"') == [{"Period": "minute", "Rate": 120}]
    ((client, requests),) = by_client.items()  # only support has a limit of its own
    assert requests == [{"Period": "minute", "Rate": 60}]
    # The value is the support client's id, the same reference the authorizer allows.
    allowed = gateway["Resources"][gateway_id]["Properties"]["AuthorizerConfiguration"][
        "CustomJWTAuthorizer"
    ]["AllowedClients"]
    assert json.loads(client) in allowed
    assert "ClientSupport" in json.loads(client)["Fn::GetStackOutput"]["OutputName"]


def test_rate_limits_output_names_every_teams_effective_limit(gateway):
    summary = json.loads(gateway["Outputs"]["RateLimits"]["Value"])
    assert summary == {"default": 120, "teams": {"support": 60, "ops": 120}}


def test_cfn_lint_clean(synth):
    from cfnlint.api import lint_file

    matches = [str(m) for m in lint_file(synth.file("LarkMcp-Gateway.template.json"))]
    assert [m for m in matches if m.startswith("[E")] == [], matches
    assert [m for m in matches if "RateLimits" in m] == [], matches  # not even a warning


def test_cdk_nag_clean(synth):
    report = json.loads(synth.file("validation-report.json").read_text())
    assert [v for p in report["pluginReports"] for v in p.get("violations", [])] == []


# --- what a limited caller reads --------------------------------------------------------------

SCOPE = "lark-mcp/invoke"
DEFAULT = AppClient("default-client", "d3fault-client-secret-0123", (SCOPE,))
TEAM = AppClient("ops-client", "0ps-team-client-secret-4567", (SCOPE,))
PAUSED = AppClient("paused-client", "pau5ed-team-client-secret", (SCOPE,))
FAST = RetryPolicy(max_attempts=1, max_seconds=5, first_delay=0.05, request_timeout=10)


class ManualClock:
    """The stand-in's clock for rate-limit minutes: it moves only when a test moves it, so two
    calls never straddle a wall-clock minute by chance."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


#: 20 s into a minute: 40 s of it are left.
START = 1_800_000_000.0 + 20


@pytest.fixture(scope="module")
def stand_in() -> Iterator[tuple[GatewayStandIn, Issuer, str]]:
    issuer = Issuer([DEFAULT, TEAM, PAUSED])
    with start_server_process("lark_mcp_server") as mcp_url, serve_in_thread(issuer.app) as base:
        issuer.issuer_url = base
        gateway = GatewayStandIn(
            discovery_url=f"{base}/.well-known/openid-configuration",
            allowed_clients=[c.client_id for c in (DEFAULT, TEAM, PAUSED)],
            allowed_scopes=[SCOPE],
            target_name="lark",
            backend_url=mcp_url,
            page_size=100,
            clock=ManualClock(START),
        )
        with serve_in_thread(gateway.app) as gateway_base:
            yield gateway, issuer, f"{gateway_base}/mcp"


def _check(stand_in, client: AppClient):
    _, issuer, url = stand_in
    config = SmokeConfig(
        url=url,
        expected_tools=tool_names(),
        target_name="lark",
        token_url=f"{issuer.issuer_url}/oauth2/token",
        client_id=client.client_id,
        client_secret=client.client_secret,
        scope=SCOPE,
        token_retry=FAST,
        gateway_retry=FAST,
    )
    return run_smoke(config)


@pytest.mark.parametrize("status", [429, 200])
def test_a_client_over_its_limit_reads_why_and_others_keep_working(stand_in, status):
    gateway = stand_in[0]
    gateway.rate_limits = {"*": 100, TEAM.client_id: 1}  # like `*` + the team's own entry
    gateway.rate_limit_status = status
    gateway.clock.now = START + 60 * (status + 1)  # a fresh minute for each case
    gateway._windows.clear()

    assert _check(stand_in, TEAM).ok  # the one request this minute allows
    gateway.clock.now += 39  # still the same minute
    report = _check(stand_in, TEAM)
    assert not report.ok and report.failed_step == "tools/list" and report.retryable
    message = report.message
    assert message.startswith(
        f"gateway rate limit exceeded (HTTP {status}, limitKey rl-standin/{TEAM.client_id}, "
        "metric requests): this app client sent more requests per minute than its rateLimit "
        "allows; retry after 1 s"
    )
    assert "raise the team's (or the app's) rateLimit in cdk.json" in message
    assert "Rate limit exceeded" not in report.render()  # no raw JSON-RPC in the report
    assert _check(stand_in, DEFAULT).ok  # its own bucket: one team cannot starve another
    gateway.clock.now += 1  # the next minute: a new bucket
    assert _check(stand_in, TEAM).ok


def test_rate_limit_zero_refuses_every_request(stand_in):
    gateway = stand_in[0]
    gateway.rate_limits = {"*": 100, PAUSED.client_id: 0}
    gateway.rate_limit_status = 429
    gateway.clock.now = START + 60 * 1000
    report = _check(stand_in, PAUSED)
    assert report.message.startswith("gateway rate limit exceeded (HTTP 429")
