"""jsii's package cache, shared by the app synths that run in a scratch HOME.

The first synth on a machine unpacks aws-cdk-lib and cdk-nag (~200 MB) into this cache and
later ones reuse it. A test that gives a command a fresh HOME (no ~/.aws) points it at the
runner's cache instead, as a user's next synth would find it: it is not AWS set-up, and
unpacking it again for every command cost more CPU than the command's own work.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

VARIABLE = "JSII_RUNTIME_PACKAGE_CACHE_ROOT"


def package_cache_root() -> str:
    """Where jsii keeps unpacked packages for this runner (the one set, or jsii's default)."""
    if os.environ.get(VARIABLE):
        return os.environ[VARIABLE]
    if sys.platform == "darwin":
        return str(Path.home() / "Library" / "Caches" / "com.amazonaws.jsii" / "package-cache")
    return str(Path.home() / ".cache" / "aws" / "jsii" / "package-cache")


def shared_cache_env() -> dict[str, str]:
    """The variable to add to a scratch-HOME environment."""
    return {VARIABLE: package_cache_root()}
