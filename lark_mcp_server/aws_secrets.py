"""Read one Secrets Manager secret with the standard library: SigV4 over urllib.

The signer and the credential chain live in `lark_user_store.sigv4` (shared with the user
token store's DynamoDB backend); this module only knows Secrets Manager and says what to fix.
These functions block: call them off the event loop.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from lark_user_store import sigv4
from lark_user_store.sigv4 import AwsApiError, AwsCredentials, CredentialsError, signed_headers

__all__ = ["AwsCredentials", "SecretError", "find_credentials", "get_secret_string"]
__all__ += ["signed_headers"]


class SecretError(Exception):
    """The Lark secret could not be read; the message says what to fix."""


def find_credentials(env: Mapping[str, str] | None = None) -> AwsCredentials:
    try:
        return sigv4.find_credentials(env)
    except CredentialsError:
        raise SecretError(
            "LARK_SECRET_ARN is set but no AWS credentials were found (no AWS_ACCESS_KEY_ID, "
            "no container credentials endpoint, no instance role). Run with an execution role "
            "or set LARK_APP_ID and LARK_APP_SECRET instead."
        ) from None


def get_secret_string(arn: str, env: Mapping[str, str] | None = None) -> str:
    """`GetSecretValue(SecretId=arn)['SecretString']`, region taken from the ARN."""
    env = os.environ if env is None else env
    parts = arn.split(":")
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "secretsmanager":
        raise SecretError(
            f"LARK_SECRET_ARN={arn!r} is not a Secrets Manager secret ARN "
            "(arn:aws:secretsmanager:<region>:<account>:secret:<name>)."
        )
    try:
        secret = sigv4.get_secret_string(arn, find_credentials(env), env)
    except AwsApiError as exc:
        raise SecretError(
            f"Secrets Manager refused GetSecretValue on {arn} (HTTP {exc.status}: {exc.kind} "
            f"{exc.message}). Check that the execution role may call "
            "secretsmanager:GetSecretValue on it."
        ) from None
    except (OSError, ValueError) as exc:
        raise SecretError(f"Could not reach Secrets Manager for {arn}: {exc}") from None
    if not isinstance(secret, str):
        raise SecretError(f"The secret {arn} has no SecretString: store it as JSON text.")
    return secret
