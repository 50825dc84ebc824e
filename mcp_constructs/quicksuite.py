"""Print what Amazon Quick Suite's MCP integration form asks for, from a deployed stack.

Quick Suite -> Integrations -> Add -> Model Context Protocol asks, in this order: Name,
Description, MCP server endpoint; then, under Service authentication (service-to-service OAuth,
the client-credentials grant), Client ID, Client secret and Token URL. This command prints those
fields in that order for the default client or for one team's client (``--team NAME``), plus the
scope Cognito grants that client (the form does not ask for it; the token carries it anyway) and
the client's rate limit at the gateway (requests per minute; context ``rateLimit``).

The client secret is read from Cognito only with ``--show-secret``; otherwise the command prints
the AWS CLI command that reads it, so the secret stays out of terminals and logs by default.

    python -m mcp_constructs.quicksuite                  # default client (every tool)
    python -m mcp_constructs.quicksuite --team support   # a team's client
    python -m mcp_constructs.quicksuite --team support --show-secret --json
    python -m mcp_constructs.quicksuite --user-auth      # "Lark as me" (context userAuth: true)

``--user-auth`` prints the *User authentication* form of the sign-in integration instead (MCP
endpoint of the user gateway, Client ID ``quicksuite``, Client secret, Token URL, Authorization
URL), read from the ``<prefix>-UserGateway`` stack; its secret lives in Secrets Manager and is
printed only with ``--show-secret`` (docs/user-auth.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from mcp_constructs.rate_limit import RATE_LIMITS_OUTPUT
from mcp_constructs.teams import TEAM_CLIENTS_OUTPUT, secret_command

#: Stacks are named ``<stackPrefix>-Cognito`` and ``<stackPrefix>-Gateway`` (stacks/config.py);
#: the prefix comes from ``--stack-prefix``, else cdk.json's context, else this default.
DEFAULT_STACK_PREFIX = "LarkMcp"
STACK_PARTS = ("Cognito", "Gateway")

#: Output keys read from those stacks (the gateway stack repeats the Cognito ones).
OUT_GATEWAY_URL = "McpEndpointUrl"
OUT_TOKEN_URL = "TokenUrl"
OUT_CLIENT_ID = "ClientId"
OUT_SCOPE = "Scope"
OUT_USER_POOL_ID = "UserPoolId"

# A stack in one of these states has no (usable) outputs yet / any more.
_NOT_YET = {
    "CREATE_IN_PROGRESS",
    "REVIEW_IN_PROGRESS",
    "ROLLBACK_IN_PROGRESS",
    "DELETE_IN_PROGRESS",
}
_FAILED = {"CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"}

AUTH_TYPE = "Service authentication (service-to-service OAuth)"
#: The sign-in integration (context userAuth): one stack carries every field of its form.
USER_STACK_PART = "UserGateway"
USER_AUTH_TYPE = "User authentication (OAuth authorization code)"
OUT_USER_GATEWAY_URL = "UserMcpEndpointUrl"
OUT_USER_CLIENT_ID = "UserClientId"
OUT_USER_TOKEN_URL = "UserTokenUrl"
OUT_USER_AUTHORIZATION_URL = "UserAuthorizationUrl"
OUT_USER_SECRET_ARN = "UserClientSecretArn"
OUT_LARK_REDIRECT_URL = "LarkRedirectUrl"
#: The two integrations' names, as every page and error text calls them.
BOT_NAME = "Lark as the team bot"
USER_NAME = "Lark as me"


class QuickSuiteError(Exception):
    """Something a person must fix (deploy the stack, pick a known team, set a region)."""


@dataclass(frozen=True)
class Field:
    """One line of the form: its label in Quick Suite and the value to paste."""

    label: str
    value: str
    key: str


def stack_outputs(cfn: Any, stack_names: Sequence[str]) -> dict[str, str]:
    """Merge the outputs of ``stack_names`` (``describe_stacks``); say which stack is missing."""
    outputs: dict[str, str] = {}
    region = cfn.meta.region_name
    for name in stack_names:
        try:
            stacks = cfn.describe_stacks(StackName=name)["Stacks"]
        except ClientError as exc:
            message = exc.response.get("Error", {}).get("Message", str(exc))
            if "does not exist" in message:
                raise QuickSuiteError(
                    f"stack {name} is not deployed in {region}. Run `make deploy` first, or point "
                    "at the right account/region (AWS_PROFILE, AWS_REGION or --region) or stack "
                    "prefix (--stack-prefix)."
                ) from None
            raise QuickSuiteError(f"could not read stack {name} in {region}: {message}") from None
        status = stacks[0].get("StackStatus", "")
        if status in _NOT_YET:
            raise QuickSuiteError(f"stack {name} is {status}; wait for the deployment to finish")
        if status in _FAILED:
            raise QuickSuiteError(
                f"stack {name} is {status}: the last deployment failed. See its events in the "
                "CloudFormation console, fix the cause and run `make deploy` again."
            )
        for output in stacks[0].get("Outputs", []):
            outputs[output["OutputKey"]] = output["OutputValue"]
    return outputs


def _require(outputs: Mapping[str, str], key: str, stacks: Sequence[str]) -> str:
    value = outputs.get(key)
    if not value:
        raise QuickSuiteError(
            f"output {key} not found in stack(s) {', '.join(stacks)}; the stacks may predate this "
            "command: run `make deploy` to update them"
        )
    return value


def team_clients(outputs: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The ``TeamClientsSummary`` output as a dict (empty when no team is configured)."""
    raw = outputs.get(TEAM_CLIENTS_OUTPUT)
    return json.loads(raw) if raw else {}


def rate_limit(outputs: Mapping[str, str], team: str | None) -> int | None:
    """Requests per minute the gateway allows this client (``RateLimits`` output), if known."""
    try:
        limits = json.loads(outputs.get(RATE_LIMITS_OUTPUT) or "{}")
    except ValueError:
        return None
    value = limits.get("default") if team is None else (limits.get("teams") or {}).get(team)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def integration_fields(
    outputs: Mapping[str, str],
    *,
    team: str | None,
    stacks: Sequence[str],
    region: str | None = None,
    secret: str | None = None,
) -> list[Field]:
    """The form's fields in the form's order, for the default client or ``team``'s client."""
    user_pool_id = _require(outputs, OUT_USER_POOL_ID, stacks)
    if team is None:
        client_id = _require(outputs, OUT_CLIENT_ID, stacks)
        scope = _require(outputs, OUT_SCOPE, stacks)
        name = BOT_NAME
        description = "Lark/Feishu tools acting as the app's bot: messages, docs, calendars"
    else:
        teams = team_clients(outputs)
        if team not in teams:
            known = ", ".join(sorted(teams)) or "none are configured"
            raise QuickSuiteError(
                f'team "{team}" is not deployed (teams: {known}). Add it to the "teams" context '
                "in cdk.json (or -c teams='[...]') and run `make deploy`."
            )
        client_id, scope = teams[team]["clientId"], teams[team]["scope"]
        access = teams[team]["access"]
        name = f"{BOT_NAME} ({team})"
        tools = "read-only tools" if access == "read" else "every tool"
        description = f"Lark/Feishu tools for team {team} ({tools})"
    per_minute = rate_limit(outputs, team)
    limit = (
        []
        if per_minute is None
        else [Field("Rate limit", f"{per_minute} requests per minute at the gateway", "rate_limit")]
    )
    return [
        Field("Name", name, "name"),
        Field("Description", description, "description"),
        Field("MCP server endpoint", _require(outputs, OUT_GATEWAY_URL, stacks), "endpoint"),
        Field("Authentication", AUTH_TYPE, "authentication"),
        Field("Client ID", client_id, "client_id"),
        Field(
            "Client secret",
            secret if secret is not None else secret_command(user_pool_id, client_id, region),
            "client_secret" if secret is not None else "client_secret_command",
        ),
        Field("Token URL", _require(outputs, OUT_TOKEN_URL, stacks), "token_url"),
        Field("Scope", scope, "scope"),
        *limit,
    ]


def user_auth_fields(
    outputs: Mapping[str, str],
    *,
    stacks: Sequence[str],
    region: str | None = None,
    secret: str | None = None,
) -> list[Field]:
    """The *User authentication* form of the sign-in integration, in the form's order."""
    arn = _require(outputs, OUT_USER_SECRET_ARN, stacks)
    region_arg = f" --region {region}" if region else ""
    command = (
        f"aws secretsmanager get-secret-value --secret-id {arn}{region_arg} "
        "--query SecretString --output text  # the client_secret field"
    )
    fields = [
        Field("Name", USER_NAME, "name"),
        Field("Description", "Lark/Feishu tools acting as the signed-in person", "description"),
        Field("MCP server endpoint", _require(outputs, OUT_USER_GATEWAY_URL, stacks), "endpoint"),
        Field("Authentication", USER_AUTH_TYPE, "authentication"),
        Field("Client ID", _require(outputs, OUT_USER_CLIENT_ID, stacks), "client_id"),
        Field(
            "Client secret",
            secret if secret is not None else command,
            "client_secret" if secret is not None else "client_secret_command",
        ),
        Field("Token URL", _require(outputs, OUT_USER_TOKEN_URL, stacks), "token_url"),
        Field(
            "Authorization URL",
            _require(outputs, OUT_USER_AUTHORIZATION_URL, stacks),
            "authorization_url",
        ),
    ]
    if outputs.get(OUT_LARK_REDIRECT_URL):
        fields.append(
            Field("Lark app redirect URL", outputs[OUT_LARK_REDIRECT_URL], "lark_redirect_url")
        )
    return fields


def read_user_client_secret(secrets: Any, secret_arn: str) -> str:
    """The quicksuite client's secret from Secrets Manager (``{"client_secret": ...}``)."""
    try:
        raw = secrets.get_secret_value(SecretId=secret_arn)["SecretString"]
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        raise QuickSuiteError(f"could not read secret {secret_arn}: {message}") from None
    try:
        secret = json.loads(raw)["client_secret"]
    except (ValueError, KeyError, TypeError):
        secret = None
    if not isinstance(secret, str) or not secret:
        raise QuickSuiteError(
            f"secret {secret_arn} holds no client_secret; redeploy the UserAuth stack"
        )
    return secret


def read_secret(cognito: Any, user_pool_id: str, client_id: str) -> str:
    """The client's secret, straight from Cognito (``describe_user_pool_client``)."""
    try:
        client = cognito.describe_user_pool_client(UserPoolId=user_pool_id, ClientId=client_id)
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        raise QuickSuiteError(
            f"could not read the secret of client {client_id}: {message}"
        ) from None
    secret = client["UserPoolClient"].get("ClientSecret")
    if not secret:
        raise QuickSuiteError(f"client {client_id} has no secret; it cannot use client credentials")
    return secret


def render(fields: Sequence[Field], *, as_json: bool, make_command: str = "make quicksuite") -> str:
    """Text for a person (label: value, in form order) or JSON (keys in the same order);
    ``make_command`` is what the text suggests re-running with ``SHOW_SECRET=1``."""
    if as_json:
        return json.dumps({f.key: f.value for f in fields}, indent=2)
    width = max(len(f.label) for f in fields)
    lines = [f"{f.label + ':':<{width + 1}} {f.value}" for f in fields]
    if not any(f.key == "client_secret" for f in fields):
        lines.append("")
        lines.append(
            "(Client secret: run the command above, or add --show-secret "
            f"({make_command} SHOW_SECRET=1) to print it.)"
        )
    return "\n".join(lines)


def run(
    *,
    team: str | None,
    show_secret: bool,
    as_json: bool,
    stacks: Sequence[str],
    cfn: Any,
    cognito: Any,
    user_auth: bool = False,
    secrets: Any = None,
) -> str:
    """Everything but argument parsing and client creation (tests pass stubbed clients)."""
    outputs = stack_outputs(cfn, stacks)
    region = cfn.meta.region_name
    if user_auth:
        secret = None
        if show_secret:
            secret = read_user_client_secret(secrets, outputs[OUT_USER_SECRET_ARN])
        fields = user_auth_fields(outputs, stacks=stacks, region=region, secret=secret)
        return render(fields, as_json=as_json, make_command="make quicksuite USER_AUTH=1")
    fields = integration_fields(outputs, team=team, stacks=stacks, region=region)
    if show_secret:
        client_id = next(f.value for f in fields if f.key == "client_id")
        secret = read_secret(cognito, outputs[OUT_USER_POOL_ID], client_id)
        fields = integration_fields(outputs, team=team, stacks=stacks, region=region, secret=secret)
    return render(fields, as_json=as_json)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mcp_constructs.quicksuite",
        description="Print Amazon Quick Suite's MCP integration fields for a deployed stack.",
    )
    parser.add_argument("--team", help="a team from the 'teams' context (default: full access)")
    parser.add_argument(
        "--show-secret",
        action="store_true",
        help="read the client secret from Cognito and print it",
    )
    parser.add_argument(
        "--user-auth",
        action="store_true",
        help="the sign-in integration (user gateway, context userAuth) instead of the bot's",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--region", help="AWS region of the stacks (default: AWS_REGION/profile)")
    parser.add_argument(
        "--stack-prefix",
        help="the app's stackPrefix (default: cdk.json context, else LarkMcp)",
    )
    return parser


def stack_names(
    prefix: str | None, cdk_json: Path = Path("cdk.json"), parts: Sequence[str] = STACK_PARTS
) -> list[str]:
    """``<prefix>-Cognito``, ``<prefix>-Gateway``; the prefix defaults to cdk.json's context."""
    if not prefix:
        try:
            context = json.loads(cdk_json.read_text(encoding="utf-8")).get("context", {})
            prefix = context.get("stackPrefix")
        except (OSError, ValueError):
            prefix = None
    return [f"{prefix or DEFAULT_STACK_PREFIX}-{part}" for part in parts]


def make_session(region: str | None) -> boto3.session.Session:
    """A session in ``region``, else AWS_REGION, else what botocore finds (AWS_DEFAULT_REGION,
    the profile): botocore itself does not read AWS_REGION, which most tools set."""
    return boto3.session.Session(region_name=region or os.environ.get("AWS_REGION") or None)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    if args.user_auth and args.team:
        print("quicksuite: --team and --user-auth exclude each other", file=sys.stderr)
        return 2
    parts = (USER_STACK_PART,) if args.user_auth else STACK_PARTS
    stacks = stack_names(args.stack_prefix, parts=parts)
    try:
        session = make_session(args.region)
        if not session.region_name:
            raise QuickSuiteError("no AWS region: set AWS_REGION (or AWS_PROFILE) or pass --region")
        print(
            run(
                team=args.team,
                show_secret=args.show_secret,
                as_json=args.json,
                stacks=stacks,
                cfn=session.client("cloudformation"),
                cognito=session.client("cognito-idp"),
                user_auth=args.user_auth,
                secrets=session.client("secretsmanager"),
            )
        )
    except QuickSuiteError as exc:
        print(f"quicksuite: {exc}", file=sys.stderr)
        return 1
    except NoCredentialsError:
        print(
            "quicksuite: no AWS credentials: set AWS_PROFILE or run `aws configure`",
            file=sys.stderr,
        )
        return 1
    except (NoRegionError, BotoCoreError) as exc:
        print(f"quicksuite: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
