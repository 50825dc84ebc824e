"""`make diff` folds asset-hash-only changes: scripts/readable_diff.py on real `cdk diff` output.

The samples in `cdk_diff_samples/` are verbatim output of the pinned CLI (aws-cdk 2.1148.1):
`cdk diff --app <new cloud assembly> --template <old template>` for a stack with a
DockerImageAsset behind a `CfnRuntime` (and Lambda zip assets), after changing only the image's
content (`diff_hash_only`), the image plus an IAM statement, an env var and an output
(`diff_mixed`, also with colours), two Lambda assets (`diff_lambda_assets`) and nothing
(`diff_none`). The last test produces such output live with the pinned CLI.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.readable_diff import filter_diff

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = Path(__file__).parent / "cdk_diff_samples"
HASH = re.compile(r"[0-9a-f]{64}")
OLD_IMAGE, NEW_IMAGE = "7c965b26", "5fb58ccd"


def sample(name: str) -> str:
    return (SAMPLES / f"{name}.txt").read_text()


def test_hash_only_image_change_becomes_one_note_under_its_resource() -> None:
    out = filter_diff(sample("diff_hash_only"))

    assert not HASH.search(out)
    assert "[~] AWS::BedrockAgentCore::Runtime Runtime Runtime\n" in out
    assert (
        f" └─ image asset changed: {OLD_IMAGE}…→{NEW_IMAGE}… (2 asset-hash-only changes hidden)"
        in out
    )
    assert "AgentRuntimeArtifact" not in out and "EnvironmentVariables" not in out
    assert "✨  Number of stacks with differences: 1" in out


def test_real_changes_stay_verbatim_beside_the_note() -> None:
    raw = sample("diff_mixed")
    out = filter_diff(raw)

    # The IAM table and the policy hunk are exactly what cdk printed.
    table = raw[raw.index("IAM Statement Changes") : raw.index("Resources")]
    hunk = raw[raw.index("[~] AWS::IAM::Policy") : raw.index("[~] AWS::BedrockAgentCore")]
    assert table in out and hunk in out
    # The runtime keeps its real change, with connectors redrawn around the note.
    runtime_block = (
        "[~] AWS::BedrockAgentCore::Runtime Runtime Runtime\n"
        " ├─ [~] EnvironmentVariables\n"
        " │   └─ [~] .LOG_LEVEL:\n"
        " │       ├─ [-] INFO\n"
        " │       └─ [+] DEBUG\n"
        f" └─ image asset changed: {OLD_IMAGE}…→{NEW_IMAGE}… (2 asset-hash-only changes hidden)\n"
    )
    assert runtime_block in out
    assert '[+] Output New New: {"Value":"x"}' in out
    assert not HASH.search(out)


def test_colours_are_stripped_before_folding() -> None:
    coloured = sample("diff_mixed_color")
    assert "\x1b[" in coloured and HASH.search(coloured)

    out = filter_diff(coloured)

    assert "\x1b[" not in out and not HASH.search(out)
    assert " │       └─ [+] DEBUG\n └─ image asset changed: 7c965b26…→5fb58ccd…" in out


def test_zip_assets_and_single_line_outputs_are_folded() -> None:
    out = filter_diff(sample("diff_lambda_assets"))

    assert not HASH.search(out)
    assert "[~] AWS::Lambda::Function Fn Fn\n └─ image asset changed:" in out
    assert "[~] AWS::Lambda::Function Zip Zip9471D920\n └─ file asset changed: c5ff40e4…" in out
    assert "[~] Output Uri Uri: image asset changed: 7c965b26…→5fb58ccd…" in out
    assert "(5 asset-hash-only changes folded by scripts/readable_diff.py" in out


def test_no_differences_pass_through_unchanged() -> None:
    raw = sample("diff_none")

    assert filter_diff(raw) == raw


def test_a_line_that_moves_more_than_a_hash_is_kept() -> None:
    old_hash, new_hash = "a" * 64, "b" * 64
    raw = (
        "Stack Demo\nResources\n[~] AWS::Lambda::Function Fn Fn\n"
        " └─ [~] Handler\n"
        f"     ├─ [-] index.main:{old_hash}\n"
        f"     └─ [+] app.main:{new_hash}\n"
    )

    assert filter_diff(raw) == raw


@pytest.fixture(scope="module")
def two_assemblies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Synthesize one small app twice, the image directory's content changed in between."""
    import aws_cdk as cdk
    from aws_cdk import aws_bedrockagentcore as agentcore
    from aws_cdk import aws_ecr_assets as ecr_assets

    base = tmp_path_factory.mktemp("diff")
    outdirs = []
    for version in ("v1", "v2"):
        image = base / f"image-{version}"
        image.mkdir()
        (image / "Dockerfile").write_text("FROM scratch\nCOPY data.txt /\n")
        (image / "data.txt").write_text(version)
        app = cdk.App(outdir=str(base / f"out-{version}"))
        stack = cdk.Stack(
            app, "Demo", env=cdk.Environment(account="111111111111", region="eu-west-1")
        )
        asset = ecr_assets.DockerImageAsset(
            stack, "Image", directory=str(image), platform=ecr_assets.Platform.LINUX_ARM64
        )
        agentcore.CfnRuntime(
            stack,
            "Runtime",
            agent_runtime_name="demo",
            role_arn="arn:aws:iam::111111111111:role/demo",
            agent_runtime_artifact=agentcore.CfnRuntime.AgentRuntimeArtifactProperty(
                container_configuration=agentcore.CfnRuntime.ContainerConfigurationProperty(
                    container_uri=asset.image_uri
                )
            ),
            network_configuration=agentcore.CfnRuntime.NetworkConfigurationProperty(
                network_mode="PUBLIC"
            ),
            protocol_configuration="MCP",
        )
        outdirs.append(Path(app.synth().directory))
    return outdirs[0], outdirs[1]


def test_live_cdk_diff_of_a_rebuilt_image_reads_as_one_line(
    two_assemblies: tuple[Path, Path],
) -> None:
    old, new = two_assemblies
    old_uri = json.loads((old / "Demo.template.json").read_text())["Resources"]["Runtime"]
    assert HASH.search(json.dumps(old_uri))
    cdk = ROOT / "node_modules" / ".bin" / "cdk"
    assert cdk.exists(), "the pinned CDK CLI is missing: run `make setup` (npm ci) first"

    diff = subprocess.run(
        [
            str(cdk),
            "--no-notices",
            "diff",
            "--app",
            str(new),
            "--template",
            str(old / "Demo.template.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={
            "PATH": f"{ROOT / '.venv' / 'bin'}:/usr/bin:/bin",
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "HOME": str(old.parent),
        },
    )
    raw = diff.stdout + diff.stderr
    assert "[-]" in raw and HASH.search(raw), raw

    # The same pipe as `make diff`.
    folded = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "readable_diff.py")],
        input=raw,
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert not HASH.search(folded), folded
    assert re.search(
        r"\[~\] AWS::BedrockAgentCore::Runtime Runtime Runtime\n"
        r" └─ image asset changed: [0-9a-f]{8}…→[0-9a-f]{8}… \(1 asset-hash-only change hidden\)",
        folded,
    ), folded
