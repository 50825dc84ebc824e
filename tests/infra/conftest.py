"""One synthesis of the whole app per test session, shared by every infra test (jsii is slow).

The app is built the way `cdk synth` builds it (cdk.json's context, feature flags included)
but without any AWS environment: no account, no region, no credentials, as on a fresh machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.jsii_cache import shared_cache_env

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO = Path(__file__).resolve().parents[2]
STACKS = ("Cognito", "Runtime", "Gateway")
#: What a checkout needs to synthesize (everything else is left out of repo copies).
APP_FILES = (
    "app.py",
    "Dockerfile",
    ".dockerignore",
    "cdk.json",
    "Makefile",
    "package.json",
    "package-lock.json",
    "requirements.txt",
    "requirements-dev.txt",
    "pyproject.toml",
)
APP_DIRS = ("stacks", "mcp_constructs", "lark_mcp_server", "lark_user_store", "scripts")


def cdk_context() -> dict:
    return json.loads((REPO / "cdk.json").read_text())["context"]


@dataclass
class Synth:
    """A synthesized cloud assembly: its directory, raw templates and assertion Templates."""

    outdir: Path
    raw: dict[str, dict]
    app: object

    def template(self, stack: str):
        from aws_cdk.assertions import Template

        return Template.from_json(self.raw[stack])

    def file(self, name: str) -> Path:
        return self.outdir / name


def synthesize(outdir: Path, context: dict | None = None) -> Synth:
    """Build and synthesize the app in this process (raises if cdk-nag or validation fails)."""
    from app import build_app

    app = build_app(cdk_context() | (context or {}), outdir=str(outdir), environ={})
    app.synth()
    raw = {
        stack: json.loads((outdir / f"LarkMcp-{stack}.template.json").read_text())
        for stack in STACKS
    }
    return Synth(outdir=outdir, raw=raw, app=app)


_APP_MODULES = ("app", "stacks", "mcp_constructs")


def _app_modules() -> dict:
    return {
        name: module for name, module in sys.modules.items() if name.split(".")[0] in _APP_MODULES
    }


def synthesize_checkout(checkout: Path, outdir: Path) -> Path:
    """Synthesize the app of another checkout in this process (importing its own modules).

    Saves starting a second jsii runtime; the repo's modules are put back afterwards.
    """
    saved = _app_modules()
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(checkout))
    try:
        import app as other_app

        assert Path(other_app.__file__).resolve().parent == checkout.resolve()
        other_app.build_app(cdk_context(), outdir=str(outdir), environ={}).synth()
    finally:
        sys.path.remove(str(checkout))
        for name in _app_modules():
            del sys.modules[name]
        sys.modules.update(saved)
    return outdir


@dataclass
class MakeSynth:
    checkout: Path
    process: subprocess.Popen


@pytest.fixture(scope="session")
def make_synth(tmp_path_factory):
    """`make synth` (the CLI path) in a copy of the repo, offline: no AWS_* or CDK_* variables,
    HOME without ~/.aws. Started early so it runs alongside the in-process synthesis."""
    root = tmp_path_factory.mktemp("make-synth")
    checkout = copy_checkout(root / "checkout")
    home = root / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_", "DOCKER_"))}
    env |= {"HOME": str(home), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    env |= shared_cache_env()  # not AWS set-up: a fresh HOME need not unpack aws-cdk-lib again
    # The linked .venv/node_modules are the shared checkout's: keep make from reinstalling them.
    process = subprocess.Popen(
        ["make", "-o", ".venv/.installed", "-o", "node_modules/.installed", "synth"],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield MakeSynth(checkout, process)
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture(scope="session")
def synth(request, tmp_path_factory) -> Synth:
    if any(item.name.startswith("test_make_synth") for item in request.session.items):
        request.getfixturevalue("make_synth")  # two cores: let the CLI run meanwhile
    return synthesize(tmp_path_factory.mktemp("synth-a"))


@pytest.fixture(scope="session")
def templates(synth):
    return {stack: synth.template(stack) for stack in STACKS}


def copy_checkout(dest: Path, *, with_tooling: bool = True) -> Path:
    """Copy what the app needs into `dest`; link .venv and node_modules instead of copying."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in APP_FILES:
        if (REPO / name).exists():
            shutil.copy2(REPO / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache")
    for name in APP_DIRS:
        shutil.copytree(REPO / name, dest / name, ignore=ignore)
    if with_tooling:
        for name in (".venv", "node_modules"):
            (dest / name).symlink_to(REPO / name, target_is_directory=True)
    return dest
