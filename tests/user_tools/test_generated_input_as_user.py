"""Generated input as a signed-in person: no crash, no steered route, never a bot call.

The same two properties as tests/server/test_generated_input.py (same generators, same probe),
with every call carrying a valid caller JWT for a seeded person whose Lark tokens are in the
store: the signed-in code paths (JWT verification, the person's token from the store, defaults
such as `list_events` on the primary calendar, the user-only tools) get generated input, and
every Lark request must carry that person's token (`find_users` excepted: Lark serves it to the
app's token only, by design).

Then the caller-JWT header itself is the hostile input: empty, garbage, huge, non-ASCII, a JWT
of another issuer, expired, forged, unsigned, with claims of any JSON type. Each is a tool
error telling the person to sign in again, with no request to Lark at all; none crashes.

Reproducible (`derandomize=True`) and bounded as the bot's test; `pytest -s` prints the table.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import given
from hypothesis import strategies as st
from joserfc.jwk import RSAKey

from lark_mcp_server import server
from lark_mcp_server.caller_jwt import CALLER_JWT_HEADER
from lark_user_store import UserTokens
from tests.lark_fake import FakeLark
from tests.server.generated import (
    EXAMPLES,
    JSON_VALUES,
    Probe,
    check_generated_input,
    check_routes,
    fuzz_settings,
    package_of,
    probing,
    seeded_args,
    tool_routes,
)
from tests.server.harness import ServerProcess, rpc, run_server, server_env

from .conftest import store_person
from .issuer import AUDIENCE, CLIENT_ID, LocalIssuer

PERSON = "ou_alice"  # has seeded documents and tasks, so the user-only tools find something
APP_ONLY = frozenset(spec.name for spec in server.all_tools() if spec.app_only)
NEEDS_USER = frozenset(spec.name for spec in server.all_tools() if spec.needs_user)
JWT_EXAMPLES = 40 * EXAMPLES // 6  # generated caller-JWT header values (LARK_FUZZ_EXAMPLES)


@pytest.fixture(scope="module")
def user_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """This module's own store: only the person below has tokens in it."""
    return f"sqlite:///{tmp_path_factory.mktemp('fuzz-store') / 'tokens.db'}"


@pytest.fixture(scope="module")
def user_server(
    lark_fake: FakeLark, issuer: LocalIssuer, user_store: str
) -> Iterator[ServerProcess]:
    """Its own server with user sign-in on, so its log holds only these calls."""
    env = server_env(
        lark_fake.base_url,
        LARK_USER_AUTH_ISSUER=issuer.url,
        LARK_USER_AUTH_CLIENTS=CLIENT_ID,
        LARK_USER_AUTH_AUDIENCE=AUDIENCE,
        USER_TOKEN_STORE=user_store,
    )
    with run_server(env) as process:
        yield process


@pytest.fixture(scope="module")
def signed_in(lark_fake: FakeLark, issuer: LocalIssuer, user_store: str) -> tuple[str, UserTokens]:
    """(caller JWT, stored Lark tokens) of PERSON; both outlive the module."""
    return store_person(lark_fake, issuer, user_store, PERSON)


@pytest.fixture(scope="module")
def tools(user_server: ServerProcess) -> list[dict[str, Any]]:
    listed = rpc(user_server, "tools/list").json()["result"]["tools"]
    assert {t["name"] for t in listed} >= NEEDS_USER
    return listed


@pytest.fixture
def probe(
    user_server: ServerProcess, fresh_lark: FakeLark, signed_in: tuple[str, UserTokens]
) -> Iterator[Probe]:
    jwt, tokens = signed_in
    with probing(
        user_server,
        fresh_lark,
        headers={CALLER_JWT_HEADER: jwt},
        user_token=tokens.access_token,
        app_only=APP_ONLY,
    ) as probe:
        yield probe


def _ran_as_the_person(user_server: ServerProcess) -> None:
    """Every call the server logged ran as PERSON (never as the bot)."""
    lines = user_server.tool_logs()
    assert lines
    wrong = [line for line in lines if line.get("as") != "user" or line.get("open_id") != PERSON]
    assert not wrong, wrong[:3]


@pytest.mark.timeout(300)
def test_every_tool_answers_generated_input_as_a_signed_in_person(
    probe: Probe, tools: list[dict[str, Any]], user_server: ServerProcess
):
    check_generated_input(probe, tools)
    _ran_as_the_person(user_server)
    # The user-only tools (refused before Lark as the bot) reach Lark and answer as the person.
    for name in NEEDS_USER:
        tally = probe.tally[name]
        assert tally.lark_requests and tally.results, (name, tally)


@pytest.mark.timeout(300)
def test_no_argument_changes_the_method_or_route_of_a_lark_request_as_a_person(
    probe: Probe, tools: list[dict[str, Any]], user_server: ServerProcess
):
    check_routes(probe, tools, tool_routes(server.all_tools(), package_of(server)))
    _ran_as_the_person(user_server)
    for name in NEEDS_USER:
        assert probe.tally[name].lark_requests, name


# -- hostile caller JWTs ----------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(key: RSAKey, header: Any, payload: Any) -> str:
    """RS256 over any header and payload JSON (objects or not): a JWT only our issuer's key
    could have signed, whatever it says."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = key.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def _claims(issuer: LocalIssuer, **over: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": issuer.url,
        "sub": PERSON,
        "client_id": CLIENT_ID,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 3600,
        **over,
    }


def _without(claims: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k not in names}


def refused_jwts(issuer: LocalIssuer) -> dict[str, str | bytes]:
    """Caller-JWT header values that must each be refused with "sign in again"."""
    good = issuer.token(PERSON)
    head, body, sig = good.split(".")
    other = RSAKey.generate_key(2048, parameters={"kid": "other-issuer-key", "use": "sig"})
    kid = {"alg": "RS256", "kid": "test-key-1", "typ": "JWT"}
    stranger = LocalIssuer.stranger_key()
    alg_none = _b64(b'{"alg":"none"}')
    alg_hs256 = _b64(b'{"alg":"HS256","kid":"test-key-1"}')
    bob = _b64(json.dumps(_claims(issuer, sub="ou_bob")).encode())
    return {
        "empty": "",
        "bearer_only": "Bearer",  # (HTTP allows no leading or trailing blanks in a value)
        "bearer_garbage": "Bearer \t a.b.c",
        "garbage": "garbage",
        "three_dots": "a.b.c",
        "base64_garbage": "eyJ.eyJ.c2ln",
        "huge": "x" * 9000,  # over the verifier's 8 KB cap
        "huge_64k": "x" * 65536,  # uvicorn passes it on: the verifier refuses it
        "huge_jwt_shaped": f"{head}.{'A' * 9000}.{sig}",
        "non_ascii": "jwt-ü-é-中".encode(),
        "non_ascii_in_jwt": f"{head}.{body}é.{sig}".encode(),
        "tab_inside": f"{head}.\t{body}.{sig}",
        "header_not_an_object": f"{_b64(b'[]')}.{body}.{sig}",
        "header_a_number": f"{_b64(b'7')}.{body}.{sig}",
        "another_issuer_its_key": issuer.token(PERSON, issuer="https://evil.example", key=other),
        "another_issuer_our_key": issuer.token(PERSON, issuer="https://evil.example"),
        "expired": issuer.token(PERSON, lifetime=-3600),
        "not_yet_valid": issuer.token(PERSON, nbf=int(time.time()) + 3600),
        "forged_published_kid": issuer.token(PERSON, key=LocalIssuer.stranger_key()),
        "bad_signature": f"{head}.{body}.{sig[:-4]}AAAA",
        "another_persons_claims": f"{head}.{bob}.{sig}",
        "unsigned_alg_none": f"{alg_none}.{body}.",
        "hs256_with_public_key": f"{alg_hs256}.{body}.{sig}",
        "unknown_kid": issuer.token(PERSON, key=other),
        # A `crit` header of non-strings once crashed joserfc (TypeError), before the
        # signature check: a forger's key is enough.
        "crit_not_strings_forged": _signed(stranger, {**kid, "crit": [1.5]}, _claims(issuer)),
        "crit_not_strings_signed": _signed(issuer.key, {**kid, "crit": [1.5]}, _claims(issuer)),
        "crit_unknown": _signed(issuer.key, {**kid, "crit": ["x"], "x": 1}, _claims(issuer)),
        "kid_path": _signed(issuer.key, {**kid, "kid": "../jwks"}, _claims(issuer)),
        "other_client": issuer.token(PERSON, client_id="evil-client"),
        "no_sub": _signed(issuer.key, kid, _without(_claims(issuer), "sub")),
        "sub_empty": _signed(issuer.key, kid, _claims(issuer, sub="")),
        "sub_a_number": _signed(issuer.key, kid, _claims(issuer, sub=12345)),
        "exp_a_string": _signed(issuer.key, kid, _claims(issuer, exp="tomorrow")),
        "exp_missing": _signed(issuer.key, kid, _without(_claims(issuer), "exp")),
        "iss_a_list": _signed(issuer.key, kid, _claims(issuer, iss=[issuer.url])),
        "client_id_a_list": _signed(issuer.key, kid, _claims(issuer, client_id=[CLIENT_ID])),
        "payload_a_list": _signed(issuer.key, kid, [_claims(issuer)]),
        "payload_a_string": _signed(issuer.key, kid, "ou_alice"),
        "payload_null": _signed(issuer.key, kid, None),
    }


def not_signed_in_jwts(issuer: LocalIssuer) -> dict[str, str]:
    """Valid caller JWTs of people with no Lark sign-in in the store: refused with "sign in
    again" at the first Lark request (a tool error about the arguments may come first)."""
    return {
        "sub_unknown_person": issuer.token("ou_nobody"),
        "sub_not_signed_in": issuer.token("ou_bob"),
        "sub_traversal": issuer.token(f"{PERSON}/../ou_bob"),
    }


def _sign_in_again(answer: dict[str, Any] | None) -> str | None:
    """The refusal's text, or None when the answer is not a sign-in-again tool error."""
    result = (answer or {}).get("result") or {}
    text = result.get("content", [{}])[0].get("text", "") if result.get("isError") else ""
    return text if "sign in again" in text.lower() else None


def _one_valid_call(tool: dict[str, Any]) -> dict[str, Any]:
    """Arguments that get past validation (seeded ids, nothing bent): one derandomized draw."""
    drawn: list[dict[str, Any]] = []

    @fuzz_settings(1)
    @given(arguments=seeded_args(tool["inputSchema"], bend="never"))
    def draw(arguments: dict[str, Any]) -> None:
        drawn.append(arguments)

    draw()
    return drawn[0]


@pytest.mark.timeout(300)
def test_a_hostile_caller_jwt_is_a_sign_in_again_error_for_every_tool_and_never_a_bot_call(
    probe: Probe, tools: list[dict[str, Any]], issuer: LocalIssuer
):
    """Every tool, each refused header value: a tool error that says to sign in again, and
    Lark is not called at all (no tenant token, no request without the person's token; not
    even `find_users`, which runs with the app's token only once the person is verified)."""
    refused, not_signed_in = refused_jwts(issuer), not_signed_in_jwts(issuer)
    wrong: list[str] = []
    for tool in tools:
        arguments = _one_valid_call(tool)
        for name, value in {**refused, **not_signed_in}.items():
            before = len(probe.fake.requests)
            answer = probe.call(tool["name"], arguments, headers={CALLER_JWT_HEADER: value})
            lark_calls = [f"{r.method} {r.path}" for r in probe.fake.requests[before:]]
            result = (answer or {}).get("result") or {}
            ok = _sign_in_again(answer) is not None or (
                name in not_signed_in and result.get("isError")
            )
            if not ok or lark_calls:
                wrong.append(f"{tool['name']} / {name}: {str(answer)[:300]} lark: {lark_calls}")
    print("\n" + probe.summary())
    assert not probe.problems, probe.summary() + "\n\n" + "\n".join(probe.problems)
    assert not wrong, f"{len(wrong)} not refused:\n" + "\n".join(wrong[:20])


def _header_values(issuer: LocalIssuer) -> st.SearchStrategy[str | bytes]:
    """Generated caller-JWT header values: any text (sent as UTF-8), JWT-shaped segments of
    any JSON, and JWTs our issuer's key signed over claims and headers of any JSON kind."""
    sendable = st.characters(min_codepoint=0x20, blacklist_characters="\x7f", codec="utf-8")
    text = st.text(sendable, max_size=80).map(lambda t: t.strip(" ").encode())
    segment = JSON_VALUES.map(lambda v: _b64(json.dumps(v).encode())) | st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20
    )
    shaped = st.tuples(segment, segment, segment).map(".".join)
    names = ["iss", "sub", "client_id", "exp", "nbf", "iat", "aud", "scope", "jti"]
    people = st.sampled_from([PERSON, "ou_bob", "ou_nobody"])
    claim_values = st.one_of(JSON_VALUES, people, st.just(issuer.url), st.just(CLIENT_ID))
    claims = st.builds(
        lambda over, drop: {k: v for k, v in {**_claims(issuer), **over}.items() if k not in drop},
        st.dictionaries(st.sampled_from(names), claim_values, max_size=3),
        st.sets(st.sampled_from(names), max_size=2),
    )
    header = st.builds(
        lambda extra: {"alg": "RS256", "kid": "test-key-1", **extra},
        st.dictionaries(
            st.sampled_from(["kid", "typ", "crit", "jku", "x5u", "b64"]), JSON_VALUES, max_size=2
        ),
    )
    signed = st.builds(lambda h, c: _signed(issuer.key, h, c), header, claims)
    return st.one_of(text, shaped, signed, signed)


# A signed-in tool, a user-only tool and the app-only tool; each answers a valid caller.
GENERATED_ON = [
    ("list_chats", {}),
    ("list_my_tasks", {}),
    ("find_users", {"emails": ["bob@example.com"]}),
]


@pytest.mark.timeout(300)
def test_generated_caller_jwts_never_crash_and_never_fall_back_to_the_bot(
    probe: Probe, issuer: LocalIssuer, user_server: ServerProcess
):
    """Whatever the header: the call runs as the person the JWT validly names (only ever with
    their token), or it is refused with "sign in again"; never a crash, never the bot."""
    refused: list[str] = []
    outcomes = {"as_person": 0, "refused": 0}

    @fuzz_settings(JWT_EXAMPLES)
    @given(value=_header_values(issuer), which=st.sampled_from(GENERATED_ON))
    def check(value: str | bytes, which: tuple[str, dict[str, Any]]) -> None:
        tool, arguments = which
        answer = probe.call(tool, arguments, headers={CALLER_JWT_HEADER: value})
        result = (answer or {}).get("result") or {}
        if not result.get("isError"):
            outcomes["as_person"] += 1
        elif _sign_in_again(answer) is not None:
            outcomes["refused"] += 1
        else:
            refused.append(f"{tool}: {value!r:.120} -> {str(answer)[:300]}")

    check()
    print("\n" + probe.summary() + f"\noutcomes: {outcomes}")
    assert not probe.problems, probe.summary() + "\n\n" + "\n".join(probe.problems)
    assert not refused, "refused without saying to sign in again:\n" + "\n".join(refused[:20])
    assert outcomes["refused"], outcomes
    # Whoever the server ran a call for, it was the person whose tokens it used.
    ran = [line for line in user_server.tool_logs() if line.get("status") == "ok"]
    assert all(line["as"] == "user" and line["open_id"] == PERSON for line in ran), ran[:3]


@pytest.mark.parametrize("needs_reauth", [False, True], ids=["never_signed_in", "needs_reauth"])
def test_find_users_serves_only_a_person_whose_lark_sign_in_stands(
    probe: Probe,
    issuer: LocalIssuer,
    lark_fake: FakeLark,
    user_store: str,
    needs_reauth: bool,
):
    """find_users runs with the app's token, but only for a person with a usable Lark sign-in
    (found by the generated JWTs: a valid JWT of someone with none used to get an answer)."""
    if needs_reauth:
        jwt, _ = store_person(lark_fake, issuer, user_store, "ou_carol", needs_reauth=True)
    else:
        jwt = issuer.token("ou_dave")
    answer = probe.call(
        "find_users", {"emails": ["bob@example.com"]}, headers={CALLER_JWT_HEADER: jwt}
    )
    assert _sign_in_again(answer), answer
    assert probe.fake.requests == []
    assert not probe.problems, probe.problems
