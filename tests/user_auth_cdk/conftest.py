"""One synthesis of the app with ``userAuth: true`` (and one without) per test session.

Built like `cdk synth` builds it (cdk.json's context), with no AWS environment. The auth Lambda
is bundled from the wheelhouse `make setup` downloads (build/wheelhouse/lark_auth_server).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

BOT_STACKS = ("Cognito", "Runtime", "Gateway")
USER_STACKS = ("UserAuth", "UserGateway")
USER_AUTH = {"userAuth": True}


def cdk_context() -> dict:
    from tests.infra.conftest import cdk_context as context

    return context()


@dataclass
class Assembly:
    outdir: Path
    app: object
    prefix: str = "LarkMcp"

    def raw(self, stack: str) -> dict:
        return json.loads((self.outdir / f"{self.prefix}-{stack}.template.json").read_text())

    def template(self, stack: str):
        from aws_cdk.assertions import Template

        return Template.from_json(self.raw(stack))

    def stacks(self) -> list[str]:
        manifest = json.loads((self.outdir / "manifest.json").read_text())
        return sorted(
            name.removeprefix(f"{self.prefix}-")
            for name, artifact in manifest["artifacts"].items()
            if artifact["type"] == "aws:cloudformation:stack"
        )

    def dependencies(self, stack: str) -> set[str]:
        manifest = json.loads((self.outdir / "manifest.json").read_text())
        deps = manifest["artifacts"][f"{self.prefix}-{stack}"].get("dependencies", [])
        return {d.removeprefix(f"{self.prefix}-") for d in deps if not d.endswith(".assets")}


def synthesize(outdir: Path, context: dict | None = None) -> Assembly:
    from app import build_app

    ctx = cdk_context() | (context or {})
    app = build_app(ctx, outdir=str(outdir), environ={})
    app.synth()
    return Assembly(outdir=outdir, app=app, prefix=ctx.get("stackPrefix", "LarkMcp"))


@pytest.fixture(scope="session")
def user_app(tmp_path_factory) -> Assembly:
    return synthesize(tmp_path_factory.mktemp("user-auth"), USER_AUTH)


@pytest.fixture(scope="session")
def default_app(tmp_path_factory) -> Assembly:
    return synthesize(tmp_path_factory.mktemp("default"))
