"""Context keys of "sign in with Feishu/Lark" (docs/user-auth.md), parsed and checked.

Off by default: without ``userAuth: true`` none of the other keys is read and the app builds
exactly the stacks it builds without this feature.

- ``userAuth`` (false): build the authorization server and the user gateway.
- ``larkUserScopes`` (none): Lark scopes asked of each person, space or comma separated; the
  server adds ``offline_access``.
- ``userAuthRedirectUris`` (none): more redirect URIs for the ``quicksuite`` client.
- ``quickSuiteRegion`` (the stack's region): region of Quick Suite (its fixed OAuth callback).
- ``userAuthConcurrency`` (0): reserved concurrency of the authorization server Lambda (0: none).
- ``userAuthRedirectAllow`` (the server's defaults): https hosts and app schemes that
  self-registered clients may redirect to; ``defaults`` stands for the server's default list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stacks.config import ConfigError, parse_bool

_SCOPE = re.compile(r"^[A-Za-z0-9:._-]+$")
_REDIRECT = re.compile(r"^https://[A-Za-z0-9.-]+(:\d+)?(/[^\s#]*)?$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
# As lark_auth_server.redirects.classify (the app does not import the server's package).
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_ALLOW_HOST = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})+$")
_ALLOW_SCHEME = re.compile(r"^[a-z][a-z0-9+-]{1,63}:?$")
_NOT_APP_SCHEMES = {"http", "https", "javascript", "data", "file", "vbscript", "about", "blob"}


@dataclass(frozen=True)
class UserAuthConfig:
    """Settings of the user sign-in stacks (see this module's docstring)."""

    lark_user_scopes: tuple[str, ...] = ()
    extra_redirect_uris: tuple[str, ...] = ()
    quick_suite_region: str | None = None
    concurrency: int = 0
    redirect_allow: tuple[str, ...] | None = None  # None: the server's default list


def load_user_auth_config(get: Callable[[str], Any]) -> UserAuthConfig | None:
    """None unless context ``userAuth`` is true; otherwise the parsed settings."""
    raw = get("userAuth")
    if raw is None or raw == "" or not parse_bool(raw, "userAuth"):
        return None
    return UserAuthConfig(
        lark_user_scopes=_scopes(get("larkUserScopes")),
        extra_redirect_uris=_redirects(get("userAuthRedirectUris")),
        quick_suite_region=_region(get("quickSuiteRegion")),
        concurrency=_concurrency(get("userAuthConcurrency")),
        redirect_allow=_redirect_allow(get("userAuthRedirectAllow")),
    )


def _words(raw: Any, key: str) -> list[str]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, str) and raw.strip().startswith("["):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as err:
            raise ConfigError(
                f"context '{key}' looks like JSON but does not parse ({err.msg})"
            ) from None
    if isinstance(raw, str):
        return [w for w in re.split(r"[\s,]+", raw.strip()) if w]
    if isinstance(raw, list) and all(isinstance(w, str) for w in raw):
        return [w.strip() for w in raw if w.strip()]
    raise ConfigError(f"context '{key}' must be a list of strings or text, got {raw!r}")


def _scopes(raw: Any) -> tuple[str, ...]:
    scopes = _words(raw, "larkUserScopes")
    bad = [s for s in scopes if not _SCOPE.match(s)]
    if bad:
        raise ConfigError(
            f"context 'larkUserScopes' has invalid Lark scopes {bad}: use the scope names of the "
            "Lark developer console, e.g. -c larkUserScopes='calendar:calendar:readonly "
            "docx:document:readonly'"
        )
    return tuple(dict.fromkeys(scopes))


def _redirects(raw: Any) -> tuple[str, ...]:
    uris = _words(raw, "userAuthRedirectUris")
    bad = [u for u in uris if not _REDIRECT.match(u)]
    if bad:
        raise ConfigError(
            f"context 'userAuthRedirectUris' has {bad}: each must be an https URL without a "
            "fragment, e.g. https://us-east-1.quicksight.aws.amazon.com/sn/oauthcallback"
        )
    return tuple(dict.fromkeys(uris))


def _region(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not _REGION.match(raw.strip()):
        raise ConfigError(
            f"context 'quickSuiteRegion'={raw!r} is not an AWS region: e.g. -c "
            "quickSuiteRegion=us-east-1"
        )
    return raw.strip()


def _concurrency(raw: Any) -> int:
    if raw is None or raw == "":
        return UserAuthConfig.concurrency
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = -1
    if value < 0 or value > 1000:
        raise ConfigError(
            f"context 'userAuthConcurrency'={raw!r} must be a whole number from 0 (no reserved "
            "concurrency) to 1000, e.g. -c userAuthConcurrency=5"
        )
    return value


def _redirect_allow(raw: Any) -> tuple[str, ...] | None:
    if raw is None or raw == "":
        return None
    words = [w.lower() for w in _words(raw, "userAuthRedirectAllow")]
    bad = []
    for word in words:
        # As the server: only an https:// entry may end in slashes.
        host = word.removeprefix("https://").rstrip("/") if word.startswith("https://") else word
        if word == "defaults" or ("." in host and _ALLOW_HOST.match(host)):
            continue
        if (
            "." not in word
            and _ALLOW_SCHEME.match(word)
            and word.rstrip(":") not in (_NOT_APP_SCHEMES)
        ):
            continue
        bad.append(word)
    if bad or not words:
        raise ConfigError(
            f"context 'userAuthRedirectAllow' has {bad or raw!r}: list https hosts (with a dot, "
            "e.g. claude.ai) and app schemes (e.g. vscode), or 'defaults' for the built-in list, "
            "e.g. -c userAuthRedirectAllow='defaults apps.example.com'"
        )
    return tuple(dict.fromkeys(words))
