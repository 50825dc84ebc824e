"""Synth-level guarantees: cdk-nag and cfn-lint clean, reproducible, and `make synth` offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import aws_iam as iam

from tests.infra.conftest import (
    REPO,
    STACKS,
    cdk_context,
    copy_checkout,
    synthesize,
    synthesize_checkout,
)


def _assembly_files(outdir: Path) -> dict[str, bytes]:
    """Templates and asset manifests: what `cdk deploy` would upload and compare."""
    names = [f"LarkMcp-{s}.template.json" for s in STACKS]
    names += [f"LarkMcp-{s}.assets.json" for s in STACKS]
    return {name: (outdir / name).read_bytes() for name in names}


def test_cfn_lint_reports_no_errors(synth):
    from cfnlint.api import lint_file

    for stack in STACKS:
        matches = lint_file(synth.file(f"LarkMcp-{stack}.template.json"))
        errors = [str(m) for m in matches if m.rule.id.startswith("E")]
        assert errors == [], stack


def _rule_id(key: str) -> str:
    """`Annotation::AwsSolutions::AwsSolutions-IAM5[...]` -> `AwsSolutions-IAM5[...]`."""
    return key.removeprefix("Annotation::").removeprefix("AwsSolutions::")


def test_cdk_nag_passes_with_every_acknowledgement_reasoned(synth):
    report = json.loads(synth.file("validation-report.json").read_text())
    violations = [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])]
    assert violations == []
    acknowledged = {}
    for construct in synth.app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == "aws:cdk:acknowledged-rules":
                acknowledged.update({_rule_id(key): why for key, why in entry.data.items()})
    assert acknowledged, "expected the app's reasoned cdk-nag acknowledgements"
    for rule, reason in acknowledged.items():
        assert rule.startswith("AwsSolutions-"), rule
        assert len(str(reason)) >= 40, (rule, reason)
    # Only specific findings on specific resources; no rule switched off wholesale.
    iam5 = [rule for rule in acknowledged if rule.startswith("AwsSolutions-IAM5")]
    assert iam5 and all("[Resource::" in rule for rule in iam5)


def test_cdk_nag_is_wired_into_the_app(tmp_path):
    """An unacknowledged wildcard added to the app fails synth: the checks really run."""
    from app import build_app

    app = build_app(cdk_context(), outdir=str(tmp_path), environ={})
    stack = app.node.find_child("LarkMcp-Gateway")
    iam.Policy(
        stack,
        "Careless",
        statements=[iam.PolicyStatement(actions=["s3:*"], resources=["*"])],
        roles=[stack.gateway.role],
    )
    with pytest.raises(
        Exception, match=r"ValidationFailed(.|\n)*AwsSolutions-IAM5\[Action::s3:\*\]"
    ):
        app.synth()


def test_two_synths_in_different_directories_are_byte_identical(synth, tmp_path):
    again = synthesize(tmp_path / "elsewhere")
    assert _assembly_files(again.outdir) == _assembly_files(synth.outdir)


def test_a_copy_of_the_repo_elsewhere_synthesizes_the_same_bytes(synth, tmp_path):
    """Same commit, other absolute path: no path leaks into templates or asset hashes."""
    checkout = copy_checkout(tmp_path / "other" / "checkout", with_tooling=False)
    outdir = synthesize_checkout(checkout, tmp_path / "out")
    assert _assembly_files(outdir) == _assembly_files(synth.outdir)


def test_make_synth_works_offline_without_credentials(make_synth):
    """The CLI path users run: `make synth`, no AWS_* variables, no ~/.aws, no Docker."""
    stdout, stderr = make_synth.process.communicate(timeout=300)
    assert make_synth.process.returncode == 0, stdout[-2000:] + stderr[-4000:]
    for stack in STACKS:
        path = make_synth.checkout / "cdk.out" / f"LarkMcp-{stack}.template.json"
        assert json.loads(path.read_text())["Resources"], stack
    assert "Successfully synthesized" in stderr + stdout
    assert "[Warning" not in stderr and "Unknown option" not in stderr


def test_repo_layout_keeps_the_constructs_library_importable():
    """A top-level `constructs/` package would shadow the library aws_cdk imports."""
    assert not (REPO / "constructs").exists()
    assert (REPO / "mcp_constructs" / "__init__.py").is_file()
