"""Teams: one Cognito app client per team, each with the scope of its access level.

A team is configured in the CDK context key ``teams`` (``cdk.json`` or
``-c teams='[{"name": "support", "access": "read"}]'``). Each team gets its own client
credentials, so one team's client can be added, rotated or revoked without touching another's,
and its access level picks the OAuth scope the gateway's Cedar policies look for:

* ``read``  -> ``<resource server>/read``: lists and calls only the read-only tools;
* ``write`` -> ``<resource server>/invoke`` (the app's ``scope``): every tool, like the default
  client.

An optional ``rateLimit`` (requests per minute, 0 to 10,000,000) gives the team's client its
own limit at the gateway instead of the app's ``rateLimit`` (mcp_constructs/rate_limit.py).

``parse_teams`` is plain Python (stacks/config.py calls it before any construct exists), so a
mistake stops synth with a message naming the entry and the fix; ``add_team_clients`` then adds
the clients through the pool's own ``add_client`` (same settings as the default client).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_cognito as cognito

from mcp_constructs.rate_limit import RateLimitError, parse_rate

Access = Literal["read", "write"]

ACCESS_LEVELS = ("read", "write")
#: The resource-server scope a ``read`` team gets; ``write`` teams get the app's invoke scope.
READ_SCOPE_NAME = "read"

_NAME_RE = re.compile(r"^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$")
_RESERVED = frozenset({"default"})
#: Stack output (JSON: team name -> clientId, access, scope) that the Quick Suite CLI reads.
TEAM_CLIENTS_OUTPUT = "TeamClientsSummary"
_EXAMPLE = '[{"name": "support", "access": "read"}, {"name": "ops", "access": "write"}]'


class TeamsConfigError(ValueError):
    """The ``teams`` context value is malformed; the message says what to fix."""


@dataclass(frozen=True)
class Team:
    """One team's client: its name (DNS-ish, unique), access level and optional rate limit."""

    name: str
    access: Access
    #: Requests per minute at the gateway; None: the app's default (context ``rateLimit``).
    rate_limit: int | None = None

    def scope_name(self, invoke_scope_name: str = "invoke") -> str:
        """The resource-server scope this team's client gets (``read``, or the invoke scope)."""
        return READ_SCOPE_NAME if self.access == "read" else invoke_scope_name

    @property
    def id_suffix(self) -> str:
        """CamelCase name for construct ids and output keys (``ops-eu`` -> ``OpsEu``)."""
        return "".join(part.capitalize() for part in self.name.split("-"))


def parse_teams(raw: Any) -> tuple[Team, ...]:
    """Validate the ``teams`` context value and return the teams in the order given.

    ``raw`` is what ``node.try_get_context("teams")`` returns: ``None`` (no teams), a list from
    ``cdk.json``, or a JSON string from ``-c teams='[...]'``.
    """
    if raw is None or raw == "":
        return ()
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise TeamsConfigError(
                f'context "teams" is not valid JSON ({exc.msg} at column {exc.colno}); '
                f"expected a list like {_EXAMPLE}"
            ) from None
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise TeamsConfigError(
            f'context "teams" must be a list of objects like {_EXAMPLE}, got {type(raw).__name__}'
        )
    teams: list[Team] = []
    seen: dict[str, int] = {}
    seen_ids: dict[str, str] = {}
    for index, entry in enumerate(raw):
        where = f'context "teams"[{index}]'
        if not isinstance(entry, Mapping):
            raise TeamsConfigError(
                f'{where} must be an object like {{"name": "support", "access": "read"}}, '
                f"got {entry!r}"
            )
        unknown = sorted(set(entry) - {"name", "access", "rateLimit"})
        if unknown:
            raise TeamsConfigError(
                f"{where} has unknown key(s) {', '.join(unknown)}; only "
                '"name", "access" and "rateLimit" are allowed'
            )
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise TeamsConfigError(
                f"{where}: name {name!r} must be 1-32 lowercase letters, digits or hyphens, "
                'starting with a letter and not ending with a hyphen (e.g. "support", "ops-eu")'
            )
        if name in _RESERVED:
            raise TeamsConfigError(
                f'{where}: name "{name}" is reserved for the stack\'s own client; pick another'
            )
        if name in seen:
            raise TeamsConfigError(
                f'{where}: team "{name}" is already defined at index {seen[name]}; '
                "team names must be unique"
            )
        access = entry.get("access")
        if access not in ACCESS_LEVELS:
            raise TeamsConfigError(
                f'{where} ("{name}"): access {access!r} must be "read" (read-only tools) '
                'or "write" (every tool)'
            )
        rate_limit = None
        if entry.get("rateLimit") is not None:
            try:
                rate_limit = parse_rate(
                    entry["rateLimit"], f'{where} ("{name}"): rateLimit', minimum=0
                )
            except RateLimitError as err:
                raise TeamsConfigError(str(err)) from None
        team = Team(name=name, access=access, rate_limit=rate_limit)
        if team.id_suffix in seen_ids:
            raise TeamsConfigError(
                f'{where}: team "{name}" and team "{seen_ids[team.id_suffix]}" differ only in '
                "hyphens; rename one of them"
            )
        seen[name] = index
        seen_ids[team.id_suffix] = name
        teams.append(team)
    return tuple(teams)


def read_scope_needed(teams: Sequence[Team]) -> bool:
    """Whether any team has ``read`` access: only then do the pool and gateway get the read
    scope (a deployment without read teams keeps the single invoke scope)."""
    return any(team.access == "read" for team in teams)


def secret_command(user_pool_id: str, client_id: str, region: str | None = None) -> str:
    """The AWS CLI command that prints a client's secret (the secret never enters a template)."""
    region_arg = f" --region {region}" if region else ""
    return (
        f"aws cognito-idp describe-user-pool-client --user-pool-id {user_pool_id} "
        f"--client-id {client_id}{region_arg} --query UserPoolClient.ClientSecret --output text"
    )


class ClientFactory(Protocol):
    """What teams need from the pool's construct (``M2MAuth`` satisfies it)."""

    def add_client(
        self, name: str, scopes: Sequence[str] | None = None
    ) -> cognito.UserPoolClient: ...

    def full_scope(self, name: str) -> str: ...


def add_team_clients(
    stack: Stack,
    auth: ClientFactory,
    teams: Sequence[Team],
    *,
    invoke_scope_name: str = "invoke",
) -> dict[str, cognito.UserPoolClient]:
    """Give each team its own confidential ``client_credentials`` client with its access scope.

    Clients are added to the pool's construct like any other app client (same token lifetime,
    no sign-in flows), named after the team, so adding or removing one team creates or deletes
    only that team's client. Adds the ``TeamClientsSummary`` output (JSON: team name ->
    clientId, access, scope) that ``python -m mcp_constructs.quicksuite --team NAME`` reads.
    """
    clients: dict[str, cognito.UserPoolClient] = {}
    summary: dict[str, dict[str, str]] = {}
    for team in teams:
        scope_name = team.scope_name(invoke_scope_name)
        client = auth.add_client(team.name, scopes=[scope_name])
        clients[team.name] = client
        summary[team.name] = {
            "clientId": client.user_pool_client_id,
            "access": team.access,
            "scope": auth.full_scope(scope_name),
        }
    if summary:
        CfnOutput(
            stack,
            TEAM_CLIENTS_OUTPUT,
            value=stack.to_json_string(summary),
            description="Team app clients (JSON: name -> clientId, access, scope)",
        )
    return clients
