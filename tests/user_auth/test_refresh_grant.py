"""The refresh grant never logs a person out by accident (loopback, real server process):
refusals spend nothing, the first scope may be sent again, a lost response can be retried,
and a code or refresh token presented by another client is refused and stays usable."""

from __future__ import annotations

import pytest
import requests

from tests.lark_fake import FakeLark

from .harness import CLIENTS, QUICKSUITE_REDIRECT, AuthServerProcess, start_sign_in
from .test_sign_in import _claims


def _refresh(iss: str, refresh_token: str, client: int = 0, **form: str) -> requests.Response:
    """A refresh as a client sends it (client_secret_basic), without a library in between."""
    conf = CLIENTS[client]
    return requests.post(
        f"{iss}/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, **form},
        auth=(conf["client_id"], conf["client_secret"]),
        timeout=10,
    )


def test_resending_the_first_scope_works_and_a_refused_scope_spends_nothing(
    lark: FakeLark, auth_server: AuthServerProcess
):
    iss = auth_server.base
    sign_in = start_sign_in(iss, scope="offline_access")
    first = sign_in.fetch(f"{iss}/token")
    assert first["scope"] == "offline_access"  # asked for, granted and echoed
    # Many clients send their first scope again on every refresh.
    again = _refresh(iss, first["refresh_token"], scope="offline_access")
    assert again.status_code == 200, again.text
    assert again.json()["scope"] == "offline_access"
    # A scope never granted is refused... without spending the token.
    wider = _refresh(iss, again.json()["refresh_token"], scope="offline_access admin")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    after = _refresh(iss, again.json()["refresh_token"])
    assert after.status_code == 200, after.text
    assert _claims(after.json()["access_token"], iss)["scope"] == "offline_access"


def test_a_lost_response_can_be_retried_until_the_successor_is_used(
    lark: FakeLark, auth_server: AuthServerProcess
):
    iss = auth_server.base
    first = start_sign_in(iss).fetch(f"{iss}/token")["refresh_token"]
    lost = _refresh(iss, first).json()["refresh_token"]  # the client never saw this answer
    retry = _refresh(iss, first)  # ... so it sends the same request again
    assert retry.status_code == 200, retry.text
    working = retry.json()["refresh_token"]
    assert working != lost
    # The successor that was replaced is refused; the family lives on.
    assert _refresh(iss, lost).json()["error"] == "invalid_grant"
    newest = _refresh(iss, working)
    assert newest.status_code == 200, newest.text
    # Now that the successor was used, the old token again is a replay: the family dies.
    replay = _refresh(iss, first)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    gone = _refresh(iss, newest.json()["refresh_token"])
    assert gone.status_code == 400 and gone.json()["error"] == "invalid_grant"
    assert "refresh family revoked (refresh token reused)" in auth_server.log()


def test_a_refresh_token_of_another_client_is_refused_and_stays_usable(
    lark: FakeLark, auth_server: AuthServerProcess
):
    iss = auth_server.base
    token = start_sign_in(iss).fetch(f"{iss}/token")["refresh_token"]
    stolen = _refresh(iss, token, client=1)  # other-app, with its own valid credentials
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    mine = _refresh(iss, token)
    assert mine.status_code == 200, mine.text
    assert _claims(mine.json()["access_token"], iss)["client_id"] == "quicksuite"


def test_a_code_presented_by_another_client_is_refused_and_stays_usable(
    lark: FakeLark, auth_server: AuthServerProcess
):
    iss = auth_server.base
    sign_in = start_sign_in(iss)
    other = CLIENTS[1]
    stolen = requests.post(
        f"{iss}/token",
        data={
            "grant_type": "authorization_code",
            "code": sign_in.code,
            "redirect_uri": QUICKSUITE_REDIRECT,
            "code_verifier": sign_in.verifier,
        },
        auth=(other["client_id"], other["client_secret"]),
        timeout=10,
    )
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert sign_in.fetch(f"{iss}/token")["access_token"]


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password", "username": "a", "password": "b"}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "nope"}, "invalid_grant"),
        ({"grant_type": "authorization_code", "code": "nope"}, "invalid_grant"),
        ({"grant_type": "authorization_code"}, "invalid_request"),
    ],
)
def test_token_errors_use_rfc_6749_codes(
    auth_server: AuthServerProcess, form: dict[str, str], error: str
):
    conf = CLIENTS[0]
    answer = requests.post(
        f"{auth_server.base}/token",
        data=form,
        auth=(conf["client_id"], conf["client_secret"]),
        timeout=10,
    )
    assert answer.status_code == 400 and answer.json()["error"] == error
