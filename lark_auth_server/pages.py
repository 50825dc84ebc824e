"""The few HTML pages a person may see: why sign-in stopped, in plain words."""

from __future__ import annotations

from html import escape

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;
line-height:1.5;color:#1f2329}}h1{{font-size:1.4rem}}</style></head>
<body><h1>{title}</h1>{paragraphs}</body></html>
"""


def page(title: str, *paragraphs: str, link: tuple[str, str] | None = None) -> bytes:
    """A small self-contained page; every text is escaped (they may quote request values)."""
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    if link:
        body += f'<p><a href="{escape(link[0], quote=True)}">{escape(link[1])}</a></p>'
    return _PAGE.format(title=escape(title), paragraphs=body).encode()


def no_app_access(app_hint: str) -> bytes:
    return page(
        "Your Feishu account cannot use this app",
        "Feishu says your account does not have access to the app this sign-in is for, so you "
        "could not be signed in.",
        "Ask your Feishu administrator to make the app available to you (Feishu admin console: "
        f"Workplace > App management > {app_hint} > Availability), then connect again.",
    )


def consent_denied(back: str | None) -> bytes:
    return page(
        "Sign-in cancelled",
        "You did not allow the app to act for you in Feishu, so you were not signed in. "
        "Nothing was stored.",
        "To use the tools as yourself, connect again and choose Authorize.",
        link=(back, "Back to the app") if back else None,
    )


def expired_login() -> bytes:
    return page(
        "This sign-in link has expired",
        "It was already used, or more than 10 minutes passed since it was opened.",
        "Go back to the app and connect again.",
    )


def other_browser() -> bytes:
    return page(
        "This sign-in cannot be finished here",
        "It was started in another browser (or another browser profile), or more than 10 "
        "minutes ago, or it was already used. For your safety a sign-in can only be finished "
        "in the browser that started it, so nothing was sent to the app.",
        "Go back to the app and connect again, in this browser.",
    )


def bad_request(description: str) -> bytes:
    return page(
        "This sign-in request cannot be accepted",
        description,
        "The app that sent you here is misconfigured (its client id or redirect URL is not "
        "registered with this server). Tell its administrator; nothing was sent back to it.",
    )


def lark_failed(description: str) -> bytes:
    return page(
        "Feishu did not complete the sign-in",
        description,
        "Try connecting again in a minute. If it keeps failing, tell the administrator.",
    )
