"""Which redirect URIs a client may register, and how a requested one matches a registered one.

Anyone can register a client (RFC 7591), so the redirect URI is the only thing that says where
a person's authorization code goes. The policy:

- loopback (`http://127.0.0.1`, `http://localhost`, `http://[::1]`) is always allowed, and
  matches on ANY port at /authorize (RFC 8252 §7.3: native apps pick a free port at run time);
- `https` only to hosts an administrator allowed (context `userAuthRedirectAllow`, variable
  `AUTH_REDIRECT_ALLOW`), and private-use schemes (`vscode:`, `cursor:`) only when allowed;
- never a fragment, user info, whitespace, or a scheme a browser would run (`javascript:`...).

An allow list entry is a host (`claude.ai`, with a dot) or a scheme (`vscode`, or `cursor:`).
The word `defaults` stands for `DEFAULT_ALLOW`, so `defaults example.com` adds one host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_URI_LENGTH = 2000

#: Quick Suite's websites, whose `/sn/oauthcallback` is its fixed OAuth redirect, in every
#: region it runs in (docs.aws.amazon.com/quick/latest/userguide/regions.html).
QUICK_SUITE_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "af-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-5",
    "ca-central-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "sa-east-1",
)
QUICK_SUITE_HOSTS = (
    *(f"{region}.quicksight.aws.amazon.com" for region in QUICK_SUITE_REGIONS),
    "cn-north-1.quicksight.amazonaws.cn",
    "quicksight.us-gov-east-1.amazonaws.com",
    "quicksight.us-gov-west-1.amazonaws.com",
)
#: Quick Suite everywhere; Claude (web and desktop: claude.ai, claude.com); VS Code (its
#: https relays, vscode.dev and insiders.vscode.dev, and its scheme); Cursor's scheme.
#: Loopback needs no entry (Claude Code, the SDKs, mcp-remote, VS Code's local port).
DEFAULT_ALLOW = (
    *QUICK_SUITE_HOSTS,
    "claude.ai",
    "claude.com",
    "vscode.dev",
    "insiders.vscode.dev",
    "vscode",
    "cursor",
)

#: Schemes that are not an app's private-use scheme: a browser would run, fetch or show them.
FORBIDDEN_SCHEMES = frozenset(
    {"http", "https", "javascript", "data", "file", "vbscript", "about", "blob", "ftp", "ws", "wss"}
)
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})+$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{1,63}$")
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f\\<>\"'`{}|^]")


class PolicyError(ValueError):
    """An allow list entry is not a host or a scheme; the message names it."""


class RedirectRefused(ValueError):
    """A redirect URI breaks the policy; the message says which part and what is allowed."""


@dataclass(frozen=True)
class RedirectPolicy:
    hosts: frozenset[str]
    schemes: frozenset[str]

    @classmethod
    def parse(cls, text: str | None) -> RedirectPolicy:
        """From `AUTH_REDIRECT_ALLOW` (space or comma separated); unset or empty: defaults."""
        words = [w for w in re.split(r"[\s,]+", text or "") if w]
        if not words:
            words = ["defaults"]
        hosts: set[str] = set()
        schemes: set[str] = set()
        for word in words:
            for entry in DEFAULT_ALLOW if word == "defaults" else [word]:
                kind, value = classify(entry)
                (hosts if kind == "host" else schemes).add(value)
        return cls(frozenset(hosts), frozenset(schemes))

    def check(self, uri: object) -> str:
        """`uri` if a client may register it, else `RedirectRefused` saying why."""
        if not isinstance(uri, str) or not uri:
            raise RedirectRefused("each redirect URI must be a non-empty string")
        shown = uri[:80]
        if len(uri) > MAX_URI_LENGTH:
            raise RedirectRefused(f"redirect URI {shown}... is longer than {MAX_URI_LENGTH}")
        if _UNSAFE_CHARS.search(uri):
            raise RedirectRefused(f"redirect URI {shown!r} has a space, quote or control character")
        try:
            parts = urlsplit(uri)
            port = parts.port
        except ValueError:
            raise RedirectRefused(f"redirect URI {shown!r} is not a valid URL") from None
        scheme = parts.scheme.lower()
        if "#" in uri:
            raise RedirectRefused(f"redirect URI {shown!r} must not have a fragment (#)")
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            raise RedirectRefused(f"redirect URI {shown!r} must not carry user info (@)")
        if scheme == "http":
            if (parts.hostname or "") not in LOOPBACK_HOSTS:
                raise RedirectRefused(
                    f"redirect URI {shown!r}: plain http is allowed only to this computer "
                    "(127.0.0.1, localhost or [::1]); use https"
                )
            return uri
        if scheme == "https":
            host = (parts.hostname or "").rstrip(".")
            if not host or port == 0:
                raise RedirectRefused(f"redirect URI {shown!r} has no usable host")
            if host not in self.hosts:
                raise RedirectRefused(
                    f"redirect URI {shown!r}: the host {host} is not allowed for "
                    "self-registered apps; an administrator can add it (userAuthRedirectAllow)"
                )
            return uri
        if not scheme:
            raise RedirectRefused(f"redirect URI {shown!r} is not an absolute URL")
        if scheme in FORBIDDEN_SCHEMES or scheme not in self.schemes:
            raise RedirectRefused(
                f"redirect URI {shown!r}: the scheme {scheme}: is not allowed for "
                "self-registered apps; an administrator can add it (userAuthRedirectAllow)"
            )
        return uri

    def allows(self, uri: str) -> bool:
        try:
            self.check(uri)
        except RedirectRefused:
            return False
        return True


def classify(entry: str) -> tuple[str, str]:
    """("host", name) or ("scheme", name) for one allow list entry; `PolicyError` otherwise."""
    value = entry.strip().lower()
    if value.startswith("https://"):
        value = value.removeprefix("https://").rstrip("/")
    if "." in value and not value.endswith(":"):
        if not _HOST.match(value):
            raise PolicyError(
                f"{entry!r} is not a host name (e.g. claude.ai) or a scheme (e.g. vscode)"
            )
        return "host", value
    scheme = value.removesuffix(":").removesuffix("//").removesuffix(":")
    if not _SCHEME.match(scheme) or scheme in FORBIDDEN_SCHEMES:
        raise PolicyError(
            f"{entry!r} is not a private-use scheme an app can own (e.g. vscode, cursor); "
            "http, https, javascript, data and file cannot be allowed"
        )
    return "scheme", scheme


def is_loopback(uri: str) -> bool:
    try:
        parts = urlsplit(uri)
        return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS
    except ValueError:
        return False


def _without_port(uri: str) -> tuple[str, str, str, str] | None:
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return None
    return (parts.scheme, parts.hostname or "", parts.path or "/", parts.query)


def matches(registered: str, requested: str) -> bool:
    """Exact match, except that a loopback URI matches on any port (RFC 8252 §7.3)."""
    if requested == registered:
        return True
    if not (is_loopback(registered) and is_loopback(requested)):
        return False
    if "#" in requested or "@" in requested or _UNSAFE_CHARS.search(requested):
        return False
    a, b = _without_port(registered), _without_port(requested)
    return a is not None and a == b


def shown_host(uri: str) -> str:
    """Where a redirect URI sends the person, as the consent page names it."""
    parts = urlsplit(uri)
    if is_loopback(uri):
        return f"an app on your own computer ({parts.scheme}://{parts.netloc})"
    if parts.scheme == "https":
        return parts.hostname or uri
    return f"the {parts.scheme}: app ({parts.scheme}://{parts.netloc})"
