"""cdk.json's ``app``: run ``app.py`` with the venv's Python, whatever PATH the CDK CLI has.

`npx cdk ...` and `./node_modules/.bin/cdk ...` start the app with the user's own PATH, where
``python3`` is the system one without ``aws_cdk`` (the CLI runs the app even for ``cdk
bootstrap``). This launcher hands over to ``.venv/bin/python app.py`` (made by `make setup`)
when it exists, and otherwise runs the app with the Python that started it, after one line
saying what to do if that Python lacks the app's packages. It needs only the standard library.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"


def venv_python(root: Path = ROOT) -> Path | None:
    """The project venv's interpreter, if `make setup` created it (POSIX or Windows layout)."""
    for candidate in (root / ".venv" / "bin" / "python", root / ".venv" / "Scripts" / "python.exe"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _running_in(venv: Path) -> bool:
    return Path(sys.prefix).resolve() == venv.parent.parent.resolve()


def main() -> None:
    python = venv_python()
    if python is not None and not _running_in(python):
        # Not resolved: a venv's python is a symlink, and its path is what selects the venv.
        os.execv(str(python), [str(python), str(APP), *sys.argv[1:]])
    sys.path.insert(0, str(ROOT))
    sys.argv = [str(APP), *sys.argv[1:]]
    if python is not None:  # already the venv's interpreter (`make synth` puts it first on PATH)
        runpy.run_path(str(APP), run_name="__main__")
        return
    print(
        f"cdk app: no .venv in {ROOT}: run `make setup` (trying {sys.executable})", file=sys.stderr
    )
    try:
        runpy.run_path(str(APP), run_name="__main__")
    except ModuleNotFoundError as err:
        sys.exit(f"cdk app: {err} in {sys.executable}: run `make setup`, then this command again")


if __name__ == "__main__":
    main()
