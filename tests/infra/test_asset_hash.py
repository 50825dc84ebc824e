"""The server image's asset hash moves only when what goes into the image moves.

The image is built from the repository root (root `Dockerfile`), narrowed by the root
`.dockerignore` to an allowlist. Editing the README, docs, tests, stacks or CDK code must not
rebuild the image or redeploy the runtime; editing the server must.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from aws_cdk import App, AssetStaging

from stacks.config import AppConfig
from stacks.runtime_stack import RuntimeStack
from tests.infra.conftest import REPO, cdk_context

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache")


def _image_hash(app: App, name: str, build_dir: Path) -> str:
    # CDK caches a directory's hash per process by path; we edit files between calls.
    AssetStaging.clear_asset_hash_cache()
    stack = RuntimeStack(app, name, config=AppConfig(), build_dir=build_dir, env=None)
    return stack.runtime.image_asset_hash


def _checkout(dest: Path) -> Path:
    """The image's inputs plus the kinds of files around them that must not count."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Dockerfile", ".dockerignore", "README.md", "app.py", "cdk.json"):
        shutil.copy2(REPO / name, dest / name)
    for name in ("lark_mcp_server", "lark_user_store", "stacks", "mcp_constructs", "docs"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, dest / name, ignore=_IGNORE)
    (dest / "tests").mkdir()
    (dest / "tests" / "test_x.py").write_text("def test_x():\n    pass\n")
    return dest


def _edit(path: Path, text: str = "\n# changed\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((path.read_text() if path.exists() else "") + text)


def test_only_image_content_moves_the_hash(tmp_path):
    checkout = _checkout(tmp_path / "checkout")
    server = checkout / "lark_mcp_server"
    app = App(context=cdk_context())
    before = _image_hash(app, "Before", checkout)

    # Outside the allowlist, or excluded inside it: no new image.
    _edit(checkout / "README.md")
    _edit(checkout / "docs" / "operations.md")
    _edit(checkout / "tests" / "test_x.py")
    _edit(checkout / "stacks" / "runtime_stack.py")
    _edit(checkout / "mcp_constructs" / "gateway.py")
    _edit(checkout / "app.py")
    _edit(checkout / "lark_auth_server" / "__init__.py", '"""not in the image"""\n')
    (server / "__pycache__").mkdir(exist_ok=True)
    (server / "__pycache__" / "server.cpython-311.pyc").write_bytes(b"\x00compiled")
    _edit(server / "tests" / "test_local.py")
    _edit(server / ".venv" / "pyvenv.cfg", "home = /usr/bin\n")
    (checkout / "cdk.out").mkdir()
    _edit(checkout / "cdk.out" / "manifest.json", "{}")
    (checkout / "node_modules").mkdir()
    assert _image_hash(app, "Unrelated", checkout) == before

    # A change to the server's code: a new image.
    _edit(server / "server.py")
    changed = _image_hash(app, "Changed", checkout)
    assert changed != before

    # One more package in the image: one allowlist line, and the hash moves with it.
    ignore = checkout / ".dockerignore"
    ignore.write_text(
        ignore.read_text().replace("!lark_mcp_server\n", "!lark_mcp_server\n!lark_extra\n")
    )
    _edit(checkout / "lark_extra" / "__init__.py", '"""one more package"""\n')
    with_extra = _image_hash(app, "WithExtra", checkout)
    assert with_extra != changed
    _edit(checkout / "lark_extra" / "__init__.py")
    assert _image_hash(app, "ExtraChanged", checkout) != with_extra

    # The token store the server imports is in the image: editing it moves the hash.
    before_store = _image_hash(app, "BeforeStore", checkout)
    _edit(checkout / "lark_user_store" / "__init__.py")
    assert _image_hash(app, "StoreChanged", checkout) != before_store


def test_staged_context_holds_only_the_allowlist(tmp_path):
    """What `cdk deploy` hands to `docker build`: the Dockerfile, .dockerignore, the server."""
    checkout = _checkout(tmp_path / "checkout")
    outdir = tmp_path / "out"
    app = App(context=cdk_context(), outdir=str(outdir))
    AssetStaging.clear_asset_hash_cache()
    RuntimeStack(app, "Staged", config=AppConfig(), build_dir=checkout, env=None)
    assembly = app.synth()
    (staged,) = [
        p
        for p in Path(assembly.directory).iterdir()
        if p.name.startswith("asset.") and (p / "Dockerfile").exists()
    ]
    assert sorted(p.name for p in staged.iterdir()) == [
        ".dockerignore",
        "Dockerfile",
        "lark_mcp_server",
        "lark_user_store",
    ]
    served = sorted(p.name for p in (staged / "lark_mcp_server").iterdir())
    expected = sorted(
        p.name
        for p in (REPO / "lark_mcp_server").iterdir()
        # tool_schemas.json: written by the image build, never taken from a working tree.
        if p.name not in ("__pycache__", "tests", "tool_schemas.json")
        and p.suffix not in (".pyc", ".md")
    )
    assert served == expected
    assert "requirements.txt" in served and "__main__.py" in served


def test_hash_does_not_depend_on_where_the_checkout_lives(tmp_path):
    app = App(context=cdk_context())
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "c").mkdir(parents=True)
    first = _checkout(tmp_path / "a")
    second = _checkout(tmp_path / "b" / "c")
    assert _image_hash(app, "First", first) == _image_hash(app, "Second", second)
    assert len(_image_hash(app, "Third", first)) == 64


def test_dockerfile_is_at_the_root_and_builds_from_the_root():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert not (REPO / "lark_mcp_server" / "Dockerfile").exists()
    assert "COPY lark_mcp_server/requirements.txt" in dockerfile
    assert 'CMD ["python", "-m", "lark_mcp_server"]' in dockerfile
    lines = (REPO / ".dockerignore").read_text().splitlines()
    assert lines[[line.startswith("#") for line in lines].index(False)] == "*"
    assert "!lark_mcp_server" in lines


def test_a_build_directory_without_dockerfile_is_refused_early(tmp_path):
    (tmp_path / "server.py").write_text("print('hi')\n")
    with pytest.raises(ValueError, match="no Dockerfile in"):
        _image_hash(App(context=cdk_context()), "NoDockerfile", tmp_path)
