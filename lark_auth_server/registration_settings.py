"""Settings of dynamic client registration, read from the environment alike locally and in AWS.

- `AUTH_REDIRECT_ALLOW`: https hosts and private-use schemes self-registered clients may use as
  redirect URIs (see `redirects.py`; unset: `redirects.DEFAULT_ALLOW`). Loopback is always
  allowed.
- `AUTH_REGISTRATIONS_PER_HOUR` (20): registrations one source address may make per hour.
- `AUTH_REGISTRATIONS_PER_HOUR_TOTAL` (500): registrations from all sources together per hour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .redirects import PolicyError, RedirectPolicy


class RegistrationSettingError(ValueError):
    """A registration setting is malformed; the message names the variable."""


@dataclass(frozen=True)
class RegistrationSettings:
    policy: RedirectPolicy = field(default_factory=lambda: RedirectPolicy.parse(None))
    per_source_per_hour: int = 20
    total_per_hour: int = 500


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= 100_000:
        raise RegistrationSettingError(
            f"{name}={raw!r} must be a whole number from 0 (no registration) to 100000."
        )
    return value


def registration_settings(env: Mapping[str, str]) -> RegistrationSettings:
    from .config import ConfigError  # the error every setting raises (config imports us)

    try:
        policy = RedirectPolicy.parse(env.get("AUTH_REDIRECT_ALLOW"))
        return RegistrationSettings(
            policy=policy,
            per_source_per_hour=_count(env, "AUTH_REGISTRATIONS_PER_HOUR", 20),
            total_per_hour=_count(env, "AUTH_REGISTRATIONS_PER_HOUR_TOTAL", 500),
        )
    except PolicyError as exc:
        raise ConfigError(f"AUTH_REDIRECT_ALLOW: {exc}.") from None
    except RegistrationSettingError as exc:
        raise ConfigError(str(exc)) from None
