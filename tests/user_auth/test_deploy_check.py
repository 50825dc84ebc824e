"""The sign-in path's deploy check against the real authorization server on loopback.

The authorization server runs as `python -m lark_auth_server` in front of the fake Feishu
OAuth (or in-process with the settings the Lambda has when the Lark secret still holds its
placeholder), the user gateway is the stand-in that checks JWTs like AgentCore's CUSTOM_JWT
authorizer. Each way the path can be broken gives its sentence, through the custom resource's
handler as CloudFormation would call it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from lark_auth_server import lambda_adapter
from lark_auth_server.asgi import build_app
from lark_auth_server.config import Settings, parse_clients
from lark_auth_server.core import AuthServer
from local_gateway import LocalGateway
from mcp_constructs import verify_sign_in
from mcp_constructs.deploy_checks.runtime.sign_in import sign_in_handler
from mcp_constructs.deploy_checks.runtime.sign_in.sign_in_checks import SignInConfig, run_checks
from tests.deploy_checks import events
from tests.deploy_checks.cli_session import StubbedSession, expect_stack
from tests.deploy_checks.local_stack import free_port, serve_in_thread
from tests.deploy_checks.stubs import expect_status, handler_stub
from tests.lark_fake import FakeLark

from .harness import CLIENTS, QUICKSUITE_REDIRECT, REPO, AuthServerProcess, start_auth_server

FILL = "aws secretsmanager put-secret-value --secret-id LarkMcp/lark-app-credentials ..."
RESTART = "aws lambda update-function-configuration --function-name LarkMcp-UserAuth-Server ..."
RESOURCE = "Custom::SignInCheck"


@pytest.fixture(scope="module")
def runtime_url() -> Iterator[str]:
    """What the gateway's target would reach; must never be reached by a refused request."""
    reached: list[str] = []

    async def mcp(request: Request) -> JSONResponse:
        reached.append(request.headers.get("authorization", ""))
        return JSONResponse({"jsonrpc": "2.0", "id": 1, "result": {"tools": []}})

    with serve_in_thread(Starlette(routes=[Route("/mcp", mcp, methods=["POST"])])) as base:
        yield f"{base}/mcp"


@pytest.fixture(scope="module")
def gateway_standin(runtime_url: str) -> Iterator[LocalGateway]:
    """Started before the authorization server, whose audience is its MCP URL (as deployed)."""
    gateway = LocalGateway(
        issuer="http://127.0.0.1:1", upstream_url=runtime_url, allowed_clients=("quicksuite",)
    )
    with serve_in_thread(gateway.app) as base:
        gateway.public_url = base
        yield gateway


def _trust(gateway: LocalGateway, issuer: str) -> None:
    """Point the stand-in's authorizer at `issuer` once it runs."""
    gateway.issuer = issuer
    gateway.authorizer.discovery_url = f"{issuer}/.well-known/openid-configuration"


@pytest.fixture(scope="module")
def auth_server(
    lark_fake: FakeLark, tmp_path_factory: pytest.TempPathFactory, gateway_standin: LocalGateway
) -> Iterator[AuthServerProcess]:
    workdir = tmp_path_factory.mktemp("auth")
    with start_auth_server(
        lark_fake.base_url,
        lark_fake.app_id,
        lark_fake.app_secret,
        workdir,
        AUTH_AUDIENCE=gateway_standin.mcp_url,
    ) as server:
        yield server


@pytest.fixture(scope="module")
def user_gateway(auth_server: AuthServerProcess, gateway_standin: LocalGateway) -> str:
    _trust(gateway_standin, auth_server.base)
    return gateway_standin.mcp_url


def _config(issuer: str, lark: FakeLark, gateway_url: str | None = None, **kw: Any):
    return SignInConfig(
        issuer=issuer,
        redirect_uri=kw.pop("redirect_uri", QUICKSUITE_REDIRECT),
        gateway_url=gateway_url,
        accounts_origin=kw.pop("accounts_origin", lark.base_url),
        fill_secret_command=FILL,
        restart_command=RESTART,
        timeout=5,
        **kw,
    )


def _properties(config: SignInConfig) -> dict[str, Any]:
    """The custom resource's properties, as CloudFormation hands them over (strings)."""
    return {
        "Issuer": config.issuer,
        "DiscoveryUrl": config.discovery_url or "",
        "ClientId": config.client_id,
        "RedirectUri": config.redirect_uri,
        "GatewayUrl": config.gateway_url or "",
        "AccountsOrigin": config.accounts_origin or "",
        "FillSecretCommand": config.fill_secret_command or "",
        "RestartCommand": config.restart_command or "",
        "MaxWaitSeconds": "600",
        "Triggers": {"auth_server": "0123456789abcdef"},
    }


def _deploy(config: SignInConfig, *, deadline_passed: bool = False) -> dict[str, Any]:
    """on_event then is_complete, as the Provider framework calls them on a first deploy."""
    event = events.create(RESOURCE, _properties(config))
    started = sign_in_handler.on_event(event)
    if deadline_passed:
        started = {**started, "CheckDeadline": started["CheckStartedAt"]}
    return sign_in_handler.is_complete(events.for_is_complete(event, started))


def _fails(config: SignInConfig, **kw: Any) -> str:
    with pytest.raises(RuntimeError) as failure:
        _deploy(config, **kw)
    return str(failure.value)


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # boto3 client for rollbacks only


# -- the path works --------------------------------------------------------------------------


def test_a_working_sign_in_path_passes_every_check(
    lark: FakeLark, auth_server: AuthServerProcess, user_gateway: str
):
    config = _config(auth_server.base, lark, user_gateway)
    report = run_checks(config)
    assert report.ok, report.message
    assert report.passed == [
        f"discovery documents name issuer {auth_server.base}",
        report.passed[1],
        f"/authorize sends quicksuite to the Feishu/Lark sign-in page for app {lark.app_id}"
        " with offline_access",
        f"{auth_server.base}/register refuses a redirect outside the policy",
        "the user gateway refuses requests without a token or forged",
    ]
    assert report.passed[1].startswith("jwks_uri publishes RS256 key ")
    assert _deploy(config) == {
        "IsComplete": True,
        "Data": {"Checks": 5, "Pending": "nothing: the sign-in path is ready"},
    }


# -- discovery -------------------------------------------------------------------------------


def test_discovery_that_does_not_answer_is_retried_then_fails(lark: FakeLark):
    issuer = f"http://127.0.0.1:{free_port()}"
    config = _config(issuer, lark)
    report = run_checks(config)
    assert report.retryable and report.failed_step == "discovery"
    assert report.message.startswith(
        f"discovery document at {issuer}/.well-known/openid-configuration does not answer:"
    )
    assert _deploy(config) == {"IsComplete": False}  # the Provider polls again
    assert _fails(config, deadline_passed=True).startswith(
        f"sign-in check failed: discovery document at {issuer}/.well-known/openid-configuration"
        " does not answer"
    )


def test_an_issuer_other_than_the_runtimes_fails_at_once(lark: FakeLark, tmp_path: Path):
    with start_auth_server(
        lark.base_url, lark.app_id, lark.app_secret, tmp_path, AUTH_ISSUER="http://localhost:9"
    ) as server:
        message = _fails(_config(server.base, lark))
    assert message == (
        f"sign-in check failed: discovery document {server.base}/.well-known/"
        "openid-configuration names issuer 'http://localhost:9', but the runtime trusts"
        f" '{server.base}' (LARK_USER_AUTH_ISSUER) and the user gateway's authorizer reads"
        f" {server.base}/.well-known/openid-configuration: tokens would be refused. Set"
        " AUTH_ISSUER of the authorization server to the issuer URL, or deploy the stacks"
        " again together"
    )


def test_a_gateway_discovery_url_of_another_issuer_fails(
    lark: FakeLark, auth_server: AuthServerProcess, tmp_path: Path
):
    with start_auth_server(lark.base_url, lark.app_id, lark.app_secret, tmp_path) as other:
        other_url = f"{other.base}/.well-known/openid-configuration"
        report = run_checks(_config(auth_server.base, lark, discovery_url=other_url))
    assert report.failed_step == "discovery" and not report.retryable
    assert report.message.startswith(
        f"discovery document {other_url} names issuer '{other.base}', but the runtime trusts"
        f" '{auth_server.base}'"
    )


# -- keys, and /authorize as a misconfigured server would answer (a stand-in) ----------------


def _stub_issuer(jwks: dict, location: str | None = None) -> Starlette:
    """An issuer whose documents and /authorize answer are given (what ours must not be)."""

    async def metadata(request: Request) -> JSONResponse:
        iss = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "issuer": iss,
                "authorization_endpoint": f"{iss}/authorize",
                "token_endpoint": f"{iss}/token",
                "jwks_uri": f"{iss}/jwks",
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def keys(request: Request) -> JSONResponse:
        return JSONResponse(jwks)

    async def authorize(request: Request) -> Response:
        return RedirectResponse(location or "", status_code=302)

    return Starlette(
        routes=[
            Route("/.well-known/openid-configuration", metadata),
            Route("/.well-known/oauth-authorization-server", metadata),
            Route("/jwks", keys),
            Route("/authorize", authorize),
        ]
    )


GOOD_KEY = {"kty": "RSA", "kid": "k1", "n": "sXch", "e": "AQAB", "alg": "RS256", "use": "sig"}


@pytest.mark.parametrize(
    "jwks",
    [
        {"keys": []},
        {"keys": [{**GOOD_KEY, "kid": ""}]},
        {"keys": [{"kty": "EC", "kid": "k1", "crv": "P-256", "x": "a", "y": "b"}]},
        {"keys": [{**GOOD_KEY, "alg": "PS256"}]},
    ],
    ids=["no-keys", "no-kid", "not-rsa", "not-rs256"],
)
def test_a_jwks_without_a_usable_rs256_key_with_a_kid_fails(lark: FakeLark, jwks: dict):
    with serve_in_thread(_stub_issuer(jwks)) as issuer:
        message = _fails(_config(issuer, lark))
    assert message.startswith(
        f"sign-in check failed: jwks_uri {issuer}/jwks publishes no RSA key usable for RS256"
        " with a kid (keys: "
    )
    assert message.endswith(
        "the user gateway could verify no token. Check the signing key (AUTH_SIGNING_KEY: an"
        " RSA_2048 SIGN_VERIFY KMS key) and the server's logs"
    )


def test_authorize_without_offline_access_fails(lark: FakeLark):
    location = (
        f"{lark.base_url}/open-apis/authen/v1/authorize?client_id=cli_x&response_type=code"
        "&scope=calendar:calendar:readonly&code_challenge=abc&code_challenge_method=S256&state=s"
    )
    with serve_in_thread(_stub_issuer({"keys": [GOOD_KEY]}, location)) as issuer:
        report = run_checks(_config(issuer, lark))
    assert report.failed_step == "authorize" and not report.retryable
    assert report.message == (
        "the Feishu/Lark authorize page is asked for scopes ['calendar:calendar:readonly']"
        " without offline_access: Feishu would send no refresh token and people would sign in"
        " again every two hours. Check LARK_USER_SCOPES of the authorization server"
    )


# -- /authorize of the real server -------------------------------------------------------------


@pytest.fixture
def placeholder_secret_server(lark: FakeLark, tmp_path: Path, user_gateway: str) -> Iterator[str]:
    """Our server with the settings the Lambda reads from the Lark secret's placeholder
    (``{"app_id": "", "app_secret": ""}``: config.from_aws_env accepts it)."""
    settings = Settings(
        lark_domain=lark.base_url,
        app_id="",
        app_secret="",
        clients=parse_clients(json.dumps(CLIENTS)),
        store_url=f"sqlite:///{tmp_path}/tokens.db",
        signing_key=str(tmp_path / "signing-key.pem"),
        audience=user_gateway,
    )
    server = AuthServer.from_settings(settings)
    app: dict[str, Any] = {}

    async def asgi(scope: dict, receive: Any, send: Any) -> None:
        await app["app"](scope, receive, send)

    with serve_in_thread(asgi) as base:
        app["app"] = build_app(server, base)
        yield base


def test_an_unfilled_lark_secret_is_pending_after_a_deploy_with_the_commands_that_fix_it(
    lark: FakeLark, placeholder_secret_server: str
):
    """A first deploy leaves the secret to fill: the deploy passes and says what to do next."""
    answer = _deploy(_config(placeholder_secret_server, lark))
    assert answer["IsComplete"] is True
    assert answer["Data"]["Pending"] == (
        "the authorization server sends people to the Feishu/Lark sign-in page without an app"
        " id (client_id is empty): the Lark app secret is not filled."
        f" Fill it: {FILL}; then make the server read it again: {RESTART}; then check the"
        " sign-in path with `make verify USER_AUTH=1`"
    )


def test_verify_fails_on_an_unfilled_lark_secret(lark: FakeLark, placeholder_secret_server: str):
    """`make verify USER_AUTH=1` is asked whether sign-in works now: an unfilled secret fails."""
    report = run_checks(_config(placeholder_secret_server, lark))
    assert not report.ok
    assert report.message == (
        "the authorization server sends people to the Feishu/Lark sign-in page without an app"
        " id (client_id is empty): the Lark app secret is not filled."
        f" Fill it: {FILL}; then make the server read it again: {RESTART}; then deploy again"
    )


def test_authorize_to_another_place_than_the_lark_accounts_page_fails(
    lark: FakeLark, auth_server: AuthServerProcess
):
    # The deploy expects Feishu's page; this server was pointed elsewhere (LARK_DOMAIN).
    report = run_checks(
        _config(auth_server.base, lark, accounts_origin="https://accounts.feishu.cn")
    )
    assert report.failed_step == "authorize"
    assert report.message == (
        "/authorize sent the sign-in of client quicksuite with redirect URI"
        f" {QUICKSUITE_REDIRECT} to {lark.base_url}/open-apis/authen/v1/authorize, not to the"
        " Feishu/Lark authorize page https://accounts.feishu.cn/open-apis/authen/v1/authorize"
        " (check LARK_DOMAIN / LARK_ACCOUNTS_DOMAIN of the authorization server)"
    )


def test_a_quick_suite_redirect_uri_not_registered_fails(
    lark: FakeLark, auth_server: AuthServerProcess
):
    other = "https://us-east-1.quicksight.aws.amazon.com/sn/oauthcallback"
    report = run_checks(_config(auth_server.base, lark, redirect_uri=other))
    assert report.failed_step == "authorize" and not report.retryable
    assert report.message.startswith(
        f"/authorize did not redirect the sign-in of client quicksuite with redirect URI {other}:"
        " it answered 400: "
    )
    assert report.message.endswith(
        "(an unknown client, or a redirect URI not registered for it: the quicksuite client's"
        " redirect_uris come from quickSuiteRegion and userAuthRedirectUris)"
    )


# -- registration ----------------------------------------------------------------------------


def test_registration_that_lets_any_redirect_through_fails(lark: FakeLark, tmp_path: Path):
    with start_auth_server(
        lark.base_url,
        lark.app_id,
        lark.app_secret,
        tmp_path,
        AUTH_REDIRECT_ALLOW="defaults sign-in-check.invalid",  # an admin allowed too much
    ) as server:
        report = run_checks(_config(server.base, lark))
    assert report.failed_step == "registration" and not report.retryable
    assert report.message.startswith(
        f"the registration endpoint {server.base}/register answered 201 ("
    )
    assert report.message.endswith(
        "to a redirect URI outside the redirect policy (https://sign-in-check.invalid/callback)"
        " instead of 400 invalid_redirect_uri: anyone could register a client that sends"
        " people's codes anywhere. Check AUTH_REDIRECT_ALLOW (context userAuthRedirectAllow)"
    )


# -- the user gateway must refuse ------------------------------------------------------------


def _auth_server_for(lark: FakeLark, workdir: Path, audience: str):
    """An authorization server of its own for a gateway at `audience` (as deployed, the
    gateway's MCP URL is every token's audience and the resource the check asks for)."""
    return start_auth_server(
        lark.base_url, lark.app_id, lark.app_secret, workdir, AUTH_AUDIENCE=audience
    )


def _gateway_accepting(*, bearer_only: bool) -> Starlette:
    """A gateway that lets everything through, or anything with a bearer token in it."""

    async def mcp(request: Request) -> Response:
        if bearer_only and not request.headers.get("authorization", "").startswith("Bearer "):
            return JSONResponse({"message": "missing token"}, status_code=401)
        return JSONResponse({"jsonrpc": "2.0", "id": 1, "result": {"tools": []}})

    return Starlette(routes=[Route("/mcp", mcp, methods=["POST"])])


@pytest.mark.parametrize(
    ("bearer_only", "label"),
    [(False, "without a token"), (True, "with a forged JWT")],
    ids=["open", "checks-presence-only"],
)
def test_a_user_gateway_that_lets_a_request_through_fails(
    lark: FakeLark, tmp_path: Path, bearer_only: bool, label: str
):
    with (
        serve_in_thread(_gateway_accepting(bearer_only=bearer_only)) as gateway,
        _auth_server_for(lark, tmp_path, f"{gateway}/mcp") as auth_server,
    ):
        message = _fails(_config(auth_server.base, lark, f"{gateway}/mcp"))
    assert message == (
        f"sign-in check failed: the user gateway accepted an MCP request {label} (HTTP 200)"
        " instead of refusing it with 401: anyone could call the tools. Its authorizer must be"
        f" CUSTOM_JWT on {auth_server.base} with allowed audience {gateway}/mcp"
    )


def test_the_stand_in_gateway_refused_the_forged_jwt_for_its_signature(
    lark: FakeLark, tmp_path: Path, runtime_url: str
):
    gateway = LocalGateway(
        issuer="http://127.0.0.1:1", upstream_url=runtime_url, allowed_clients=("quicksuite",)
    )
    with serve_in_thread(gateway.app) as base:
        gateway.public_url = base
        with _auth_server_for(lark, tmp_path, gateway.mcp_url) as auth_server:
            _trust(gateway, auth_server.base)
            assert run_checks(_config(auth_server.base, lark, gateway.mcp_url)).ok
    assert gateway.refusals[0] == "missing bearer token"
    assert gateway.refusals[1].startswith("invalid token: BadSignatureError")


# -- rollbacks and deletes -------------------------------------------------------------------


def test_a_failing_check_during_a_rollback_does_not_block_it(
    lark: FakeLark,
    auth_server: AuthServerProcess,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    other = "https://us-east-1.quicksight.aws.amazon.com/sn/oauthcallback"  # not registered
    config = _config(auth_server.base, lark, redirect_uri=other)
    event = events.update(RESOURCE, _properties(config), _properties(config), "sign-in-check:x")
    started = sign_in_handler.on_event(event)
    with handler_stub(monkeypatch, sign_in_handler, "cloudformation") as stubber:
        expect_status(stubber, "UPDATE_ROLLBACK_IN_PROGRESS")
        with caplog.at_level("WARNING"):
            answer = sign_in_handler.is_complete(events.for_is_complete(event, started))
    assert answer == {"IsComplete": True}
    assert "rollback_not_blocked" in caplog.text and "did not redirect" in caplog.text


def test_delete_is_a_no_op(lark: FakeLark):
    config = _config(f"http://127.0.0.1:{free_port()}", lark)
    event = events.delete(RESOURCE, _properties(config), "sign-in-check:x")
    assert sign_in_handler.on_event(event) == {"PhysicalResourceId": "sign-in-check:x"}
    assert sign_in_handler.is_complete(event) == {"IsComplete": True}


# -- the same checks from a laptop: make verify USER_AUTH=1 ----------------------------------


def test_make_verify_user_auth_against_a_local_server(
    lark: FakeLark, auth_server: AuthServerProcess, user_gateway: str
):
    args = f"--redirect-uri {QUICKSUITE_REDIRECT} --accounts-origin {lark.base_url}"
    done = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-o",
            "setup",  # the venv is installed; never reinstall from inside a test
            "verify",
            "USER_AUTH=1",
            f"ISSUER={auth_server.base}",
            f"URL={user_gateway}",
            f"VERIFY_ARGS={args}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"\nPASS  sign-in path of {auth_server.base}\n" in done.stdout
    assert "  ok    the user gateway refuses requests without a token or forged\n" in done.stdout


def test_verify_sign_in_exits_1_with_the_sentence(
    lark: FakeLark, placeholder_secret_server: str, capsys: pytest.CaptureFixture
):
    code = verify_sign_in.main(
        [
            *("--issuer", placeholder_secret_server),
            *("--redirect-uri", QUICKSUITE_REDIRECT),
            *("--accounts-origin", lark.base_url),
            "--json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["failed_step"] == "authorize"
    assert "the Lark app secret is not filled" in report["message"]


def test_verify_sign_in_needs_a_redirect_uri_with_an_issuer(capsys: pytest.CaptureFixture):
    assert verify_sign_in.main(["--issuer", "http://127.0.0.1:8001"]) == 2
    assert "--redirect-uri is needed with --issuer" in capsys.readouterr().err


def test_stack_prefix_reads_the_three_stacks_outputs(
    lark: FakeLark, placeholder_secret_server: str, user_gateway: str
):
    iss = placeholder_secret_server
    session = StubbedSession(services=("cloudformation",))
    expect_stack(
        session,
        "LarkMcp-UserAuth",
        {
            "IssuerUrl": iss,
            "DiscoveryUrl": f"{iss}/.well-known/openid-configuration",
            "UserClientId": "quicksuite",
            "QuickSuiteRedirectUrl": QUICKSUITE_REDIRECT,
            "AuthServerFunctionName": "LarkMcp-UserAuth-Server1234",
        },
    )
    expect_stack(session, "LarkMcp-UserGateway", {"UserMcpEndpointUrl": user_gateway})
    expect_stack(
        session,
        "LarkMcp-Runtime",
        {"FillLarkSecretCommand": "aws secretsmanager put-secret-value --secret-id LarkMcp/x"},
    )
    args = verify_sign_in.parse_args(
        ["--stack-prefix", "LarkMcp", "--accounts-origin", lark.base_url]
    )
    with session.stubbers["cloudformation"] as stubber:
        config = verify_sign_in.build_config(args, session)
        stubber.assert_no_pending_responses()
    report = run_checks(config)
    assert report.message == (
        "the authorization server sends people to the Feishu/Lark sign-in page without an app"
        " id (client_id is empty): the Lark app secret is not filled. Fill it: aws"
        " secretsmanager put-secret-value --secret-id LarkMcp/x; then make the server read it"
        " again: aws lambda update-function-configuration --function-name"
        ' LarkMcp-UserAuth-Server1234 --region eu-west-1 --description "secrets changed'
        ' $(date +%s)"; then deploy again'
    )


def test_stack_prefix_names_a_missing_output():
    session = StubbedSession(services=("cloudformation",))
    expect_stack(session, "LarkMcp-UserAuth", {"IssuerUrl": "https://x.example"})
    expect_stack(session, "LarkMcp-UserGateway", {})
    expect_stack(session, "LarkMcp-Runtime", {})
    with session.stubbers["cloudformation"], pytest.raises(verify_sign_in.VerifyError) as error:
        verify_sign_in.deployed_config("LarkMcp", None, session)
    assert str(error.value) == (
        "stack LarkMcp-UserAuth has no output DiscoveryUrl, QuickSuiteRedirectUrl (deployed from"
        " an older commit? deploy again)"
    )


def test_a_server_whose_settings_do_not_load_is_retried_then_named(
    lark: FakeLark, monkeypatch: pytest.MonkeyPatch
):
    """The Lambda adapter itself, behind HTTP, with no Lark secret ARN in its environment."""
    for name in ("LARK_SECRET_ARN", "AUTH_CLIENTS_SECRET_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(lambda_adapter, "_server", None)

    async def proxy(request: Request) -> Response:
        event = {
            "rawPath": request.url.path,
            "rawQueryString": request.url.query,
            "headers": dict(request.headers),
            "requestContext": {"domainName": "abc.execute-api", "http": {"method": "GET"}},
        }
        answer = await asyncio.to_thread(lambda_adapter.handle, event)
        return Response(answer["body"], answer["statusCode"], answer["headers"])

    app = Starlette(routes=[Route("/{path:path}", proxy)])
    with serve_in_thread(app) as issuer:
        config = _config(issuer, lark)
        assert _deploy(config) == {"IsComplete": False}
        message = _fails(config, deadline_passed=True)
    assert message == (
        f"sign-in check failed: discovery document at {issuer}/.well-known/openid-configuration"
        " answered 500: The sign-in service is misconfigured; its administrator can see why in"
        " the function's logs. (the server cannot load its settings: its log group says why,"
        ' e.g. a Lark secret that is not JSON {"app_id", "app_secret"}) (still failing after'
        " 0 s of retries)"
    )
