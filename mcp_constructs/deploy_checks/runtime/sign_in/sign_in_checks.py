"""Prove the sign-in path without a signed-in person: discovery, keys, /authorize, refusals.

A real user token cannot be had at deploy time (it takes a person at Feishu's consent page),
but everything around it can be checked from outside, the way Quick Suite and the user
gateway will meet it:

1. both discovery documents (``/.well-known/openid-configuration`` and
   ``/.well-known/oauth-authorization-server``) answer JSON whose ``issuer`` is the issuer the
   runtime trusts (``LARK_USER_AUTH_ISSUER``); so does the discovery URL the user gateway's
   ``CUSTOM_JWT`` authorizer reads;
2. its ``jwks_uri`` publishes at least one RS256-usable RSA key with a ``kid``;
3. ``/authorize`` for the Quick Suite client, with Quick Suite's redirect URI and a PKCE S256
   challenge, redirects to the Feishu/Lark accounts authorize page with the Lark app id as
   ``client_id``, ``offline_access`` in ``scope`` and our ``/callback`` as ``redirect_uri``
   (an empty ``client_id`` means the Lark app secret was never filled);
4. dynamic client registration is offered (``registration_endpoint``, public clients with
   ``none``) and refuses a redirect URI outside the redirect policy (``invalid_redirect_uri``;
   a refused registration stores nothing);
5. the user gateway refuses (401/403) an MCP request without a token and one with a forged
   JWT (our ``kid`` and claims, a signature our key never made).

Standard library only: the same file runs in the deploy check's Lambda and on a laptop
(``python -m mcp_constructs.verify_sign_in``). Every failure is one sentence a person can act
on; failures that time may fix (connection errors, 5xx, throttling) are marked retryable.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any

DISCOVERY_PATHS = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
LARK_AUTHORIZE_PATH = "/open-apis/authen/v1/authorize"
#: Where Feishu (China) and Lark (international) host their sign-in page.
LARK_ACCOUNTS_ORIGINS = ("https://accounts.feishu.cn", "https://accounts.larksuite.com")
USER_AGENT = "lark-mcp-sign-in-check/1"
EXCERPT_CHARS = 200
PROTOCOL_VERSION = "2025-11-25"


@dataclass(frozen=True)
class SignInConfig:
    """What to check. ``gateway_url`` None skips the gateway step (an auth server alone)."""

    issuer: str  # what the runtime trusts (LARK_USER_AUTH_ISSUER) and tokens carry as `iss`
    redirect_uri: str  # Quick Suite's OAuth callback, registered for `client_id`
    client_id: str = "quicksuite"
    discovery_url: str | None = None  # the gateway authorizer's; default <issuer>/.well-known/...
    gateway_url: str | None = None
    accounts_origin: str | None = None  # None: Feishu's or Lark's accounts origin
    fill_secret_command: str | None = None  # how to fill the Lark app secret (for the message)
    restart_command: str | None = None  # how to make the server re-read its secrets
    timeout: float = 10.0
    # The deploy check sets this: on a first deploy the Lark secret is still the placeholder
    # (filling it is the operator's next step, docs/user-auth.md), so an empty app id is
    # reported as pending instead of failing the deploy. `make verify USER_AUTH=1` fails on it.
    unfilled_secret_is_pending: bool = False


@dataclass
class SignInReport:
    """The outcome: which checks passed, and the first that failed (with its sentence)."""

    ok: bool
    message: str
    issuer: str
    passed: list[str] = field(default_factory=list)
    latency_ms: dict[str, float] = field(default_factory=dict)
    failed_step: str | None = None
    retryable: bool = False
    pending: str | None = None  # what the operator still has to do (an unfilled Lark secret)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        lines = [f"{'PASS' if self.ok else 'FAIL'}  sign-in path of {self.issuer}"]
        lines += [f"  ok    {line}" for line in self.passed]
        if self.pending:
            lines.append(f"  TODO  {self.pending}")
        if not self.ok:
            lines.append(f"  FAIL  {self.message}")
        steps = ", ".join(f"{k} {v:.0f} ms" for k, v in self.latency_ms.items())
        if steps:
            lines.append(f"  latency: {steps}")
        return "\n".join(lines)


class CheckFailure(Exception):
    """A check failed; ``str(exc)`` is the sentence for people."""

    def __init__(self, message: str, *, step: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.step = step
        self.retryable = retryable


@dataclass
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # hand 3xx back as an answer: where it points is what we check


_OPENER = urllib.request.build_opener(_NoRedirect)


def _excerpt(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", errors="replace").split())
    return (text[:EXCERPT_CHARS] + "...") if len(text) > EXCERPT_CHARS else (text or "(empty)")


def _call(
    url: str,
    *,
    step: str,
    what: str,
    timeout: float,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> _Answer:
    """One request, no redirects followed; connection problems and 5xx are retryable failures."""
    request = urllib.request.Request(
        url,
        data=data,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        method="POST" if data is not None else "GET",
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            answer = _Answer(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read() if exc.fp is not None else b""
        answer = _Answer(exc.code, dict(exc.headers.items()) if exc.headers else {}, body)
    except urllib.error.URLError as exc:
        raise CheckFailure(
            f"{what} at {url} does not answer: {exc.reason}", step=step, retryable=True
        ) from None
    except TimeoutError:
        raise CheckFailure(
            f"{what} at {url} did not answer within {timeout:g} s", step=step, retryable=True
        ) from None
    except (http.client.HTTPException, OSError) as exc:
        raise CheckFailure(
            f"{what} at {url} does not answer: {type(exc).__name__}: {exc}",
            step=step,
            retryable=True,
        ) from None
    if answer.status >= 500 or answer.status == 429:
        hint = ""
        if b"misconfigured" in answer.body:
            hint = (
                " (the server cannot load its settings: its log group says why, e.g. a Lark"
                ' secret that is not JSON {"app_id", "app_secret"})'
            )
        raise CheckFailure(
            f"{what} at {url} answered {answer.status}: {_excerpt(answer.body)}{hint}",
            step=step,
            retryable=True,
        )
    return answer


def _json_object(answer: _Answer, url: str, what: str, step: str) -> dict[str, Any]:
    if answer.status != 200:
        raise CheckFailure(
            f"{what} at {url} answered {answer.status} instead of 200 JSON: "
            f"{_excerpt(answer.body)}",
            step=step,
        )
    try:
        document = json.loads(answer.body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise CheckFailure(
            f"{what} at {url} is not a JSON object: {_excerpt(answer.body)}", step=step
        )
    return document


# -- 1. discovery ----------------------------------------------------------------------------


def check_discovery(config: SignInConfig) -> dict[str, Any]:
    """Both well-known documents and the gateway's discovery URL name our issuer."""
    issuer = config.issuer.rstrip("/")
    well_known = [issuer + path for path in DISCOVERY_PATHS]
    gateway_url = config.discovery_url or well_known[0]
    # The gateway's first: its issuer is the one tokens are checked against.
    urls = [gateway_url, *(url for url in well_known if url != gateway_url)]
    documents = {}
    for url in urls:
        what = "discovery document"
        document = _json_object(
            _call(url, step="discovery", what=what, timeout=config.timeout),
            url,
            what,
            "discovery",
        )
        found = document.get("issuer")
        if found != config.issuer:
            raise CheckFailure(
                f"discovery document {url} names issuer {found!r}, but the runtime trusts"
                f" {config.issuer!r} (LARK_USER_AUTH_ISSUER) and the user gateway's authorizer"
                f" reads {gateway_url}: tokens would be refused. Set AUTH_ISSUER of the"
                " authorization server to the issuer URL, or deploy the stacks again together",
                step="discovery",
            )
        documents[url] = document
    document = documents[gateway_url]
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(key), str) or not document[key]:
            raise CheckFailure(f"discovery document {gateway_url} has no {key}", step="discovery")
    if "S256" not in (document.get("code_challenge_methods_supported") or []):
        raise CheckFailure(
            f"discovery document {gateway_url} does not list S256 in"
            " code_challenge_methods_supported: Quick Suite signs in with PKCE S256",
            step="discovery",
        )
    return document


# -- 2. keys ---------------------------------------------------------------------------------


def _usable(key: Any) -> bool:
    return (
        isinstance(key, dict)
        and key.get("kty") == "RSA"
        and isinstance(key.get("kid"), str)
        and bool(key["kid"])
        and bool(key.get("n"))
        and bool(key.get("e"))
        and key.get("alg", "RS256") == "RS256"
        and key.get("use", "sig") == "sig"
    )


def check_jwks(config: SignInConfig, jwks_uri: str) -> dict[str, Any]:
    """The first usable RS256 key of ``jwks_uri`` (the key the gateway will verify with)."""
    document = _json_object(
        _call(jwks_uri, step="jwks", what="jwks_uri", timeout=config.timeout),
        jwks_uri,
        "jwks_uri",
        "jwks",
    )
    keys = document.get("keys")
    usable = [k for k in keys if _usable(k)] if isinstance(keys, list) else []
    if not usable:
        seen = [
            {k: key.get(k) for k in ("kty", "alg", "use", "kid") if k in key}
            for key in (keys if isinstance(keys, list) else [])
            if isinstance(key, dict)
        ]
        raise CheckFailure(
            f"jwks_uri {jwks_uri} publishes no RSA key usable for RS256 with a kid (keys: "
            f"{json.dumps(seen) if seen else 'none'}): the user gateway could verify no token."
            " Check the signing key (AUTH_SIGNING_KEY: an RSA_2048 SIGN_VERIFY KMS key) and the"
            " server's logs",
            step="jwks",
        )
    return usable[0]


# -- 3. /authorize -----------------------------------------------------------------------------


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _secret_not_filled(config: SignInConfig, then: str = "then deploy again") -> str:
    message = (
        "the authorization server sends people to the Feishu/Lark sign-in page without an app"
        " id (client_id is empty): the Lark app secret is not filled"
    )
    if config.fill_secret_command:
        message += f". Fill it: {config.fill_secret_command}"
    else:
        message += ' (set {"app_id", "app_secret"} in the Lark secret, LARK_APP_ID locally)'
    if config.restart_command:
        message += f"; then make the server read it again: {config.restart_command}"
    return f"{message}; {then}"


def check_authorize(config: SignInConfig, authorization_endpoint: str) -> str:
    """Where ``/authorize`` sends Quick Suite's browser; returns the Lark app id it carries."""
    _, challenge = _pkce()
    params = {
        "response_type": "code",
        "client_id": config.client_id,
        "redirect_uri": config.redirect_uri,
        "state": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if config.gateway_url:
        params["resource"] = config.gateway_url
    url = f"{authorization_endpoint}?{urllib.parse.urlencode(params)}"
    answer = _call(url, step="authorize", what="/authorize", timeout=config.timeout)
    subject = f"client {config.client_id} with redirect URI {config.redirect_uri}"
    location = answer.header("Location")
    if answer.status not in (301, 302, 303, 307) or not location:
        hint = ""
        if answer.status == 400:
            hint = (
                " (an unknown client, or a redirect URI not registered for it: the quicksuite"
                " client's redirect_uris come from quickSuiteRegion and userAuthRedirectUris)"
            )
        raise CheckFailure(
            f"/authorize did not redirect the sign-in of {subject}: it answered"
            f" {answer.status}: {_excerpt(answer.body)}{hint}",
            step="authorize",
        )
    if location.startswith(config.redirect_uri):
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        raise CheckFailure(
            f"/authorize refused the sign-in of {subject}: error={query.get('error')!r}"
            f" ({query.get('error_description', 'no description')})",
            step="authorize",
        )
    expected = (
        [config.accounts_origin.rstrip("/").lower()]
        if config.accounts_origin
        else list(LARK_ACCOUNTS_ORIGINS)
    )
    parts = urllib.parse.urlsplit(location)
    if _origin(location) not in expected or parts.path != LARK_AUTHORIZE_PATH:
        raise CheckFailure(
            f"/authorize sent the sign-in of {subject} to {location.split('?')[0]}, not to the"
            f" Feishu/Lark authorize page {' or '.join(o + LARK_AUTHORIZE_PATH for o in expected)}"
            " (check LARK_DOMAIN / LARK_ACCOUNTS_DOMAIN of the authorization server)",
            step="authorize",
        )
    query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    app_id = query.get("client_id", "")
    if not app_id and not config.unfilled_secret_is_pending:
        raise CheckFailure(_secret_not_filled(config), step="authorize")
    scopes = query.get("scope", "").split()
    if "offline_access" not in scopes:
        raise CheckFailure(
            f"the Feishu/Lark authorize page is asked for scopes {scopes or 'none'} without"
            " offline_access: Feishu would send no refresh token and people would sign in again"
            " every two hours. Check LARK_USER_SCOPES of the authorization server",
            step="authorize",
        )
    callback = config.issuer.rstrip("/") + "/callback"
    if query.get("redirect_uri") != callback:
        raise CheckFailure(
            f"the Feishu/Lark authorize page is given redirect_uri {query.get('redirect_uri')!r}"
            f" instead of {callback!r}, the URL registered in the Lark app",
            step="authorize",
        )
    if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
        raise CheckFailure(
            "the Feishu/Lark authorize page is not given a PKCE S256 code_challenge",
            step="authorize",
        )
    return app_id


# -- 4. registration ---------------------------------------------------------------------------

#: A redirect no policy allows (`.invalid` never resolves, RFC 2606): registering it must fail.
OUTSIDE_POLICY = "https://sign-in-check.invalid/callback"


def check_registration(config: SignInConfig, document: dict[str, Any]) -> str:
    """`registration_endpoint` is advertised for public clients and keeps to the policy."""
    endpoint = document.get("registration_endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        raise CheckFailure(
            "the discovery document has no registration_endpoint: MCP clients other than the"
            " pre-registered Quick Suite client cannot register (deploy the current"
            " authorization server)",
            step="registration",
        )
    if "none" not in (document.get("token_endpoint_auth_methods_supported") or []):
        raise CheckFailure(
            "the discovery document does not list none in token_endpoint_auth_methods_supported:"
            " public clients (the MCP SDKs, VS Code, Claude Code) cannot register",
            step="registration",
        )
    body = {
        "client_name": "sign-in deploy check",
        "redirect_uris": [OUTSIDE_POLICY],
        "token_endpoint_auth_method": "none",
    }
    answer = _call(
        endpoint,
        step="registration",
        what="the registration endpoint",
        timeout=config.timeout,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        error = json.loads(answer.body).get("error")
    except (ValueError, AttributeError):
        error = None
    if answer.status != 400 or error != "invalid_redirect_uri":
        raise CheckFailure(
            f"the registration endpoint {endpoint} answered {answer.status}"
            f" ({_excerpt(answer.body)}) to a redirect URI outside the redirect policy"
            f" ({OUTSIDE_POLICY}) instead of 400 invalid_redirect_uri: anyone could register"
            " a client that sends people's codes anywhere. Check AUTH_REDIRECT_ALLOW"
            " (context userAuthRedirectAllow)",
            step="registration",
        )
    return endpoint


# -- 5. the user gateway refuses what it must ---------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_jwt(config: SignInConfig, kid: str) -> str:
    """A JWT with our kid and plausible claims whose signature our key never made."""
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    claims = {
        "iss": config.issuer,
        "sub": "ou_deploy_check_forged",
        "client_id": config.client_id,
        "aud": config.gateway_url or config.issuer,
        "iat": now,
        "exp": now + 300,
        "jti": secrets.token_hex(8),
    }
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(secrets.token_bytes(256))}"


def check_gateway_refuses(config: SignInConfig, kid: str) -> None:
    """An MCP request without a token, and one with a forged JWT, must get 401 or 403."""
    if not config.gateway_url:
        return
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}).encode()
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": PROTOCOL_VERSION,
    }
    for label, token in (("without a token", None), ("with a forged JWT", forged_jwt(config, kid))):
        sent = dict(headers)
        if token:
            sent["Authorization"] = f"Bearer {token}"
        answer = _call(
            config.gateway_url,
            step="gateway",
            what="the user gateway",
            timeout=config.timeout,
            data=body,
            headers=sent,
        )
        if answer.status in (401, 403):
            continue
        if answer.status == 404:
            raise CheckFailure(
                f"the user gateway URL {config.gateway_url} answered 404: is it the gateway's"
                " MCP URL (…/mcp)?",
                step="gateway",
            )
        raise CheckFailure(
            f"the user gateway accepted an MCP request {label} (HTTP {answer.status}) instead of"
            " refusing it with 401: anyone could call the tools. Its authorizer must be"
            f" CUSTOM_JWT on {config.discovery_url or config.issuer} with allowed audience"
            f" {config.gateway_url}",
            step="gateway",
        )


# -- all of it ---------------------------------------------------------------------------------


def run_checks(config: SignInConfig) -> SignInReport:
    """Run every check in order, stopping at the first failure; never raises for the target."""
    report = SignInReport(ok=False, message="", issuer=config.issuer)
    step_started = time.monotonic()

    def passed(step: str, line: str) -> None:
        nonlocal step_started
        now = time.monotonic()
        report.latency_ms[step] = (now - step_started) * 1000
        report.passed.append(line)
        step_started = now

    try:
        document = check_discovery(config)
        passed("discovery", f"discovery documents name issuer {config.issuer}")
        key = check_jwks(config, document["jwks_uri"])
        passed("jwks", f"jwks_uri publishes RS256 key {key['kid']}")
        app_id = check_authorize(config, document["authorization_endpoint"])
        if app_id:
            app = f"for app {app_id}"
        else:
            app = "(no app id yet)"
            report.pending = _secret_not_filled(
                config, "then check the sign-in path with `make verify USER_AUTH=1`"
            )
        passed(
            "authorize",
            f"/authorize sends {config.client_id} to the Feishu/Lark sign-in page {app}"
            " with offline_access",
        )
        endpoint = check_registration(config, document)
        passed("registration", f"{endpoint} refuses a redirect outside the policy")
        if config.gateway_url:
            check_gateway_refuses(config, key["kid"])
            passed("gateway", "the user gateway refuses requests without a token or forged")
    except CheckFailure as failure:
        report.message = str(failure)
        report.failed_step = failure.step
        report.retryable = failure.retryable
        return report
    report.ok = True
    report.message = "the sign-in path answers as Quick Suite and the user gateway expect"
    return report
