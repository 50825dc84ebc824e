"""Every stack template, as synthesized, against a reviewed snapshot (`pytest --snapshot-update`).

Asset hashes (64 hex characters: the server image tag) are masked, so the snapshots change
when the infrastructure changes, not when a line of the server does.
"""

from __future__ import annotations

import re

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.infra.conftest import STACKS

_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def mask_asset_hashes(*, data, path):
    if isinstance(data, str):
        return _ASSET_HASH.sub("<asset-hash>", data)
    return data


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", STACKS)
def test_template_matches_snapshot(synth, snapshot_json, stack):
    assert synth.raw[stack] == snapshot_json(matcher=mask_asset_hashes)


def test_masking_hides_only_asset_hashes():
    image = "123.dkr.ecr.us-east-1.amazonaws.com/repo:" + "ab" * 32
    assert mask_asset_hashes(data=image, path=()) == (
        "123.dkr.ecr.us-east-1.amazonaws.com/repo:<asset-hash>"
    )
    assert mask_asset_hashes(data="LarkMcp_server", path=()) == "LarkMcp_server"
    assert mask_asset_hashes(data=3, path=()) == 3
