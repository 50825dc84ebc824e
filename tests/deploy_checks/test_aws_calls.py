"""Every AWS API call our code makes matches the botocore model it loads at run time.

The calls are found by reading the code (``aws_calls.py``), not from a list: every module
outside ``tests/`` that imports boto3 or botocore is scanned. The model is the one the code
will really load:

- the deploy-check Lambdas (``mcp_constructs/deploy_checks/runtime/``): the models shipped in
  their asset (``AWS_DATA_PATH``), and nothing else, not the runtime's own botocore;
- everything else (``verify``, ``quicksuite``, ``doctor``, ...) runs on the operator's machine
  with the botocore pinned in requirements.txt (test_botocore_models checks the pin).

A call the scanner cannot tie to one service fails the test too, so a new call is either
validated or rewritten so that it can be. And every call found must also be driven, with real
values, through botocore's Stubber by some test (the handler, verify, quicksuite and doctor
tests).
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.loaders import Loader

from mcp_constructs.adopted_secret import HANDLER_SERVICES
from mcp_constructs.deploy_checks.botocore_models import (
    DATA_DIR_NAME,
    SHIPPED_SERVICES,
    builtin_loader,
    staged_asset,
)
from tests.deploy_checks.aws_calls import Call, ModelSet, python_files, scan, validate

REPO = Path(__file__).resolve().parents[2]
LAMBDA_CODE = "mcp_constructs/deploy_checks/runtime/"
#: Directories of Lambda code that ship their botocore models (``botocore_models.staged_asset``),
#: and the services they ship. Lambda code elsewhere that uses boto3 fails
#: ``test_every_lambda_that_calls_aws_ships_its_models``.
SHIPPING_LAMBDAS: dict[str, tuple[str, ...]] = {
    LAMBDA_CODE: SHIPPED_SERVICES,
    "mcp_constructs/adopted_secret_handler/": HANDLER_SERVICES,
}


@functools.cache
def lambda_models(code_dir: str) -> ModelSet:
    services = SHIPPING_LAMBDAS[code_dir]
    shipped = staged_asset(REPO / code_dir, services) / DATA_DIR_NAME
    loader = Loader(extra_search_paths=[str(shipped)], include_default_search_paths=False)
    return ModelSet("the Lambda asset's botocore_data/ (add it to SHIPPED_SERVICES)", loader)


@functools.cache
def cli_models() -> ModelSet:
    return ModelSet("the pinned botocore", builtin_loader())


def models_for(path: str) -> ModelSet:
    for code_dir in SHIPPING_LAMBDAS:
        if path.startswith(code_dir):
            return lambda_models(code_dir)
    return cli_models()


@pytest.fixture(scope="module")
def repo_scan() -> tuple[list[Call], list[Any], list[str]]:
    return scan(python_files(REPO), REPO, models_for)


def test_every_aws_call_matches_the_model_it_loads_at_run_time(repo_scan) -> None:
    calls, findings, _ = repo_scan
    problems = [str(f) for f in findings]
    problems += [str(f) for call in calls for f in validate(call, models_for(call.path))]
    assert problems == []


def test_the_scan_reaches_every_module_that_calls_aws(repo_scan) -> None:
    """Each module that creates or receives a client has its calls found (none slips by)."""
    calls, _, scanned = repo_scan
    with_calls = {call.path for call in calls}
    for path in scanned:
        source = (REPO / path).read_text()
        if re.search(r"\.client\(|boto3\.|def client\(", source) and "import boto3" in source:
            assert path in with_calls or _hands_clients_on(path, with_calls), (
                f"{path} makes AWS clients but no call was found in it"
            )
    # The CLIs and the deploy checks, as they stand: a regression guard for the scanner itself.
    for path in (
        "mcp_constructs/verify.py",
        "mcp_constructs/quicksuite.py",
        "mcp_constructs/doctor.py",
        f"{LAMBDA_CODE}tool_sync.py",
        f"{LAMBDA_CODE}smoke_handler.py",
        f"{LAMBDA_CODE}rollback.py",
    ):
        assert path in with_calls, path


def _hands_clients_on(path: str, with_calls: set[str]) -> bool:
    """True when every client or session ``path`` makes goes straight into a function imported
    from a module whose calls were found (``sign_in_handler`` gives ``rollback`` its client,
    ``verify_sign_in`` gives ``verify.stack_outputs`` its session), and it calls no
    ``.client(...)`` itself."""
    here = (REPO / path).parent
    tree = ast.parse((REPO / path).read_text())
    receivers: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for base in (REPO, here, here.parent):
                module = base / f"{node.module.replace('.', '/')}.py"
                if module.is_file() and module.relative_to(REPO).as_posix() in with_calls:
                    receivers.update(alias.asname or alias.name for alias in node.names)
    factory = {  # the handlers' `def client(service=...)`: how `client()` makes one
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "client"
        for inner in ast.walk(node)
    }
    made: dict[int, ast.Call] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in factory:
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "client":
            return False  # it makes clients of its own: their calls must be found in it
        if (isinstance(func, ast.Name) and func.id == "client") or (
            isinstance(func, ast.Attribute) and func.attr == "Session"
        ):
            made[id(node)] = node
    holders = {
        target.id: id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and id(node.value) in made
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    handed: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in receivers
        ):
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                handed.add(id(arg))
                if isinstance(arg, ast.Name) and arg.id in holders:
                    handed.add(holders[arg.id])
    return bool(made) and set(made) <= handed


def _stubbed_operations() -> dict[str, set[str]]:
    """Operation -> test files that queue a botocore Stubber answer for it."""
    found: dict[str, set[str]] = {}
    pattern = re.compile(r"add_(?:response|client_error)\(\s*[\"']([a-z0-9_]+)[\"']")
    for path in sorted((REPO / "tests").rglob("*.py")):
        for operation in pattern.findall(path.read_text(encoding="utf-8")):
            found.setdefault(operation, set()).add(path.relative_to(REPO).as_posix())
    return found


def test_every_call_is_also_run_with_real_values_through_a_stubber(repo_scan) -> None:
    """The static check sees names and literal types; a Stubber test sees the real values."""
    calls, _, _ = repo_scan
    stubbed = _stubbed_operations()
    untested = [f"{call.where} {call.method}" for call in calls if call.method not in stubbed]
    assert untested == [], "no test drives these calls through botocore's Stubber"


def _is_lambda_handler(tree: ast.Module) -> bool:
    """A module-level ``def <name>(event, context, ...)``: Lambda's handler signature."""
    return any(
        isinstance(node, ast.FunctionDef)
        and [a.arg for a in node.args.args[:2]] == ["event", "context"]
        for node in tree.body
    )


def test_every_lambda_that_calls_aws_ships_its_models(repo_scan) -> None:
    """Lambda code using the runtime's own botocore cannot be checked against what it loads."""
    _, _, scanned = repo_scan
    unshipped = [
        path
        for path in scanned
        if not any(path.startswith(code_dir) for code_dir in SHIPPING_LAMBDAS)
        and _is_lambda_handler(ast.parse((REPO / path).read_text()))
    ]
    assert unshipped == [], (
        "these Lambda handlers call AWS with the Lambda runtime's botocore: ship their models"
        " (Code.from_asset(str(staged_asset(<dir>, <services>))) and AWS_DATA_PATH="
        "LAMBDA_DATA_PATH, mcp_constructs/deploy_checks/botocore_models.py), then add <dir> to"
        " SHIPPING_LAMBDAS here"
    )


def test_the_lambdas_ship_exactly_the_models_they_call(repo_scan) -> None:
    calls, _, _ = repo_scan
    for code_dir, shipped in SHIPPING_LAMBDAS.items():
        called = {call.service for call in calls if call.path.startswith(code_dir)}
        assert called == set(shipped), code_dir


def _handler_files(module: str) -> set[str]:
    """The handler module and the runtime/ modules it imports (what runs in that Lambda)."""
    runtime = REPO / LAMBDA_CODE
    files, todo = set(), [module]
    while todo:
        name = todo.pop()
        if f"{LAMBDA_CODE}{name}.py" in files or not (runtime / f"{name}.py").is_file():
            continue
        files.add(f"{LAMBDA_CODE}{name}.py")
        for node in ast.walk(ast.parse((runtime / f"{name}.py").read_text())):
            if isinstance(node, ast.ImportFrom):
                todo += [node.module] if node.module else [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                todo += [a.name for a in node.names]
    return files


def _role_actions(template: dict[str, Any], role: str) -> set[str]:
    actions: set[str] = set()
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        if {"Ref": role} not in resource["Properties"].get("Roles", []):
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            action = statement["Action"]
            actions.update([action] if isinstance(action, str) else action)
    return {a for a in actions if not a.startswith("logs:")}  # Lambda's own logging


def test_each_handler_role_allows_exactly_the_calls_its_code_makes(repo_scan) -> None:
    """A call without its IAM action fails the deploy; an action without a call is too wide."""
    from tests.deploy_checks.test_constructs import build

    template = build()
    calls, _, _ = repo_scan
    checked = 0
    for resource in template["Resources"].values():
        props = resource["Properties"]
        if resource["Type"] != "AWS::Lambda::Function" or "AWS_DATA_PATH" not in json_env(props):
            continue
        module = props["Handler"].split(".")[0]
        files = _handler_files(module)
        expected = set()
        for call in calls:
            if call.path in files:
                model = lambda_models(LAMBDA_CODE).model(call.service)
                operation = {
                    name for name in model.operation_names if _snake(name) == call.method
                }.pop()
                expected.add(f"{model.signing_name}:{operation}")
        role = props["Role"]["Fn::GetAtt"][0]
        assert _role_actions(template, role) == expected, module
        checked += 1
    assert checked == 4  # on_event + is_complete of the tool sync and of the smoke test


def json_env(props: dict[str, Any]) -> dict[str, Any]:
    return props.get("Environment", {}).get("Variables", {})


def _snake(name: str) -> str:
    from botocore import xform_name

    return xform_name(name)


# --- the scanner catches what it must ------------------------------------------------------

BAD_CALLS = {
    "typo": (
        "import boto3\nboto3.client('sts').get_caller_identty()\n",
        "get_caller_identty() is not an operation of sts",
    ),
    "unknown parameter": (
        "import boto3\ncfn = boto3.client('cloudformation')\ncfn.describe_stacks(StackNme='x')\n",
        'Unknown parameter in input: "StackNme"',
    ),
    "missing parameter": (
        "import boto3\n"
        "def secret(cognito, pool):\n"
        "    return cognito.describe_user_pool_client(UserPoolId=pool)\n",
        'Missing required parameter in input: "ClientId"',
    ),
    "wrong type": (
        "import boto3\n"
        "def client(service='bedrock-agentcore-control'):\n"
        "    return boto3.client(service)\n"
        "def sync(target):\n"
        "    client().synchronize_gateway_targets(gatewayIdentifier='g', targetIdList=target)\n"
        "def sync_one(target):\n"
        "    client().synchronize_gateway_targets(gatewayIdentifier='g', targetIdList='t')\n",
        "Invalid type for parameter targetIdList, value: t, type: <class 'str'>",
    ),
    "f-string where a list goes": (
        "import boto3\nc = boto3.client('bedrock-agentcore-control')\n"
        "c.synchronize_gateway_targets(gatewayIdentifier='g', targetIdList=f'{1}')\n",
        "Invalid type for parameter targetIdList",
    ),
    "annotated parameter of the wrong type": (
        "import boto3\n"
        "def sync(target: str) -> None:\n"
        "    boto3.client('bedrock-agentcore-control').synchronize_gateway_targets(\n"
        "        gatewayIdentifier='g', targetIdList=target\n"
        "    )\n",
        "Invalid type for parameter targetIdList, value: x, type: <class 'str'>",
    ),
    "positional": (
        "import boto3\nboto3.client('sts').get_caller_identity('me')\n",
        "get_caller_identity() takes keyword arguments only",
    ),
    "hidden parameters": (
        "import boto3\ndef f(**kw):\n    boto3.client('sts').get_caller_identity(**kw)\n",
        "get_caller_identity(**...) hides its parameters",
    ),
    "getattr": (
        "import boto3\nc = boto3.client('sts')\ngetattr(c, 'get_caller_identity')()\n",
        "getattr() on a client hides the operation",
    ),
    "ambiguous": (
        "import boto3\na = boto3.client('cognito-idp')\n"
        "b = boto3.client('bedrock-agentcore-control')\n"
        "def tags(thing):\n    return thing.list_tags_for_resource(ResourceArn='x')\n",
        "list_tags_for_resource() is an operation of bedrock-agentcore-control and cognito-idp",
    ),
    "service chosen at run time": (
        "import boto3\ndef make(name):\n    return boto3.client(name)\n",
        "client() of a service named at run time",
    ),
    "lambda calls an unshipped service": (
        "import boto3\nboto3.client('s3').list_buckets()\n",
        "uses s3, which has no model in the Lambda asset's botocore_data/",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_the_check_catches(case: str, tmp_path: Path) -> None:
    source, expected = BAD_CALLS[case]
    folder = tmp_path / (LAMBDA_CODE if "lambda" in case else "mcp_constructs")
    folder.mkdir(parents=True)
    (folder / "module.py").write_text(source)
    calls, findings, scanned = scan(python_files(tmp_path), tmp_path, models_for)
    assert len(scanned) == 1
    problems = [str(f) for f in findings]
    problems += [str(f) for call in calls for f in validate(call, models_for(call.path))]
    assert any(expected in problem for problem in problems), problems
    if case == "wrong type":  # the call with a run-time value is accepted, the literal is not
        assert len(problems) == 1 and "module.py:7:" in problems[0], problems


def test_good_calls_pass(tmp_path: Path) -> None:
    """Run-time values get placeholders of the right type; literals are checked as written."""
    (tmp_path / "module.py").write_text(
        "import boto3\n"
        "def sync(session, gateway, target):\n"
        "    control = session.client('bedrock-agentcore-control')\n"
        "    control.synchronize_gateway_targets(\n"
        "        gatewayIdentifier=gateway, targetIdList=[target]\n"
        "    )\n"
        "    control.list_gateways(maxResults=1)\n"
        "    control.get_paginator('list_gateways')\n"
    )
    calls, findings, _ = scan(python_files(tmp_path), tmp_path, models_for)
    assert findings == []
    assert [(c.service, c.method) for c in calls] == [
        ("bedrock-agentcore-control", "synchronize_gateway_targets"),
        ("bedrock-agentcore-control", "list_gateways"),
    ]
    assert [f for call in calls for f in validate(call, models_for(call.path))] == []
