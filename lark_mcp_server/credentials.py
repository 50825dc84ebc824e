"""Where the Lark app id and secret come from: the environment or AWS Secrets Manager."""

from __future__ import annotations

import asyncio
import json

from .config import Settings
from .lark_client import CredentialsMissing

MISSING = (
    "Lark credentials are not configured. Set LARK_APP_ID and LARK_APP_SECRET (local runs), "
    'or LARK_SECRET_ARN naming a Secrets Manager secret holding {"app_id": "...", '
    '"app_secret": "..."} (deployed runs), then restart the server.'
)


class AppCredentials:
    """Resolves the app credentials once per process and caches them."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._cached: tuple[str, str] | None = None
        self._lock = asyncio.Lock()
        if settings.app_id and settings.app_secret:
            self._cached = (settings.app_id, settings.app_secret)

    @property
    def configured(self) -> bool:
        return self._cached is not None or bool(self._settings.secret_arn)

    async def __call__(self) -> tuple[str, str]:
        if self._cached:
            return self._cached
        if not self._settings.secret_arn:
            raise CredentialsMissing(MISSING)
        async with self._lock:
            if self._cached is None:
                # Blocking urllib call: keep it off the event loop.
                self._cached = await asyncio.to_thread(self._read_secret)
            return self._cached

    def _read_secret(self) -> tuple[str, str]:
        # Imported here: only deployed runs read a secret, and it costs ~4 ms of start-up.
        from . import aws_secrets

        arn = str(self._settings.secret_arn)
        try:
            text = aws_secrets.get_secret_string(arn)
        except aws_secrets.SecretError as exc:
            raise CredentialsMissing(str(exc)) from None
        try:
            data = json.loads(text)
            app_id, app_secret = str(data["app_id"]).strip(), str(data["app_secret"]).strip()
        except (ValueError, KeyError, TypeError):
            raise CredentialsMissing(
                f'The secret {arn} must be JSON like {{"app_id": "cli_...", "app_secret": '
                '"..."}: put the Lark app credentials there (aws secretsmanager '
                "put-secret-value).",
            ) from None
        if not app_id or not app_secret:
            raise CredentialsMissing(f"The secret {arn} has an empty app_id or app_secret.")
        return app_id, app_secret
