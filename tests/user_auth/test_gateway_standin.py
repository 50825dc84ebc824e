"""The interceptor rule the stand-in applies (and the real interceptor must): the caller-JWT
header carries only the token the gateway verified."""

from __future__ import annotations

from .gateway_standin import CALLER_JWT_HEADER, caller_headers


def test_a_client_cannot_choose_its_caller_jwt():
    sent = {"content-type": "application/json", CALLER_JWT_HEADER.lower(): "forged"}
    assert caller_headers(sent, "verified")[CALLER_JWT_HEADER] == "verified"
    assert "forged" not in caller_headers(sent, "verified").values()
    without = caller_headers(sent, None)
    assert all(k.lower() != CALLER_JWT_HEADER.lower() for k in without)
    assert without == {"content-type": "application/json"}
