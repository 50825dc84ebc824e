"""The deploy-check Lambdas carry the botocore models they call, whatever boto3 the runtime has.

The runtime's botocore is simulated: a data directory as an older Lambda runtime ships it (the
top-level files, and an AgentCore model from before ``SynchronizeGatewayTargets``, or none at
all), installed as botocore's built-in data. The handler module is imported from the
synthesized asset, as Lambda imports it, with ``AWS_DATA_PATH`` as the template sets it.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import aws_cdk as cdk
import boto3
import botocore
import pytest
from botocore.loaders import Loader
from botocore.stub import Stubber

from mcp_constructs.deploy_checks import GatewayToolSync
from mcp_constructs.deploy_checks.botocore_models import (
    DATA_DIR_NAME,
    LAMBDA_DATA_PATH,
    LAMBDA_TASK_ROOT,
    SHIPPED_SERVICES,
    builtin_loader,
    stage_asset,
    staged_asset,
    write_models,
)
from tests.deploy_checks import events
from tests.deploy_checks.bare_gateway import bare_gateway, mcp_target

REPO = Path(__file__).resolve().parents[2]
AGENTCORE = "bedrock-agentcore-control"
GATEWAY = "lark-mcp-gateway-a1b2c3d4e5"
TARGET = "TGT0000001"
#: Protocols botocore has spoken for years; a model moving to a newer one (e.g. CBOR) would
#: need a newer botocore than a Lambda runtime may have, so shipping it would not help.
CLASSIC_PROTOCOLS = {"json", "rest-json", "query", "rest-xml", "ec2"}


@functools.cache
def synthesized(outdir: str) -> tuple[dict[str, Any], Path]:
    """A bare stack with the tool sync, synthesized to ``outdir``: (template, cdk.out dir)."""
    app = cdk.App(outdir=outdir)
    stack = cdk.Stack(
        app, "ModelsTest", env=cdk.Environment(account="123456789012", region="us-east-1")
    )
    _, gateway = bare_gateway(stack, allowed_clients=["client"])
    target = mcp_target(stack, "Target", gateway, name="lark", endpoint="https://example.com/mcp")
    GatewayToolSync(stack, "ToolSync", gateway=gateway, targets=[target])
    app.synth()
    template = json.loads((Path(outdir) / "ModelsTest.template.json").read_text())
    return template, Path(outdir)


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    return synthesized(str(tmp_path_factory.mktemp("cdk.out")))


def our_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The deploy-check handlers (the Provider framework's functions are aws-cdk-lib's)."""
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource["Properties"].get("Handler", "").startswith("tool_sync.")
    }


def asset_dir(assembly: tuple[dict[str, Any], Path], function: dict[str, Any]) -> Path:
    """The directory CDK zips for ``function`` (cdk.out/asset.<hash>)."""
    _, outdir = assembly
    asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    return outdir / f"asset.{asset_hash}"


# --- the template and the asset ------------------------------------------------------------


def test_handlers_read_the_models_shipped_in_their_asset(assembly) -> None:
    template, _ = assembly
    functions = our_functions(template)
    assert len(functions) == 2  # on_event, is_complete
    for function in functions.values():
        env = function["Properties"]["Environment"]["Variables"]
        assert env["AWS_DATA_PATH"] == LAMBDA_DATA_PATH
        shipped = asset_dir(assembly, function) / env["AWS_DATA_PATH"].removeprefix(
            LAMBDA_TASK_ROOT + "/"
        )
        for service in SHIPPED_SERVICES:
            models = sorted(p.name for p in shipped.glob(f"{service}/*/*"))
            assert models == ["endpoint-rule-set-1.json", "service-2.json"], service
        assert (asset_dir(assembly, function) / "tool_sync.py").is_file()


def test_shipped_models_are_the_pinned_botocores(assembly) -> None:
    template, _ = assembly
    function = next(iter(our_functions(template).values()))
    shipped = Loader(
        extra_search_paths=[str(asset_dir(assembly, function) / DATA_DIR_NAME)],
        include_default_search_paths=False,
    )
    for service in SHIPPED_SERVICES:
        assert shipped.load_service_model(
            service, "service-2"
        ) == builtin_loader().load_service_model(service, "service-2")


def test_pins_are_exact_and_installed() -> None:
    """The asset is built from the installed botocore: it must be the one requirements.txt pins."""
    pins = dict(
        re.findall(
            r"^(boto3|botocore)==([\w.]+)\s*$", (REPO / "requirements.txt").read_text(), re.M
        )
    )
    assert pins == {"boto3": boto3.__version__, "botocore": botocore.__version__}


def test_shipped_models_speak_protocols_an_older_botocore_knows() -> None:
    for service in SHIPPED_SERVICES:
        metadata = builtin_loader().load_service_model(service, "service-2")["metadata"]
        assert metadata["protocol"] in CLASSIC_PROTOCOLS, (service, metadata["protocol"])


def test_asset_hash_is_stable_and_moves_with_the_model(tmp_path: Path) -> None:
    fingerprint = cdk.FileSystem.fingerprint
    first = stage_asset(tmp_path / "one")
    second = stage_asset(tmp_path / "elsewhere" / "two")
    assert fingerprint(str(first)) == fingerprint(str(second))
    assert fingerprint(str(first)) == fingerprint(str(staged_asset()))

    # A newer botocore: the same services, one AgentCore operation more.
    newer = tmp_path / "newer-botocore-data"
    write_models(newer)
    model_file = next(newer.glob(f"{AGENTCORE}/*/service-2.json"))
    model = json.loads(model_file.read_text())
    model["operations"]["DescribeSomethingNew"] = {
        "name": "DescribeSomethingNew",
        "http": {"method": "GET", "requestUri": "/new", "responseCode": 200},
    }
    model_file.write_text(json.dumps(model))
    moved = stage_asset(tmp_path / "three", source=newer)
    assert fingerprint(str(moved)) != fingerprint(str(first))


def test_the_template_names_the_asset_by_its_content(assembly) -> None:
    template, _ = assembly
    for function in our_functions(template).values():
        key = function["Properties"]["Code"]["S3Key"]
        assert key == f"{cdk.FileSystem.fingerprint(str(staged_asset()))}.zip"


def test_two_processes_stage_the_same_template(assembly, tmp_path: Path) -> None:
    """A fresh staging directory (as a second `cdk synth` makes) changes no byte."""
    template, _ = assembly
    staged_asset.cache_clear()
    try:
        again, _ = synthesized(str(tmp_path / "again"))
    finally:
        staged_asset.cache_clear()
    assert json.dumps(again, sort_keys=True) == json.dumps(template, sort_keys=True)


# --- an old runtime botocore ---------------------------------------------------------------


def old_runtime_data(root: Path, agentcore: str) -> Path:
    """botocore ``data/`` as an older runtime ships it; ``agentcore``: "old" model or "none"."""
    builtin = Path(Loader.BUILTIN_DATA_PATH)
    root.mkdir(parents=True)
    for path in builtin.iterdir():
        if path.is_file():  # endpoints.json, partitions.json, _retry.json, sdk defaults
            shutil.copyfile(path, root / path.name)
    write_models(root, services=["cloudformation", "cognito-idp"])
    if agentcore == "old":
        write_models(root, services=[AGENTCORE])
        model_file = next(root.glob(f"{AGENTCORE}/*/service-2.json"))
        model = json.loads(model_file.read_text())
        del model["operations"]["SynchronizeGatewayTargets"]
        model_file.write_text(json.dumps(model))
    return root


def import_from_asset(asset: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``tool_sync`` imported the way Lambda imports it: a top-level module of the asset root."""
    monkeypatch.syspath_prepend(str(asset))
    for name in ("tool_sync", "rollback"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    spec = importlib.util.spec_from_file_location("tool_sync", asset / "tool_sync.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "tool_sync", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def old_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request) -> Iterator[None]:
    """Botocore's built-in data replaced by an old runtime's; fresh boto3 default session."""
    data = old_runtime_data(tmp_path / "runtime-botocore-data", request.param)
    monkeypatch.setattr(Loader, "BUILTIN_DATA_PATH", str(data))
    monkeypatch.setattr(Loader, "CUSTOMER_DATA_PATH", str(tmp_path / "no-home-models"))
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_DATA_PATH", raising=False)
    yield


@pytest.mark.parametrize("old_runtime", ["old"], indirect=True)
def test_without_the_shipped_models_an_old_runtime_lacks_the_call(
    old_runtime, assembly, monkeypatch
):
    """The control: the simulated runtime's AgentCore model really predates the call."""
    template, _ = assembly
    asset = asset_dir(assembly, next(iter(our_functions(template).values())))
    handler = import_from_asset(asset, monkeypatch)
    assert "get_gateway_target" in dir(handler.client())
    assert "synchronize_gateway_targets" not in dir(handler.client())


@pytest.mark.parametrize("old_runtime", ["none"], indirect=True)
def test_without_the_shipped_models_a_runtime_without_agentcore_fails(
    old_runtime, assembly, monkeypatch
):
    template, _ = assembly
    asset = asset_dir(assembly, next(iter(our_functions(template).values())))
    handler = import_from_asset(asset, monkeypatch)
    with pytest.raises(botocore.exceptions.UnknownServiceError):
        handler.client()


@pytest.mark.parametrize("old_runtime", ["old", "none"], indirect=True)
def test_the_shipped_models_make_an_old_runtime_sync(old_runtime, assembly, monkeypatch):
    template, _ = assembly
    function = next(iter(our_functions(template).values()))
    asset = asset_dir(assembly, function)
    data_path = function["Properties"]["Environment"]["Variables"]["AWS_DATA_PATH"]
    monkeypatch.setenv("AWS_DATA_PATH", data_path.replace(LAMBDA_TASK_ROOT, str(asset), 1))
    handler = import_from_asset(asset, monkeypatch)
    control = handler.client()
    loaded_from = control._loader.load_data_with_path(
        f"{AGENTCORE}/{control.meta.service_model.api_version}/service-2"
    )[1]
    assert Path(loaded_from).is_relative_to(asset)

    event = events.create(
        "Custom::GatewayToolSync",
        {"GatewayIdentifier": GATEWAY, "TargetIds": [TARGET], "MaxWaitSeconds": "600"},
    )
    now = datetime.now(UTC)
    target = {
        "gatewayArn": f"arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/{GATEWAY}",
        "targetId": TARGET,
        "createdAt": now,
        "updatedAt": now,
        "status": "READY",
        "name": "lark",
        "targetConfiguration": {"mcp": {"mcpServer": {"endpoint": "https://example.com/mcp"}}},
        "credentialProviderConfigurations": [{"credentialProviderType": "GATEWAY_IAM_ROLE"}],
        "lastSynchronizedAt": now,
    }
    with Stubber(control) as stubber:
        stubber.add_response(
            "synchronize_gateway_targets",
            {"targets": [target]},
            {"gatewayIdentifier": GATEWAY, "targetIdList": [TARGET]},
        )
        stubber.add_response(
            "get_gateway_target", target, {"gatewayIdentifier": GATEWAY, "targetId": TARGET}
        )
        started = handler.on_event(event)
        assert handler.is_complete({**event, **started})["IsComplete"] is True
        stubber.assert_no_pending_responses()
