"""Everything the app reads from CDK context, parsed and checked in one place.

Each key is optional; the defaults below are what `cdk synth` uses when nothing is set.
Values come from `cdk.json` ("context") or `-c key=value` on the command line, so every
value may arrive as a string: lists accept JSON or comma-separated text, booleans accept
`true/false/1/0/yes/no`. A wrong value stops synth with a message naming the key, what was
wrong and an example of a value that works.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mcp_constructs.rate_limit import DEFAULT_REQUESTS_PER_MINUTE, RateLimitError, parse_rate
from mcp_constructs.teams import READ_SCOPE_NAME, Team, TeamsConfigError, parse_teams

LARK_DOMAINS: Mapping[str, str] = {
    "feishu": "https://open.feishu.cn",
    "lark": "https://open.larksuite.com",
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

#: Context keys this app understands, with their defaults (None: not set).
DEFAULTS: Mapping[str, Any] = {
    "stackPrefix": "LarkMcp",
    "account": None,
    "region": None,
    "larkDomain": "feishu",
    "resourceServerId": "lark-mcp",
    "scope": "invoke",
    "larkSecretName": None,
    "extraClients": [],
    "cognitoDomainPrefix": None,
    "larkTools": None,
    "larkReadOnly": None,
    "logLevel": "INFO",
    # Teams and Quick Suite (docs/teams-and-quicksuite.md): one app client per team, tool
    # permissions at the gateway.
    "teams": [],
    "policyMode": "ENFORCE",
    # Gateway requests per minute per app client without a team `rateLimit` of its own.
    "rateLimit": DEFAULT_REQUESTS_PER_MINUTE,
}

# At most 40 characters, so `<prefix>_server` (runtime) and `<prefix>-gateway` fit AgentCore's
# 48; no double or trailing hyphens, which gateway names refuse.
_STACK_PREFIX = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,39}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
# Cognito: resource server identifiers and scope names are printable ASCII without
# spaces, quotes or backslashes; the full scope `<id>/<scope>` must stay readable.
_RESOURCE_SERVER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,255}$")
_SCOPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$")
_CLIENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,47}$")
_DOMAIN_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_RESERVED_IN_DOMAIN = ("aws", "amazon", "cognito")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_TOOL_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class ConfigError(ValueError):
    """A context value the app cannot use; the message says which key and how to fix it."""


@dataclass(frozen=True)
class AppConfig:
    """The app's settings after parsing; see DEFAULTS and docs/configuration.md."""

    stack_prefix: str = "LarkMcp"
    account: str | None = None
    region: str | None = None
    lark_domain: str = LARK_DOMAINS["feishu"]
    resource_server_id: str = "lark-mcp"
    scope: str = "invoke"
    lark_secret_name: str | None = None
    extra_clients: tuple[str, ...] = ()
    cognito_domain_prefix: str | None = None
    lark_tools: tuple[str, ...] | None = None
    lark_read_only: bool | None = None
    log_level: str = "INFO"
    teams: tuple[Team, ...] = ()
    policy_mode: str = "ENFORCE"
    rate_limit: int = DEFAULT_REQUESTS_PER_MINUTE
    # Derived names, filled by __post_init__.
    stack_names: Mapping[str, str] = field(init=False)

    def __post_init__(self) -> None:
        names = {part: f"{self.stack_prefix}-{part}" for part in ("Cognito", "Runtime", "Gateway")}
        object.__setattr__(self, "stack_names", names)

    @property
    def full_scope(self) -> str:
        """The OAuth scope string clients ask for: `<resourceServerId>/<scope>`."""
        return f"{self.resource_server_id}/{self.scope}"

    @property
    def runtime_name(self) -> str:
        """AgentCore runtime names allow letters, digits and `_` only."""
        return re.sub(r"[^A-Za-z0-9]", "_", self.stack_prefix) + "_server"

    @property
    def gateway_name(self) -> str:
        return f"{self.stack_prefix.lower()}-gateway"

    @property
    def default_secret_name(self) -> str:
        return f"{self.stack_prefix}/lark-app-credentials"

    def runtime_environment(self) -> dict[str, str]:
        """Server settings that come from context (the secret ARN is added by the stack)."""
        env = {"LARK_DOMAIN": self.lark_domain, "LOG_LEVEL": self.log_level}
        if self.lark_tools is not None:
            env["LARK_TOOLS"] = ",".join(self.lark_tools)
        if self.lark_read_only is not None:
            env["LARK_READ_ONLY"] = "true" if self.lark_read_only else "false"
        return env


def load_config(get: Callable[[str], Any], environ: Mapping[str, str] | None = None) -> AppConfig:
    """Build the config from a context getter (`app.node.try_get_context`).

    `account`/`region` fall back to CDK_DEFAULT_ACCOUNT/CDK_DEFAULT_REGION (set by the CDK
    CLI when credentials are available); with neither, the stacks are environment-agnostic.
    """
    env = os.environ if environ is None else environ

    def value(key: str) -> Any:
        got = get(key)
        return DEFAULTS[key] if got is None or got == "" else got

    prefix = _text(value("stackPrefix"), "stackPrefix")
    _match(
        _STACK_PREFIX,
        prefix,
        "stackPrefix",
        "a letter, then up to 39 letters, digits or single hyphens (it starts every stack, "
        "runtime and gateway name)",
        "LarkMcp",
    )
    account = value("account") or env.get("CDK_DEFAULT_ACCOUNT") or None
    if account is not None:
        account = _text(account, "account")
        _match(_ACCOUNT, account, "account", "a 12-digit AWS account id", "123456789012")
    region = value("region") or env.get("CDK_DEFAULT_REGION") or None
    if region is not None:
        region = _text(region, "region")
        _match(_REGION, region, "region", "an AWS region name", "us-east-1")

    resource_server_id = _text(value("resourceServerId"), "resourceServerId")
    _match(
        _RESOURCE_SERVER_ID,
        resource_server_id,
        "resourceServerId",
        "letters, digits and . _ : / - (no spaces)",
        "lark-mcp",
    )
    scope = _text(value("scope"), "scope")
    _match(_SCOPE, scope, "scope", "letters, digits and . _ - (no spaces or slashes)", "invoke")

    secret_name = value("larkSecretName")
    if secret_name is not None:
        secret_name = _text(secret_name, "larkSecretName")
        _match(
            _SECRET_NAME,
            secret_name,
            "larkSecretName",
            "the name of an existing Secrets Manager secret (not its ARN)",
            "lark/app-credentials",
        )

    return AppConfig(
        stack_prefix=prefix,
        account=account,
        region=region,
        lark_domain=_lark_domain(value("larkDomain")),
        resource_server_id=resource_server_id,
        scope=scope,
        lark_secret_name=secret_name,
        extra_clients=_extra_clients(value("extraClients")),
        cognito_domain_prefix=_domain_prefix(value("cognitoDomainPrefix")),
        lark_tools=_lark_tools(value("larkTools")),
        lark_read_only=_bool_or_none(value("larkReadOnly"), "larkReadOnly"),
        log_level=_log_level(value("logLevel")),
        teams=_teams(value("teams"), scope, _extra_clients(value("extraClients"))),
        policy_mode=_policy_mode(value("policyMode")),
        rate_limit=_rate_limit(value("rateLimit")),
    )


def _rate_limit(raw: Any) -> int:
    """`rateLimit`: at least 1, because the deploy's smoke test calls with the default client."""
    try:
        return parse_rate(raw, "context 'rateLimit'", minimum=1)
    except RateLimitError as err:
        raise ConfigError(
            f"{err}; it applies to the default client, which the deploy's smoke test uses. "
            "Example: -c rateLimit=300"
        ) from None


def _text(raw: Any, key: str) -> str:
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise ConfigError(f"context '{key}' must be a string, got {type(raw).__name__}: {raw!r}")
    return str(raw).strip()


def _match(pattern: re.Pattern[str], raw: str, key: str, rule: str, example: str) -> None:
    if not pattern.match(raw):
        raise ConfigError(
            f"context '{key}'={raw!r} is not valid: expected {rule}. Example: -c {key}={example}"
        )


def _list(raw: Any, key: str) -> list[str]:
    """A list from JSON (`["a","b"]`), comma-separated text (`a,b`) or a JSON list in cdk.json."""
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as err:
                raise ConfigError(
                    f"context '{key}' looks like JSON but does not parse ({err.msg}). "
                    f'Use a JSON list such as \'["team-a","team-b"]\' or plain text team-a,team-b'
                ) from err
        else:
            return [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ConfigError(
            f"context '{key}' must be a list of strings, got {raw!r}. "
            f'Example: -c {key}=team-a,team-b (or ["team-a","team-b"] in cdk.json)'
        )
    return [item.strip() for item in raw if item.strip()]


def _lark_domain(raw: Any) -> str:
    text = _text(raw, "larkDomain")
    if text.lower() in LARK_DOMAINS:
        return LARK_DOMAINS[text.lower()]
    if re.match(r"^https://[A-Za-z0-9.-]+(:\d+)?$", text.rstrip("/")):
        return text.rstrip("/")
    raise ConfigError(
        f"context 'larkDomain'={text!r} is not valid: use 'feishu' (https://open.feishu.cn), "
        "'lark' (https://open.larksuite.com) or a full https:// origin without a path. "
        "Example: -c larkDomain=lark"
    )


def _extra_clients(raw: Any) -> tuple[str, ...]:
    names = _list(raw, "extraClients")
    for name in names:
        _match(
            _CLIENT_NAME,
            name,
            "extraClients",
            "names of a letter followed by up to 47 letters, digits or hyphens",
            "team-a,team-b",
        )
    lowered = [name.lower() for name in names]
    duplicates = sorted({name for name in lowered if lowered.count(name) > 1})
    if "default" in lowered:
        raise ConfigError(
            "context 'extraClients' must not contain 'default': that client always exists. "
            "Pick another name, e.g. -c extraClients=team-a"
        )
    if duplicates:
        raise ConfigError(
            f"context 'extraClients' lists {', '.join(duplicates)} more than once "
            "(names are case-insensitive); each name becomes one app client"
        )
    return tuple(names)


def _domain_prefix(raw: Any) -> str | None:
    if raw is None:
        return None
    text = _text(raw, "cognitoDomainPrefix")
    _match(
        _DOMAIN_PREFIX,
        text,
        "cognitoDomainPrefix",
        "1-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen",
        "acme-lark-mcp",
    )
    reserved = [word for word in _RESERVED_IN_DOMAIN if word in text]
    if reserved:
        raise ConfigError(
            f"context 'cognitoDomainPrefix'={text!r} contains {reserved[0]!r}, which Cognito "
            "reserves. Choose a prefix without 'aws', 'amazon' or 'cognito'"
        )
    return text


def _lark_tools(raw: Any) -> tuple[str, ...] | None:
    if raw is None:
        return None
    names = _list(raw, "larkTools")
    bad = [name for name in names if not _TOOL_NAME.match(name)]
    if bad or not names:
        raise ConfigError(
            f"context 'larkTools' must name at least one tool in snake_case, got {raw!r}. "
            "Example: -c larkTools=send_message,list_chats"
        )
    return tuple(names)


def parse_bool(raw: Any, key: str, error: type[ConfigError] = ConfigError) -> bool:
    """A JSON boolean, or true/1/yes and false/0/no as `-c key=value` text; else ``error``."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise error(f"context '{key}'={raw!r} is not a boolean: use true or false")


def _bool_or_none(raw: Any, key: str) -> bool | None:
    return None if raw is None else parse_bool(raw, key)


def _log_level(raw: Any) -> str:
    text = _text(raw, "logLevel").upper()
    if text not in LOG_LEVELS:
        raise ConfigError(
            f"context 'logLevel'={raw!r} is not valid: use one of {', '.join(LOG_LEVELS)}"
        )
    return text


def _teams(raw: Any, scope: str, extra_clients: tuple[str, ...]) -> tuple[Team, ...]:
    """`teams`: one app client per team (see mcp_constructs/teams.py for the rules)."""
    try:
        teams = parse_teams(raw)
    except TeamsConfigError as err:
        raise ConfigError(str(err)) from None
    if scope == READ_SCOPE_NAME:
        raise ConfigError(
            f"context 'scope'={scope!r} is reserved for read-only teams; keep the default "
            "(-c scope=invoke) or pick another name"
        )
    taken = {name.lower() for name in extra_clients}
    for team in teams:
        if team.name in taken:
            raise ConfigError(
                f"context 'teams': team {team.name!r} has the name of an app client in "
                "'extraClients'; rename one of them (each name becomes one app client)"
            )
    return teams


def _policy_mode(raw: Any) -> str:
    text = _text(raw, "policyMode").upper()
    if text not in ("ENFORCE", "LOG_ONLY"):
        raise ConfigError(
            f"context 'policyMode'={raw!r} is not valid: use ENFORCE (default) or LOG_ONLY "
            "(the gateway logs each tool-permission decision but refuses nothing)"
        )
    return text
