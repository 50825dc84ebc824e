"""Sign a person out everywhere: `make sign-out USER=<open_id or email> [STACK_PREFIX=..]`.

For offboarding, or a lost device. In one step, against the same store the servers use:
1. their stored Lark tokens are deleted: their next tool call is told to sign in again
   (reconnect the Lark integration in their client), never run as the bot;
2. every refresh-token family of ours issued to them until now is revoked: a `signout#<open_id>`
   record whose time the refresh and code grants compare with the family's (and code's) start,
   so no table scan is needed and a family created by a later sign-in is not affected.
Access tokens already issued stay valid until they expire (at most an hour), but carry no Lark
token any more: the MCP server answers them "sign in again".

Locally the store is `USER_TOKEN_STORE` (default the local chain's `sqlite:///.lark-auth/
tokens.db`); with `--stack-prefix` it is the deployed table, found through the UserAuth stack's
outputs and its server's environment (boto3, the operator's credentials). An email is resolved
to an open_id with Lark's `contact/v3/users/batch_get_id` (the app's own credentials: the
`LARK_APP_ID`/`LARK_APP_SECRET` variables locally, the Lark secret when deployed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lark_user_store import Records, StoreError, open_store

SIGNED_OUT = "signout#"  # + open_id: {"at": unix seconds}
KEEP = 31 * 86400  # a family lives at most 30 days past its last rotation: then nothing is left
DEFAULT_STORE = "sqlite:///.lark-auth/tokens.db"


class SignOutError(Exception):
    """Something the operator must fix; the message says what."""


def signed_out_at(records: Records, open_id: str) -> float:
    """When the person was last signed out everywhere (0: never)."""
    record = records.get(SIGNED_OUT + open_id)
    at = record.data.get("at") if record else None
    return float(at) if isinstance(at, int | float) else 0.0


@dataclass(frozen=True)
class Target:
    store_url: str
    env: dict[str, str]  # AWS credentials and region for a deployed store
    lark_domain: str
    app_id: str | None
    app_secret: str | None


def sign_out(target: Target, user: str) -> str:
    """Sign `user` (an open_id, or an email resolved through Lark) out; returns what was done."""
    open_id = user if not _is_email(user) else resolve_email(target, user)
    store = open_store(target.store_url, target.env or None)
    tokens = store.get(open_id)
    store.delete(open_id)
    now = time.time()
    store.records.put(SIGNED_OUT + open_id, {"at": now}, expires_at=int(now) + KEEP)
    who = f"{open_id} ({tokens.name})" if tokens and tokens.name else open_id
    stored = "their stored Lark tokens deleted" if tokens else "no Lark tokens were stored"
    return (
        f"Signed out {who}: {stored}; every refresh token issued to them until now is revoked. "
        "Their next tool call asks them to sign in again."
    )


def _is_email(user: str) -> bool:
    return "@" in user and not user.startswith("ou_")


def resolve_email(target: Target, email: str) -> str:
    """The open_id Lark knows for `email` (the app's tenant token, contact batch_get_id)."""
    if not target.app_id or not target.app_secret:
        raise SignOutError(
            f"{email} is an email: resolving it needs the Lark app's credentials (set "
            "LARK_APP_ID and LARK_APP_SECRET, or use --stack-prefix), or pass the open_id."
        )
    base = target.lark_domain.rstrip("/")
    auth = _post(
        f"{base}/open-apis/auth/v3/tenant_access_token/internal",
        {"app_id": target.app_id, "app_secret": target.app_secret},
    )
    token = auth.get("tenant_access_token")
    if not token:
        raise SignOutError(f"Lark refused the app's credentials: {auth.get('msg') or auth}")
    answer = _post(
        f"{base}/open-apis/contact/v3/users/batch_get_id?user_id_type=open_id",
        {"emails": [email]},
        token=token,
    )
    found = [
        u.get("user_id")
        for u in (answer.get("data") or {}).get("user_list") or []
        if u.get("email", "").lower() == email.lower() and u.get("user_id")
    ]
    if not found:
        raise SignOutError(
            f"Lark knows no user with the email {email} (or the app may not read contacts: "
            "scope contact:user.id:readonly). Pass their open_id instead."
        )
    return str(found[0])


def _post(url: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read().decode() or "{}")
    except urllib.error.HTTPError as exc:
        try:
            answer = json.loads(exc.read().decode() or "{}")
        except ValueError:
            raise SignOutError(f"Lark answered HTTP {exc.code} at {url.split('?')[0]}") from None
    except (OSError, ValueError) as exc:
        raise SignOutError(f"Cannot reach Lark at {url.split('?')[0]}: {exc}") from None
    if not isinstance(answer, dict) or answer.get("code"):
        raise SignOutError(f"Lark refused {url.split('?')[0]}: {answer}")
    return answer


def local_target(env: Mapping[str, str]) -> Target:
    return Target(
        store_url=env.get("USER_TOKEN_STORE", "").strip() or DEFAULT_STORE,
        env={},
        lark_domain=env.get("LARK_DOMAIN", "").strip() or "https://open.feishu.cn",
        app_id=env.get("LARK_APP_ID", "").strip() or None,
        app_secret=env.get("LARK_APP_SECRET", "").strip() or None,
    )


def deployed_target(stack_prefix: str, region: str | None, with_lark: bool) -> Target:
    """The deployed store (and Lark app, for an email) from the UserAuth stack, via boto3."""
    from mcp_constructs.verify import aws_session, stack_outputs

    session = aws_session(region)
    outputs = stack_outputs(session, f"{stack_prefix}-UserAuth")
    function = outputs.get("AuthServerFunctionName")
    if not function:
        raise SignOutError(
            f"stack {stack_prefix}-UserAuth has no output AuthServerFunctionName (not deployed "
            "with userAuth, or from an older commit?)"
        )
    config = session.client("lambda").get_function_configuration(FunctionName=function)
    server_env = (config.get("Environment") or {}).get("Variables") or {}
    app_id = app_secret = None
    if with_lark:
        secret = session.client("secretsmanager").get_secret_value(
            SecretId=server_env["LARK_SECRET_ARN"]
        )
        lark = json.loads(secret["SecretString"])
        app_id, app_secret = lark.get("app_id"), lark.get("app_secret")
    creds = session.get_credentials().get_frozen_credentials()
    aws_env = {
        "AWS_ACCESS_KEY_ID": creds.access_key,
        "AWS_SECRET_ACCESS_KEY": creds.secret_key,
        "AWS_REGION": session.region_name,
        **({"AWS_SESSION_TOKEN": creds.token} if creds.token else {}),
    }
    return Target(
        store_url=server_env["USER_TOKEN_STORE"],
        env=aws_env,
        lark_domain=server_env.get("LARK_DOMAIN") or "https://open.feishu.cn",
        app_id=app_id,
        app_secret=app_secret,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make sign-out",
        description="Sign a person out everywhere: their Lark tokens deleted, our refresh "
        "tokens revoked.",
    )
    parser.add_argument("user", help="their Lark open_id (ou_...) or email")
    parser.add_argument("--stack-prefix", help="the deployed stacks' prefix (else: local store)")
    parser.add_argument("--region", help="AWS region of the deployed stacks")
    args = parser.parse_args(argv)
    user = args.user.strip()
    if not user:
        print("make sign-out: USER=<open_id or email> is required", file=sys.stderr)
        return 2
    try:
        if args.stack_prefix:
            target = deployed_target(args.stack_prefix, args.region, _is_email(user))
        else:
            target = local_target(os.environ)
        print(sign_out(target, user))
    except (SignOutError, StoreError) as exc:
        print(f"make sign-out: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # boto3's errors (no credentials, no such stack): one line
        if type(exc).__module__.startswith(("botocore", "boto3")):
            name = type(exc).__name__
            if name == "NoRegionError":  # nothing was asked of AWS yet
                print(
                    "make sign-out: no AWS region: pass REGION=... or set AWS_REGION",
                    file=sys.stderr,
                )
            elif name in ("NoCredentialsError", "PartialCredentialsError"):
                print("make sign-out: no AWS credentials found: `aws configure`", file=sys.stderr)
            else:
                print(f"make sign-out: AWS refused: {exc}", file=sys.stderr)
            return 1
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
