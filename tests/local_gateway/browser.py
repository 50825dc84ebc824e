"""A tiny browser for sign-in flows: follows redirects, keeps cookies, and on an HTML page with a
form (our consent page) submits it as a person clicking its "Allow" button would (auto-consent;
without one, its first button). It stops before loading the client's redirect URI and returns
that URL.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2

MAX_STEPS = 12
REDIRECTS = (301, 302, 303, 307, 308)
AGREE = frozenset({"allow", "approve", "accept", "yes"})


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = "get"
        self.fields: dict[str, str] = {}
        self.submit: tuple[str, str] | None = None
        self._in_form = False
        self._agreed = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self._in_form = True
            self.action = a.get("action", "")
            self.method = a.get("method", "get").lower()
        elif self._in_form and tag in ("input", "button"):
            kind = a.get("type", "submit" if tag == "button" else "text").lower()
            if kind == "submit":
                # A person consenting clicks "Allow" (else the first button there is).
                agrees = a.get("value", "").lower() in AGREE
                if a.get("name") and (self.submit is None or agrees) and not self._agreed:
                    self.submit = (a["name"], a.get("value", ""))
                    self._agreed = agrees
            elif a.get("name"):
                self.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


class SignInBrowser:
    """One person's browser (its own cookie jar). `pages` lists the HTML pages it saw."""

    def __init__(self) -> None:
        self.client = httpx2.AsyncClient(timeout=15, follow_redirects=False)
        self.pages: list[str] = []

    async def aclose(self) -> None:
        await self.client.aclose()

    async def sign_in(self, url: str, redirect_uri: str) -> str:
        """Follow `url` until it points at `redirect_uri`; that URL (with code/state/iss)."""
        method, data = "GET", None
        for _ in range(MAX_STEPS):
            if url.startswith(redirect_uri):
                return url
            response = await self.client.request(method, url, data=data)
            method, data = "GET", None
            if response.status_code in REDIRECTS:
                url = urljoin(url, response.headers["location"])
                continue
            html = response.text
            self.pages.append(html)
            form = _Form()
            form.feed(html)
            if response.status_code != 200 or form.action is None:
                raise AssertionError(
                    f"stopped at {url} (HTTP {response.status_code}):\n{html[:800]}"
                )
            fields = dict(form.fields)
            if form.submit is not None:
                fields[form.submit[0]] = form.submit[1]
            url = urljoin(url, form.action or url)
            method, data = ("POST", fields) if form.method == "post" else ("GET", None)
            if method == "GET":
                url = str(httpx2.URL(url).copy_merge_params(fields))
        raise AssertionError(f"more than {MAX_STEPS} steps")


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
