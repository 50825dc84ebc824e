"""The ``userAuth`` app: cdk-nag and cfn-lint clean, reproducible, auth Lambda bundled offline."""

from __future__ import annotations

import json
from pathlib import Path

from tests.user_auth_cdk.conftest import USER_AUTH, USER_STACKS, synthesize

REPO = Path(__file__).resolve().parents[2]


def _rule_id(key: str) -> str:
    return key.removeprefix("Annotation::").removeprefix("AwsSolutions::")


def test_cfn_lint_reports_no_errors(user_app):
    from cfnlint.api import lint_file

    for stack in user_app.stacks():
        matches = lint_file(user_app.outdir / f"LarkMcp-{stack}.template.json")
        assert [str(m) for m in matches if m.rule.id.startswith("E")] == [], stack


def test_cdk_nag_passes_with_specific_reasoned_acknowledgements(user_app):
    report = json.loads((user_app.outdir / "validation-report.json").read_text())
    violations = [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])]
    # Only the intended warning of an app without larkUserScopes (annotations are reported too).
    assert [(v["ruleName"], v["severity"]) for v in violations] == [
        ("Annotation::lark-mcp:larkUserScopes", "warning")
    ]
    acknowledged = {}
    for construct in user_app.app.node.find_all():
        if not construct.node.path.split("/")[0].endswith(USER_STACKS):
            continue
        for entry in construct.node.metadata:
            if entry.type == "aws:cdk:acknowledged-rules":
                for key, why in entry.data.items():
                    acknowledged[(construct.node.path, _rule_id(key))] = why
    rules = {rule for _, rule in acknowledged}
    assert "AwsSolutions-APIG4" in rules and "AwsSolutions-SMG4" in rules
    for (path, rule), reason in acknowledged.items():
        assert len(str(reason)) >= 40, (path, rule)
        if rule.startswith("AwsSolutions-IAM5"):
            assert "[" in rule, (path, rule)  # one finding, never the whole rule


def _assembly_files(outdir: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in sorted(outdir.iterdir())
        if p.name.endswith((".template.json", ".assets.json"))
    }


def test_two_synths_are_byte_identical(user_app, tmp_path):
    again = synthesize(tmp_path / "elsewhere", USER_AUTH)
    assert _assembly_files(again.outdir) == _assembly_files(user_app.outdir)


def _auth_asset(assembly) -> Path:
    assets = json.loads((assembly.outdir / "LarkMcp-UserAuth.assets.json").read_text())
    (path,) = [
        a["source"]["path"]
        for a in assets["files"].values()
        if a["source"]["path"].startswith("asset.")
        and (assembly.outdir / a["source"]["path"] / "lark_auth_server").is_dir()
    ]
    return assembly.outdir / path


def test_auth_lambda_bundle_holds_arm64_wheels_and_our_packages(user_app):
    asset = _auth_asset(user_app)
    names = {p.name for p in asset.iterdir()}
    assert {"lark_auth_server", "lark_user_store", "authlib", "joserfc", "cryptography"} <= names
    binaries = [p for p in asset.rglob("*.so")]
    assert binaries, "cryptography/cffi ship compiled modules"
    for binary in binaries:
        with binary.open("rb") as f:
            header = f.read(20)
        assert header[:4] == b"\x7fELF"
        assert int.from_bytes(header[18:20], "little") == 183, binary  # EM_AARCH64
    assert not (asset / "bin").exists()
    assert not list(asset.rglob("__pycache__"))
    assert not list(asset.rglob("tests"))
    # No path of this machine inside the asset (it would differ per checkout).
    for path in asset.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".txt", ".json", ""):
            assert str(REPO).encode() not in path.read_bytes(), path


def test_requirements_are_fully_pinned():
    """pip resolves from the wheelhouse alone: every line is an exact pin."""
    lines = [
        line.split("#")[0].strip()
        for line in (REPO / "lark_auth_server" / "requirements.txt").read_text().splitlines()
    ]
    pins = [line for line in lines if line]
    assert pins and all("==" in line for line in pins), pins


def test_the_handler_module_imports_from_the_asset_alone(user_app):
    """The Lambda's entry point and the store resolve from the asset, with no site-packages
    (compiled wheels are aarch64 and are imported lazily, on the first request)."""
    import subprocess
    import sys

    asset = _auth_asset(user_app)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import lark_auth_server.aws_lambda as m, lark_user_store;"
        "assert callable(m.handler); print(m.__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(asset)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(asset))
