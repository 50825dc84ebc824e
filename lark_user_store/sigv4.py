"""AWS request signing (SigV4) and credentials with the standard library only.

Why not boto3: the MCP server image has none (it adds ~33 MB installed and ~0.5 s of import to
an image whose whole runtime is ~45 MB), yet both the Lark secret and the user token store live
behind AWS JSON APIs. Credentials come from the places an AWS container finds them, in the
SDKs' order: the `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` variables,
the container credentials endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI` or `..._RELATIVE_URI`,
with `AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]`), then EC2 instance metadata (IMDSv2).
Everything here blocks: call it off the event loop.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

_TIMEOUT = 5.0
_ECS_HOST = "http://169.254.170.2"
_IMDS = "http://169.254.169.254"


class CredentialsError(Exception):
    """No AWS credentials could be found; the message says where we looked."""


class AwsApiError(Exception):
    """An AWS JSON API answered with an error (`kind` is its `__type` without the namespace)."""

    def __init__(self, kind: str, message: str, status: int) -> None:
        super().__init__(f"{kind} (HTTP {status}): {message}")
        self.kind = kind
        self.message = message
        self.status = status


@dataclass(frozen=True)
class AwsCredentials:
    access_key: str
    secret_key: str
    token: str | None = None
    expires_at: float | None = None  # unix seconds; None for long-lived keys


def _get_json(url: str, headers: Mapping[str, str] | None = None, method: str = "GET") -> dict:
    request = urllib.request.Request(url, headers=dict(headers or {}), method=method)
    with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
        return json.loads(response.read().decode())


def _expiry(data: Mapping[str, Any]) -> float | None:
    text = data.get("Expiration")
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def find_credentials(env: Mapping[str, str] | None = None) -> AwsCredentials:
    """The first credentials found, in the SDKs' order (see the module docstring)."""
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
        return AwsCredentials(
            data["AccessKeyId"], data["SecretAccessKey"], data.get("Token"), _expiry(data)
        )
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
        return AwsCredentials(
            data["AccessKeyId"], data["SecretAccessKey"], data.get("Token"), _expiry(data)
        )
    except (OSError, ValueError, IndexError, KeyError):
        raise CredentialsError(
            "no AWS credentials were found (no AWS_ACCESS_KEY_ID, no container credentials "
            "endpoint, no instance role)"
        ) from None


class CachedCredentials:
    """Credentials fetched once and again 5 minutes before they expire (long-lived processes)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = env
        self._creds: AwsCredentials | None = None
        self._lock = threading.Lock()

    def get(self) -> AwsCredentials:
        with self._lock:
            creds = self._creds
            if creds is None or (creds.expires_at and creds.expires_at - time.time() < 300):
                creds = self._creds = find_credentials(self._env)
            return creds


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
    content_type: str = "application/x-amz-json-1.1",
    now: dt.datetime | None = None,
) -> dict[str, str]:
    """SigV4 headers for a JSON-protocol POST to `/` (Secrets Manager: 1.1, DynamoDB: 1.0)."""
    now = now or dt.datetime.now(dt.UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = now.strftime("%Y%m%d")
    headers = {
        "content-type": content_type,
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


def endpoint_for(
    service_id: str, host_prefix: str, region: str, env: Mapping[str, str] | None = None
) -> str:
    """`AWS_ENDPOINT_URL_<SERVICE_ID>` (the SDKs' name, e.g. SECRETS_MANAGER, DYNAMODB), else
    `AWS_ENDPOINT_URL`, else the public regional endpoint `https://<host_prefix>.<region>...`."""
    env = os.environ if env is None else env
    return (
        env.get(f"AWS_ENDPOINT_URL_{service_id}")
        or env.get("AWS_ENDPOINT_URL")
        or f"https://{host_prefix}.{region}.amazonaws.com"
    ).rstrip("/")


def call_json_api(
    *,
    endpoint: str,
    region: str,
    service: str,
    target: str,
    payload: Mapping[str, Any],
    creds: AwsCredentials,
    content_type: str = "application/x-amz-json-1.0",
    timeout: float = _TIMEOUT,
) -> dict[str, Any]:
    """POST one signed JSON-protocol call; AWS errors become `AwsApiError`, others `OSError`."""
    body = json.dumps(payload).encode()
    headers = signed_headers(
        creds,
        region=region,
        service=service,
        host=urlsplit(endpoint).netloc,
        body=body,
        target=target,
        content_type=content_type,
    )
    request = urllib.request.Request(endpoint + "/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as exc:
        raw = exc.read().decode(errors="replace")
        try:
            detail = json.loads(raw)
        except ValueError:
            detail = {"message": raw[:300]}
        kind = str(detail.get("__type", "UnknownError")).rsplit("#", 1)[-1]
        message = str(detail.get("message") or detail.get("Message") or "")[:300]
        raise AwsApiError(kind, message, exc.code) from None
    return json.loads(text) if text else {}


def get_secret_string(
    arn: str,
    creds: AwsCredentials,
    env: Mapping[str, str] | None = None,
    timeout: float = _TIMEOUT,
) -> Any:
    """Secrets Manager ``GetSecretValue(SecretId=arn)``'s ``SecretString`` (None when absent),
    in the ARN's region; the caller checks the ARN's shape. Errors as :func:`call_json_api`."""
    region = arn.split(":")[3]
    answer = call_json_api(
        endpoint=endpoint_for("SECRETS_MANAGER", "secretsmanager", region, env),
        region=region,
        service="secretsmanager",
        target="secretsmanager.GetSecretValue",
        payload={"SecretId": arn},
        creds=creds,
        content_type="application/x-amz-json-1.1",
        timeout=timeout,
    )
    return answer.get("SecretString")


def get_parameter(
    name: str,
    creds: AwsCredentials,
    env: Mapping[str, str] | None = None,
    timeout: float = _TIMEOUT,
) -> str | None:
    """SSM ``GetParameter(Name=name)``'s value (None when it has none), in ``AWS_REGION``.
    Errors as :func:`call_json_api` (``ParameterNotFound`` when it does not exist yet)."""
    env = os.environ if env is None else env
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or ""
    answer = call_json_api(
        endpoint=endpoint_for("SSM", "ssm", region, env),
        region=region,
        service="ssm",
        target="AmazonSSM.GetParameter",
        payload={"Name": name},
        creds=creds,
        content_type="application/x-amz-json-1.1",
        timeout=timeout,
    )
    value = (answer.get("Parameter") or {}).get("Value")
    return value if isinstance(value, str) else None
