"""`python -m mcp_constructs.verify`: does this MCP endpoint list the tools it should, and can
it read from Lark?

Runs the same check as the deploy's smoke test (``deploy_checks/runtime/mcp_smoke.py``) from a
laptop, then one real read (``read_check.py``: ``list_chats`` unless ``--call`` names another
read-only tool, ``--no-call`` skips it), which proves the Lark secret is filled and the app has
the scope. Against either

- a local server, no auth: ``--url http://127.0.0.1:8000/mcp``, or
- a deployed gateway: ``[--stack-prefix LarkMcp] [--region eu-west-1] [--team ops]`` (the
  prefix defaults to cdk.json's ``stackPrefix``, as ``make quicksuite``'s does), which
  reads the stacks' outputs (CloudFormation ``DescribeStacks``) and the app client's secret
  (``cognito-idp DescribeUserPoolClient``) with your AWS credentials.

Expected tools default to ``lark_mcp_server/tools_manifest.json``. Prints a readable report (or
``--json``) and exits 0 when every expected tool is listed and the read call worked, 1 when
not, 2 on a usage error.
The client secret and the token are never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from mcp_constructs.deploy_checks.runtime.mcp_smoke import (
    DEFAULT_PROTOCOL_VERSION,
    SmokeConfig,
    SmokeReport,
    run_smoke,
)
from mcp_constructs.manifest import MANIFEST_PATH, ManifestError, tool_names
from mcp_constructs.read_check import DEFAULT_READ_TOOLS, ReadCheck, run_read_check
from mcp_constructs.teams import TEAM_CLIENTS_OUTPUT  # JSON: team -> clientId, access, scope

# Output keys of the deployed stacks (stacks/gateway_stack.py, stacks/cognito_stack.py).
GATEWAY_URL_OUTPUT = "McpEndpointUrl"
TARGET_NAME_OUTPUT = "TargetName"
TOKEN_URL_OUTPUT = "TokenUrl"
SCOPE_OUTPUT = "Scope"
USER_POOL_OUTPUT = "UserPoolId"
CLIENT_ID_OUTPUT = "ClientId"


DEFAULT_STACK_PREFIX = "LarkMcp"


def configured_stack_prefix(cdk_json: Path = Path("cdk.json")) -> str:
    """The app's ``stackPrefix`` from cdk.json's context (what `make deploy` used), else the
    default: `make verify` and `make quicksuite` look at the same stacks."""
    try:
        context = json.loads(cdk_json.read_text(encoding="utf-8")).get("context", {})
    except (OSError, ValueError, AttributeError):
        return DEFAULT_STACK_PREFIX
    prefix = context.get("stackPrefix") if isinstance(context, dict) else None
    return prefix if isinstance(prefix, str) and prefix.strip() else DEFAULT_STACK_PREFIX


class VerifyError(Exception):
    """A problem before the check could run (no stack, no output, no credentials)."""


class Report(Protocol):
    """What `emit` prints: the smoke test's report or the sign-in check's (verify_sign_in)."""

    def to_dict(self) -> dict[str, Any]: ...

    def render(self) -> str: ...


def client_suffix(name: str) -> str:
    """Output suffix of an app client: ``default`` -> ``""``, ``team-a`` -> ``TeamA``."""
    if name == "default":
        return ""
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


def stack_outputs(session: Any, stack_name: str) -> dict[str, str]:
    """``{OutputKey: OutputValue}`` of a deployed stack."""
    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        raise VerifyError(
            f"cannot read stack {stack_name} in {session.region_name}: {message}"
            " (deployed with another --stack-prefix or --region?)"
        ) from None
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


@dataclass(frozen=True)
class Deployed:
    """How to reach a deployed gateway as one app client, and what that client may see."""

    config: SmokeConfig
    read_only: bool = False  # a read team's client: only read-only tools may be listed


def deployed_config(
    stack_prefix: str,
    region: str | None,
    client_name: str = "default",
    session: Any = None,
    team: str | None = None,
) -> Deployed:
    """The smoke-test configuration of a deployed app, from its stack outputs and Cognito."""
    try:
        session = session or aws_session(region)
        return _deployed_config(session, stack_prefix, client_name, team)
    except BotoCoreError as exc:  # no credentials, no network, expired token...
        raise VerifyError(f"AWS call failed: {exc}") from None


def aws_session(region: str | None) -> Any:
    """A boto3 session in ``region``, else AWS_REGION (which botocore itself does not read),
    else what botocore finds; raises ProfileNotFound (a BotoCoreError) for a bad AWS_PROFILE."""
    import boto3

    return boto3.Session(region_name=region or os.environ.get("AWS_REGION") or None)


def _deployed_config(
    session: Any, stack_prefix: str, client_name: str, team: str | None
) -> Deployed:
    if not session.region_name:
        raise VerifyError("no AWS region: pass --region or set AWS_REGION")
    outputs: dict[str, str] = {}
    for part in ("Cognito", "Gateway"):  # Gateway last: its values win where both have one
        outputs.update(stack_outputs(session, f"{stack_prefix}-{part}"))
    stacks = f"stacks {stack_prefix}-Cognito / {stack_prefix}-Gateway"
    client_key = CLIENT_ID_OUTPUT + client_suffix(client_name)
    needed = [GATEWAY_URL_OUTPUT, TOKEN_URL_OUTPUT, USER_POOL_OUTPUT]
    if not team:
        needed += [SCOPE_OUTPUT, client_key]
    missing = [key for key in needed if not outputs.get(key)]
    if missing:
        raise VerifyError(
            f"{stacks} have no output "
            + ", ".join(missing)
            + (f" (is there an app client named {client_name!r}?)" if client_key in missing else "")
        )
    if team:
        client_id, scope, read_only = _team_client(outputs, team, stacks)
    else:
        client_id, scope, read_only = outputs[client_key], outputs[SCOPE_OUTPUT], False
    pool = outputs[USER_POOL_OUTPUT]
    config = SmokeConfig(
        url=outputs[GATEWAY_URL_OUTPUT],
        target_name=outputs.get(TARGET_NAME_OUTPUT) or None,
        token_url=outputs[TOKEN_URL_OUTPUT],
        client_id=client_id,
        client_secret=_client_secret(session, pool, client_id),
        scope=scope,
    )
    return Deployed(config, read_only)


def _team_client(outputs: dict[str, str], team: str, stacks: str) -> tuple[str, str, bool]:
    """(client id, scope, read only) of a team from the ``TeamClientsSummary`` output."""
    try:
        teams = json.loads(outputs.get(TEAM_CLIENTS_OUTPUT) or "{}")
    except ValueError:
        raise VerifyError(f"{stacks}: output {TEAM_CLIENTS_OUTPUT} is not JSON") from None
    entry = teams.get(team)
    if not isinstance(entry, dict) or not entry.get("clientId") or not entry.get("scope"):
        known = ", ".join(sorted(teams)) or "none"
        raise VerifyError(f"{stacks} have no team {team!r} (teams deployed: {known})")
    return entry["clientId"], entry["scope"], entry.get("access") == "read"


def _client_secret(session: Any, pool: str, client_id: str) -> str:
    try:
        answer = session.client("cognito-idp").describe_user_pool_client(
            UserPoolId=pool, ClientId=client_id
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise VerifyError(
            f"cannot read the secret of app client {client_id} in user pool {pool}: "
            f"{error.get('Code')}: {error.get('Message')}"
        ) from None
    secret = answer["UserPoolClient"].get("ClientSecret")
    if not secret:
        raise VerifyError(f"app client {client_id} has no secret (not a confidential client)")
    return secret


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mcp_constructs.verify",
        description="Check that an MCP endpoint lists every expected tool (token + tools/list).",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--url", help="MCP endpoint of a local server, no auth (…/mcp)")
    where.add_argument(
        "--stack-prefix",
        help="prefix of the deployed stacks (default: cdk.json's stackPrefix, else LarkMcp)",
    )
    parser.add_argument("--region", help="AWS region of the stacks (default: your AWS config)")
    parser.add_argument(
        "--client", default="default", help="app client whose token to use (default: default)"
    )
    parser.add_argument(
        "--team",
        help="a team's app client (context `teams`); a read team expects read-only tools only",
    )
    parser.add_argument(
        "--expected",
        help="comma-separated tool names (default: every tool in the manifest)",
    )
    parser.add_argument(
        "--manifest", default=str(MANIFEST_PATH), help="tools manifest to read expected tools"
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="expect only the manifest's read-only tools, and fail on any other tool listed",
    )
    parser.add_argument(
        "--strict", action="store_true", help="fail when tools that are not expected are listed"
    )
    parser.add_argument(
        "--protocol-version",
        default=DEFAULT_PROTOCOL_VERSION,
        help=f"MCP-Protocol-Version header (default {DEFAULT_PROTOCOL_VERSION})",
    )
    call = parser.add_mutually_exclusive_group()
    call.add_argument(
        "--call",
        metavar="TOOL",
        help="read-only tool to call once the tools are listed (default: the first listed of "
        + ", ".join(DEFAULT_READ_TOOLS)
        + ")",
    )
    call.add_argument(
        "--no-call", action="store_true", help="only list the tools; make no call to Lark"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser.parse_args(argv)


@dataclass
class VerifyReport:
    """The smoke test's report plus the read call's outcome (None: not made)."""

    listing: SmokeReport
    read: ReadCheck | None = None

    @property
    def ok(self) -> bool:
        return self.listing.ok and (self.read is None or self.read.ok)

    def to_dict(self) -> dict[str, Any]:
        data = self.listing.to_dict()
        data["ok"] = self.ok
        data["read_call"] = self.read.to_dict() if self.read else None
        return data

    def render(self) -> str:
        text = self.listing.render()
        if self.read is None:
            return text
        if self.listing.ok and not self.read.ok:
            text = text.replace("PASS  ", "FAIL  ", 1)
        return text + f"\n  read call: {'ok' if self.read.ok else 'FAILED'}: {self.read.message}"


def fill_hint(args: argparse.Namespace) -> str:
    """Where the Lark app credentials go, for the read call's message."""
    if args.url:
        return (
            "Set LARK_APP_ID and LARK_APP_SECRET for the server (or LARK_SECRET_ARN), "
            "then restart it."
        )
    return (
        f"Fill it with the command in the FillLarkSecretCommand output of stack "
        f"{args.stack_prefix}-Runtime (docs/getting-started.md#4-fill-the-lark-secret), "
        "then run make verify again."
    )


def expected_tools(args: argparse.Namespace, read_only: bool) -> list[str]:
    if args.expected:
        return [name.strip() for name in args.expected.split(",") if name.strip()]
    manifest = Path(args.manifest)
    if not manifest.exists():
        raise VerifyError(
            f"{manifest} does not exist; pass the expected tools with --expected instead"
        )
    return tool_names(manifest, read_only=read_only)


def build_config(args: argparse.Namespace, session: Any = None) -> SmokeConfig:
    if args.url:
        deployed = Deployed(SmokeConfig(url=args.url))
    else:
        args.stack_prefix = args.stack_prefix or configured_stack_prefix()
        deployed = deployed_config(
            args.stack_prefix, args.region, args.client, session, team=args.team
        )
    read_only = args.read_only or deployed.read_only
    return replace(
        deployed.config,
        expected_tools=expected_tools(args, read_only),
        protocol_version=args.protocol_version,
        allow_extra=not (args.strict or read_only),
    )


def emit(report: Report, as_json: bool, out: Any = None) -> None:
    out = out or sys.stdout
    if as_json:
        json.dump(report.to_dict(), out, indent=2)
        out.write("\n")
    else:
        out.write(report.render() + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = build_config(args)
    except (VerifyError, ManifestError) as exc:
        print(f"verify: {exc}", file=sys.stderr)
        return 2
    report = VerifyReport(run_smoke(config))
    if report.listing.ok and not args.no_call:
        report.read = run_read_check(config, report.listing.tools, args.call, fill_hint(args))
    emit(report, args.json)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
