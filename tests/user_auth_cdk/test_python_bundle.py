"""Auth Lambda packaging without Docker: a hash that moves only with the Lambda's own files,
and a one-line answer when the wheels were never downloaded."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_constructs.python_bundle import PythonBundle, WheelhouseMissing
from mcp_constructs.user_auth import AUTH_SERVER_BUNDLE

REPO = Path(__file__).resolve().parents[2]


def _bundle(root: Path) -> PythonBundle:
    """A Lambda of two packages and a wheelhouse stamped with its requirements."""
    for package in ("app_pkg", "store_pkg"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text(f"NAME = {package!r}\n")
    (root / "app_pkg" / "requirements.txt").write_text("Authlib==1.9.10\n")
    wheelhouse = root / "wheels"
    wheelhouse.mkdir()
    (wheelhouse / "requirements.txt").write_text("Authlib==1.9.10\n")
    (wheelhouse / "authlib-1.9.10-py2.py3-none-any.whl").write_bytes(b"")
    return PythonBundle(
        packages=(root / "app_pkg", root / "store_pkg"),
        requirements=root / "app_pkg" / "requirements.txt",
        wheelhouse=wheelhouse,
    )


def test_hash_is_the_same_in_any_directory(tmp_path):
    assert (
        _bundle(tmp_path / "a").asset_hash() == _bundle(tmp_path / "elsewhere" / "b").asset_hash()
    )


def test_hash_moves_with_the_lambdas_own_files(tmp_path):
    bundle = _bundle(tmp_path)
    before = bundle.asset_hash()
    (tmp_path / "store_pkg" / "__init__.py").write_text("NAME = 'changed'\n")
    assert bundle.asset_hash() != before


def test_hash_moves_with_the_resolved_wheels(tmp_path):
    bundle = _bundle(tmp_path)
    before = bundle.asset_hash()
    (bundle.wheelhouse / "cffi-2.1.1-cp314-cp314-manylinux2014_aarch64.whl").write_bytes(b"")
    assert bundle.asset_hash() != before


def test_hash_ignores_caches_tests_and_everything_else(tmp_path):
    bundle = _bundle(tmp_path)
    before = bundle.asset_hash()
    (tmp_path / "app_pkg" / "__pycache__").mkdir()
    (tmp_path / "app_pkg" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "app_pkg" / "tests").mkdir()
    (tmp_path / "app_pkg" / "tests" / "test_x.py").write_text("def test(): pass\n")
    (tmp_path / "README.md").write_text("docs\n")
    (tmp_path / "stack.py").write_text("# a stack\n")
    assert bundle.asset_hash() == before


def test_missing_wheelhouse_names_the_make_target(tmp_path):
    bundle = _bundle(tmp_path)
    shutil.rmtree(bundle.wheelhouse)
    with pytest.raises(WheelhouseMissing) as err:
        bundle.code()
    assert "run `make setup`" in str(err.value) and "\n" not in str(err.value)


def test_stale_wheelhouse_names_the_make_target(tmp_path):
    bundle = _bundle(tmp_path)
    bundle.requirements.write_text("Authlib==1.9.11\n")
    with pytest.raises(WheelhouseMissing, match=r"changed since .* run `make setup`"):
        bundle.asset_hash()


def test_the_auth_server_bundle_is_the_repos_packages():
    assert [p.name for p in AUTH_SERVER_BUNDLE.packages] == ["lark_auth_server", "lark_user_store"]
    assert AUTH_SERVER_BUNDLE.requirements == REPO / "lark_auth_server" / "requirements.txt"
    assert AUTH_SERVER_BUNDLE.make_target == "make setup"
    assert (
        "$(AUTH_WHEELS_STAMP)"
        in (REPO / "Makefile").read_text().split("\nsetup:")[1].split("\n")[0]
    )


def test_synth_without_the_wheels_fails_with_one_line(tmp_path):
    """`cdk synth -c userAuth=true` in a checkout where `make setup` never ran."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("app.py", "cdk.json"):
        shutil.copy2(REPO / name, checkout / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in (
        "stacks",
        "mcp_constructs",
        "lark_mcp_server",
        "lark_auth_server",
        "lark_user_store",
    ):
        shutil.copytree(REPO / name, checkout / name, ignore=ignore)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    context = json.loads((REPO / "cdk.json").read_text())["context"] | {"userAuth": "true"}
    env |= {
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_OUTDIR": str(tmp_path / "out"),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    done = subprocess.run(
        [sys.executable, "app.py"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    last = [line for line in done.stderr.splitlines() if line.strip() and "!!" not in line][-1]
    assert last.startswith("Missing Lambda packages: ") and "run `make setup`" in last
    assert "Traceback" not in done.stderr
