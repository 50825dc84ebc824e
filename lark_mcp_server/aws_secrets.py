"""Read one Secrets Manager secret with the standard library: SigV4 over urllib.

Why not boto3: it adds ~33 MB installed and ~0.5 s of import to an image whose whole runtime
is ~45 MB, to make one call at startup. Credentials come from the places an AWS container
finds them, in the SDKs' order: the `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
`AWS_SESSION_TOKEN` variables, the container credentials endpoint
(`AWS_CONTAINER_CREDENTIALS_FULL_URI` or `..._RELATIVE_URI`, with
`AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]`), then EC2 instance metadata (IMDSv2).
These functions block: call them off the event loop.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

_TIMEOUT = 5.0
_ECS_HOST = "http://169.254.170.2"
_IMDS = "http://169.254.169.254"


class SecretError(Exception):
    """The Lark secret could not be read; the message says what to fix."""


@dataclass(frozen=True)
class AwsCredentials:
    access_key: str
    secret_key: str
    token: str | None = None


def _get_json(url: str, headers: Mapping[str, str] | None = None, method: str = "GET") -> dict:
    request = urllib.request.Request(url, headers=dict(headers or {}), method=method)
    with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
        return json.loads(response.read().decode())


def find_credentials(env: Mapping[str, str] | None = None) -> AwsCredentials:
    env = os.environ if env is None else env
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return AwsCredentials(
            env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN")
        )
    full, relative = (
        env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
    )
    if full or relative:
        url = full or _ECS_HOST + str(relative)
        headers = {}
        token = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        token_file = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        if token_file:
            with open(token_file, encoding="utf-8") as handle:
                token = handle.read().strip()
        if token:
            headers["Authorization"] = token
        data = _get_json(url, headers)
        return AwsCredentials(data["AccessKeyId"], data["SecretAccessKey"], data.get("Token"))
    try:
        imds_token = (
            urllib.request.urlopen(
                urllib.request.Request(
                    f"{_IMDS}/latest/api/token",
                    headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"},
                    method="PUT",
                ),
                timeout=1.0,
            )
            .read()
            .decode()
        )
        headers = {"X-aws-ec2-metadata-token": imds_token}
        base = f"{_IMDS}/latest/meta-data/iam/security-credentials/"
        role = (
            urllib.request.urlopen(urllib.request.Request(base, headers=headers), timeout=1.0)
            .read()
            .decode()
            .splitlines()[0]
        )
        data = _get_json(base + role, headers)
        return AwsCredentials(data["AccessKeyId"], data["SecretAccessKey"], data.get("Token"))
    except (OSError, ValueError, IndexError, KeyError):
        raise SecretError(
            "LARK_SECRET_ARN is set but no AWS credentials were found (no AWS_ACCESS_KEY_ID, "
            "no container credentials endpoint, no instance role). Run with an execution role "
            "or set LARK_APP_ID and LARK_APP_SECRET instead."
        ) from None


def _sign(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signed_headers(
    creds: AwsCredentials,
    *,
    region: str,
    service: str,
    host: str,
    body: bytes,
    target: str,
    now: dt.datetime | None = None,
) -> dict[str, str]:
    """SigV4 headers for a JSON-1.1 POST to `/` (the Secrets Manager wire protocol)."""
    now = now or dt.datetime.now(dt.UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = now.strftime("%Y%m%d")
    headers = {
        "content-type": "application/x-amz-json-1.1",
        "host": host,
        "x-amz-date": amz_date,
        "x-amz-target": target,
    }
    if creds.token:
        headers["x-amz-security-token"] = creds.token
    names = sorted(headers)
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            "".join(f"{name}:{headers[name]}\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _sign(
        _sign(_sign(_sign(f"AWS4{creds.secret_key}".encode(), date), region), service),
        "aws4_request",
    )
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={creds.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return headers


def get_secret_string(arn: str, env: Mapping[str, str] | None = None) -> str:
    """`GetSecretValue(SecretId=arn)['SecretString']`, region taken from the ARN."""
    env = os.environ if env is None else env
    parts = arn.split(":")
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "secretsmanager":
        raise SecretError(
            f"LARK_SECRET_ARN={arn!r} is not a Secrets Manager secret ARN "
            "(arn:aws:secretsmanager:<region>:<account>:secret:<name>)."
        )
    region = parts[3]
    endpoint = (
        env.get("AWS_ENDPOINT_URL_SECRETS_MANAGER")
        or env.get("AWS_ENDPOINT_URL")
        or f"https://secretsmanager.{region}.amazonaws.com"
    ).rstrip("/")
    host = urlsplit(endpoint).netloc
    body = json.dumps({"SecretId": arn}).encode()
    headers = signed_headers(
        find_credentials(env),
        region=region,
        service="secretsmanager",
        host=host,
        body=body,
        target="secretsmanager.GetSecretValue",
    )
    request = urllib.request.Request(endpoint + "/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
            answer = json.loads(response.read().decode())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise SecretError(
            f"Secrets Manager refused GetSecretValue on {arn} (HTTP {exc.code}: {detail}). "
            "Check that the execution role may call secretsmanager:GetSecretValue on it."
        ) from None
    except (OSError, ValueError) as exc:
        raise SecretError(f"Could not reach Secrets Manager for {arn}: {exc}") from None
    secret = answer.get("SecretString")
    if not isinstance(secret, str):
        raise SecretError(f"The secret {arn} has no SecretString: store it as JSON text.")
    return secret
