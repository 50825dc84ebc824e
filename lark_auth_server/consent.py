"""Our own consent page for self-registered clients, before the person is sent to Feishu.

Anyone can register a client, so a link to `/authorize` may come from someone other than the
person who opens it (phishing: "click here to connect Lark"). Feishu's consent page names only
our Lark app, never the client that will receive the person's access. So for a self-registered
client `/authorize` first shows this page: the client's name (as it registered it, which it
chose itself), where the browser will be sent back to (the redirect host: the one thing it
cannot fake), and what it may do; Allow continues to Feishu, Deny goes back with
`access_denied`. The pre-registered clients (`AUTH_CLIENTS`: Quick Suite) skip it.

The form is bound to the browser that opened the page: the pending authorize request is sealed
in a cookie of that browser (as the Feishu leg's, `signin_cookie.py`, under its own key and
name), and the form carries the random id that names the cookie. A POST from another browser
(login CSRF: an attacker's own consent id), from another site (SameSite=Lax keeps the cookie
out of cross-site POSTs) or after 10 minutes finds no cookie and gets an error page; an id is
accepted once (a `consent#` record).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from html import escape
from urllib.parse import parse_qs

from lark_user_store import Records

from .config import Client
from .oauth import digest
from .redirects import shown_host
from .signin_cookie import SignInCookies

CONSENT_TTL = 600  # the page may sit open 10 minutes
_PREFIX = "lark_consent_"


class ConsentCookies(SignInCookies):
    """Sealed like the sign-in cookie, under another key (one cannot be opened as the other)
    and another name."""

    def __init__(self, key: bytes) -> None:
        super().__init__(hashlib.sha256(b"lark-auth-server consent cookie\0" + key).digest())

    @staticmethod
    def name(state: str, issuer: str) -> str:
        suffix = hashlib.sha256(state.encode()).hexdigest()[:16]
        return ("" if issuer.startswith("http://") else "__Host-") + _PREFIX + suffix


def needs_consent(client: Client) -> bool:
    return client.registered


class Consent:
    def __init__(self, key: bytes, records: Records, lark_scopes: tuple[str, ...]) -> None:
        self.cookies = ConsentCookies(key)
        self.records = records
        self.lark_scopes = lark_scopes

    def ask(self, client: Client, pending: dict[str, str], issuer: str) -> tuple[bytes, str]:
        """(the page, its `Set-Cookie`) for `client`'s authorize request `pending`."""
        consent_id = secrets.token_urlsafe(32)
        cookie = self.cookies.seal(consent_id, pending, issuer, CONSENT_TTL)
        return page(client, pending["redirect_uri"], consent_id, issuer, self.lark_scopes), cookie

    def decide(self, form: bytes, cookie_header: str, issuer: str) -> tuple[str, dict] | None:
        """("allow" or "deny", the pending authorize request) when this browser holds the
        consent it posts, seen for the first time; None otherwise."""
        try:
            fields = {k: v[0] for k, v in parse_qs(form.decode("utf-8")).items()}
        except UnicodeDecodeError:
            return None
        consent_id = fields.get("consent", "")
        decision = fields.get("decision", "")
        if not consent_id or len(consent_id) > 100 or decision not in ("allow", "deny"):
            return None
        pending = self.cookies.open(consent_id, cookie_header, issuer)
        if pending is None:
            return None
        expires = int(pending.pop("exp", time.time() + CONSENT_TTL))
        if self.records.create("consent#" + digest(consent_id), {}, expires_at=expires) is None:
            return None  # this form was already sent once
        return decision, pending

    def clear(self, consent_id: str, issuer: str) -> str:
        return self.cookies.clear(consent_id, issuer)


def what_it_may_do(lark_scopes: tuple[str, ...]) -> list[str]:
    shown = [s for s in lark_scopes if s != "offline_access"]
    items = [
        "Use the Lark tools as you: read and send messages, and use your calendar, documents "
        "and contacts, as far as the permissions below and your own Lark access allow.",
        "Keep access until you disconnect it (it receives a refresh token).",
    ]
    if shown:
        items.append("Lark permissions asked on the next page: " + ", ".join(shown) + ".")
    return items


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Allow {name} to use Lark as you?</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;
line-height:1.5;color:#1f2329}}h1{{font-size:1.4rem}}.where{{font-weight:600}}
.warn{{background:#fff7e6;border-left:4px solid #f5a623;padding:.5rem 1rem}}
button{{font-size:1rem;padding:.5rem 1.5rem;margin-right:1rem}}</style></head>
<body><h1>Allow <span id="client-name">{name}</span> to use Lark as you?</h1>
<p>An app that calls itself <strong>{name}</strong> asks to connect to your Feishu/Lark account
through this company's Lark MCP server.</p>
<p>After you sign in, you will be sent back to:
<span class="where" id="redirect-host">{host}</span></p>
<p>It will be able to:</p><ul id="abilities">{abilities}</ul>
<p class="warn">The name is chosen by the app itself. Continue only if you started connecting
this app yourself just now. If someone sent you this link, choose Deny.</p>
<form method="post" action="{action}">
<input type="hidden" name="consent" value="{consent_id}">
<button type="submit" name="decision" value="allow" id="allow">Allow</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>
<p><small>App id: {client_id}</small></p></body></html>
"""


def page(
    client: Client, redirect_uri: str, consent_id: str, issuer: str, lark_scopes: tuple[str, ...]
) -> bytes:
    name = client.name or "An app without a name"
    abilities = "".join(f"<li>{escape(item)}</li>" for item in what_it_may_do(lark_scopes))
    return _PAGE.format(
        name=escape(name),
        host=escape(shown_host(redirect_uri)),
        abilities=abilities,
        action=escape(f"{issuer}/consent", quote=True),
        consent_id=escape(consent_id, quote=True),
        client_id=escape(client.client_id),
    ).encode()


def expired() -> tuple[str, ...]:
    """The title and paragraphs of the page a refused consent form gets."""
    return (
        "This consent page cannot be used",
        "It was opened in another browser, already answered, or more than 10 minutes ago.",
        "Go back to the app and connect again.",
    )
