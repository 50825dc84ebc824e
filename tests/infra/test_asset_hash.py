"""The server image's asset hash moves only when what goes into the image moves."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from aws_cdk import App, AssetStaging

from stacks.config import AppConfig
from stacks.runtime_stack import RuntimeStack
from tests.infra.conftest import REPO, cdk_context


def _image_hash(app: App, name: str, server_dir: Path) -> str:
    # CDK caches a directory's hash per process by path; we edit files between calls.
    AssetStaging.clear_asset_hash_cache()
    stack = RuntimeStack(app, name, config=AppConfig(), server_dir=server_dir, env=None)
    return stack.runtime.image_asset_hash


def test_only_image_content_moves_the_hash(tmp_path):
    checkout = tmp_path / "checkout"
    shutil.copytree(
        REPO / "lark_mcp_server",
        checkout / "lark_mcp_server",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    (checkout / "README.md").write_text("# readme\n")
    (checkout / "tests").mkdir()
    (checkout / "tests" / "test_x.py").write_text("def test_x():\n    pass\n")
    server = checkout / "lark_mcp_server"
    app = App(context=cdk_context())
    before = _image_hash(app, "Before", server)

    # Outside the build context, or excluded from it: no new image.
    (checkout / "README.md").write_text("# readme, edited\n")
    (checkout / "tests" / "test_x.py").write_text("def test_x():\n    assert True\n")
    (server / "__pycache__").mkdir(exist_ok=True)
    (server / "__pycache__" / "server.cpython-311.pyc").write_bytes(b"\x00compiled")
    (server / "tests").mkdir(exist_ok=True)
    (server / "tests" / "test_local.py").write_text("def test_local():\n    pass\n")
    (server / ".venv").mkdir(exist_ok=True)
    (server / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    assert _image_hash(app, "Unrelated", server) == before

    # A change to the server's code: a new image.
    server_py = server / "server.py"
    server_py.write_text(server_py.read_text() + "\n# changed\n")
    assert _image_hash(app, "Changed", server) != before


def test_hash_does_not_depend_on_where_the_checkout_lives(tmp_path):
    app = App(context=cdk_context())
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    first = shutil.copytree(
        REPO / "lark_mcp_server", tmp_path / "a" / "lark_mcp_server", ignore=ignore
    )
    second = shutil.copytree(
        REPO / "lark_mcp_server", tmp_path / "b" / "c" / "lark_mcp_server", ignore=ignore
    )
    assert _image_hash(app, "First", first) == _image_hash(app, "Second", second)
    assert len(_image_hash(app, "Third", first)) == 64


def test_a_server_directory_without_dockerfile_is_refused_early(tmp_path):
    (tmp_path / "server.py").write_text("print('hi')\n")
    with pytest.raises(ValueError, match="no Dockerfile in"):
        _image_hash(App(context=cdk_context()), "NoDockerfile", tmp_path)
