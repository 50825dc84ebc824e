"""cfn-lint on synthesized templates, run as a person would: the venv's `cfn-lint` command."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


def run_cfn_lint(templates: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Lint ``templates`` in one run. The exit code is a bit mask: 2 errors, 4 warnings,
    8 informational; 1 a crash (so ``returncode & 3 == 0`` means no error and no crash)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", *templates],
        capture_output=True,
        text=True,
        timeout=120,
    )
