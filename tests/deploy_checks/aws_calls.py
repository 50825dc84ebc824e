"""Find every boto3 API call in our code by reading it, and check it against a botocore model.

A call is ``<client>.<operation>(...)`` where ``<client>`` is recognisably a boto3 client:

- ``<anything>.client("<service>")`` (``boto3.client``, ``session.client``),
- a call to a module function that creates clients from a parameter with a default, like the
  handlers' ``client(service="bedrock-agentcore-control")``,
- a name assigned one of those, or a parameter whose name says which client it holds
  (``CLIENT_PARAMETERS``),

or any ``<x>.<method>(...)`` whose method is an operation of exactly one service the module
uses. Anything the scanner cannot tie to one service (an operation of two services, a client
handed around under another name, ``getattr`` on a client, ``**kwargs``) is a finding of its
own: write the call so that it can be checked.

Each call is then validated with botocore's own ``ParamValidator`` against the model: the
operation exists, every keyword is a member of its input, every required member is passed,
and values whose type the code shows (literals, f-strings, lists, dicts, parameters of the
enclosing function with a type annotation) have the right type. Other values, only known at run
time, get a valid placeholder of the member's type; the handler, verify, quicksuite and doctor
tests pass real values through botocore's Stubber.
"""

from __future__ import annotations

import ast
import datetime
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore import xform_name
from botocore.exceptions import DataNotFoundError, UnknownServiceError
from botocore.loaders import Loader
from botocore.model import ServiceModel, Shape
from botocore.validate import ParamValidator

#: Parameter names that, in our code, hold a client of one service.
CLIENT_PARAMETERS = {
    "cfn": "cloudformation",
    "cloudformation": "cloudformation",
    "cognito": "cognito-idp",
    "sts": "sts",
    "agentcore": "bedrock-agentcore-control",
}
#: Client methods that are not API operations.
CLIENT_METHODS = {
    "can_paginate",
    "close",
    "generate_presigned_post",
    "generate_presigned_url",
    "get_paginator",
    "get_waiter",
}
SKIP_DIRS = {"tests", ".venv", "node_modules", "cdk.out", ".git", "__pycache__", ".pytest_cache"}


@dataclass(frozen=True)
class Call:
    """One API call site."""

    path: str
    line: int
    service: str
    method: str
    node: ast.Call = field(compare=False, repr=False)
    #: Annotated parameters of the enclosing function: their values' types are known.
    annotations: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Finding:
    """A call site the check cannot accept, and why."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class ModelSet:
    """The service models one kind of code loads at run time, loaded on first use."""

    def __init__(self, name: str, loader: Loader) -> None:
        self.name = name
        self.loader = loader
        self._models: dict[str, ServiceModel | None] = {}
        self.missing: set[str] = set()

    def model(self, service: str) -> ServiceModel | None:
        if service not in self._models:
            try:
                data = self.loader.load_service_model(service, "service-2")
            except (UnknownServiceError, DataNotFoundError):
                self.missing.add(service)
                self._models[service] = None
            else:
                self._models[service] = ServiceModel(data, service)
        return self._models[service]

    def operations(self, service: str) -> set[str]:
        model = self.model(service)
        return {xform_name(op) for op in model.operation_names} if model else set()


def _literal_service(call: ast.Call, position: int = 0) -> str | None:
    args = [*call.args]
    if len(args) > position and isinstance(args[position], ast.Constant):
        value = args[position].value
        return value if isinstance(value, str) else None
    for keyword in call.keywords:
        if keyword.arg == "service_name" and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    return None


def _is_client_call(call: ast.Call) -> bool:
    return isinstance(call.func, ast.Attribute) and call.func.attr == "client"


def _imports_aws_sdk(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        if any(name.split(".")[0] in ("boto3", "botocore") for name in names):
            return True
    return False


class _ModuleScan:
    """The client factories, client-valued names and API calls of one module."""

    def __init__(self, tree: ast.Module, path: str, models: ModelSet) -> None:
        self.tree = tree
        self.path = path
        self.models = models
        self.factories: dict[str, str] = {}  # local function -> service of its default argument
        self.factory_calls: set[int] = set()  # id() of the .client(param) calls inside them
        self.names: dict[str, set[str]] = {}  # name -> services it is assigned
        self.calls: list[Call] = []
        self.findings: list[Finding] = []

    def where(self, node: ast.AST) -> str:
        return f"{self.path}:{getattr(node, 'lineno', 0)}"

    # -- which expressions are clients --------------------------------------------------------

    def _find_factories(self) -> None:
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            params = node.args.args
            defaults = dict(
                zip(
                    [p.arg for p in params[len(params) - len(node.args.defaults) :]],
                    node.args.defaults,
                    strict=True,
                )
            )
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Call)
                    and isinstance(inner.func, ast.Attribute)
                    and inner.func.attr == "client"
                    and inner.args
                    and isinstance(inner.args[0], ast.Name)
                    and isinstance(defaults.get(inner.args[0].id), ast.Constant)
                ):
                    self.factories[node.name] = str(defaults[inner.args[0].id].value)
                    self.factory_calls.add(id(inner))

    def service_of(self, expr: ast.expr) -> set[str]:
        """The services ``expr`` may be a client of (empty: not recognisably a client)."""
        if isinstance(expr, ast.Call):
            func = expr.func
            if _is_client_call(expr):
                if id(expr) in self.factory_calls:
                    return set()  # inside the factory: its callers say which service
                service = _literal_service(expr)
                if service is None:
                    self.findings.append(
                        Finding(self.where(expr), "client() of a service named at run time")
                    )
                    return set()
                return {service}
            if isinstance(func, ast.Name) and func.id in self.factories:
                return {_literal_service(expr) or self.factories[func.id]}
        if isinstance(expr, ast.Name):
            return set(self.names.get(expr.id, ()))
        return set()

    def _find_names(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign):
                services = self.service_of(node.value)
                for target in node.targets:
                    if services and isinstance(target, ast.Name):
                        self.names.setdefault(target.id, set()).update(services)
            elif isinstance(node, ast.arguments):
                for arg in [*node.posonlyargs, *node.args, *node.kwonlyargs]:
                    if arg.arg in CLIENT_PARAMETERS:
                        self.names.setdefault(arg.arg, set()).add(CLIENT_PARAMETERS[arg.arg])

    # -- the calls ----------------------------------------------------------------------------

    def _annotations(self) -> dict[int, dict[str, str]]:
        """id() of each call -> the annotated parameters of its innermost function."""
        found: dict[int, dict[str, str]] = {}

        def visit(node: ast.AST, scope: dict[str, str]) -> None:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                scope = {
                    a.arg: ast.unparse(a.annotation)
                    for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]
                    if a.annotation is not None
                }
            if isinstance(node, ast.Call):
                found[id(node)] = scope
            for child in ast.iter_child_nodes(node):
                visit(child, scope)

        visit(self.tree, {})
        return found

    def scan(self) -> None:
        self._find_factories()
        self._find_names()
        scopes = self._annotations()
        module_services = set(self.factories.values())
        module_services.update(s for services in self.names.values() for s in services)
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call) and _is_client_call(node):
                module_services.update(self.service_of(node))
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id == "getattr" and node.args:
                if self.service_of(node.args[0]):
                    self.findings.append(
                        Finding(
                            self.where(node),
                            "getattr() on a client hides the operation: call it directly",
                        )
                    )
                continue
            if not isinstance(func, ast.Attribute) or func.attr in CLIENT_METHODS:
                continue
            method = func.attr
            receiver = self.service_of(func.value)
            if receiver:
                owners = {s for s in receiver if method in self.models.operations(s)}
                if not owners:
                    self.findings.append(
                        Finding(
                            self.where(node),
                            f"{method}() is not an operation of {' / '.join(sorted(receiver))}",
                        )
                    )
                    continue
            else:
                owners = {s for s in module_services if method in self.models.operations(s)}
                if not owners:
                    continue  # not an AWS call
            if len(owners) > 1:
                self.findings.append(
                    Finding(
                        self.where(node),
                        f"{method}() is an operation of {' and '.join(sorted(owners))}: name the"
                        " client so the check can tell which",
                    )
                )
                continue
            self.calls.append(
                Call(self.path, node.lineno, owners.pop(), method, node, scopes.get(id(node), {}))
            )


def python_files(root: Path) -> list[Path]:
    """Our Python modules (not tests, not installed packages), in a stable order."""
    return sorted(
        path
        for path in root.rglob("*.py")
        if not SKIP_DIRS.intersection(path.relative_to(root).parts[:-1])
    )


def scan(
    files: Iterable[Path], root: Path, models_for: Callable[[str], ModelSet]
) -> tuple[list[Call], list[Finding], list[str]]:
    """(calls, findings, scanned modules) over the modules of ``files`` that use boto3/botocore.

    ``models_for(path)``: the models the module at ``path`` (relative to ``root``) loads.
    """
    calls: list[Call] = []
    findings: list[Finding] = []
    scanned: list[str] = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if not _imports_aws_sdk(tree):
            continue
        relative = path.relative_to(root).as_posix()
        models = models_for(relative)
        module = _ModuleScan(tree, relative, models)
        module.scan()
        calls += module.calls
        findings += list(dict.fromkeys(module.findings))  # a name may be looked at twice
        findings += [
            Finding(relative, f"uses {service}, which has no model in {models.name}")
            for service in sorted(models.missing)
        ]
        models.missing.clear()
        scanned.append(relative)
    return calls, findings, scanned


# --- models and validation -----------------------------------------------------------------


def placeholder(shape: Shape | None) -> Any:
    """A value botocore accepts for ``shape`` (its type, its minimum length or value)."""
    if shape is None:
        return "x"
    kind = shape.type_name
    minimum = shape.metadata.get("min", 0)
    if kind == "string":
        return shape.enum[0] if shape.enum else "x" * max(int(minimum), 1)
    if kind in ("integer", "long"):
        return max(int(minimum), 1)
    if kind in ("float", "double"):
        return float(max(minimum, 1))
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    if kind == "blob":
        return b"x"
    if kind == "list":
        return [placeholder(shape.member)] * max(int(minimum), 1)
    if kind == "map":
        return {}
    if kind == "structure":
        return {name: placeholder(shape.members[name]) for name in shape.required_members}
    return "x"


#: A parameter's annotation -> a value of that type (botocore then checks it fits the shape).
_ANNOTATED = {"str": "x", "int": 1, "float": 1.0, "bool": True, "bytes": b"x"}


def _annotated(annotation: str, shape: Shape | None) -> Any:
    bare = annotation.split("|")[0].strip()  # `str | None`: the value when it is passed
    if bare in _ANNOTATED:
        value = _ANNOTATED[bare]
        same = shape is not None and isinstance(placeholder(shape), type(value))
        return placeholder(shape) if same else value
    if re.match(r"(list|tuple|Sequence|Iterable)\b", bare):
        return placeholder(shape) if shape is not None and shape.type_name == "list" else []
    if re.match(r"(dict|Mapping)\b", bare):
        return (
            placeholder(shape)
            if shape is not None and shape.type_name in ("map", "structure")
            else {}
        )
    return placeholder(shape)


def value_for(
    node: ast.expr, shape: Shape | None, annotations: dict[str, str] | None = None
) -> Any:
    """What the code passes, as far as the code shows it; a placeholder where it cannot."""
    annotations = annotations or {}
    if isinstance(node, ast.Name) and node.id in annotations:
        return _annotated(annotations[node.id], shape)
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        pass
    if isinstance(node, ast.JoinedStr):
        return placeholder(shape) if shape is not None and shape.type_name == "string" else "x"
    if isinstance(node, (ast.List, ast.Tuple, ast.ListComp)):
        member = shape.member if shape is not None and shape.type_name == "list" else None
        elements = node.elts if isinstance(node, (ast.List, ast.Tuple)) else [node.elt]
        return [value_for(element, member, annotations) for element in elements]
    if isinstance(node, ast.Dict) and all(isinstance(k, ast.Constant) for k in node.keys):
        members = shape.members if shape is not None and shape.type_name == "structure" else {}
        return {
            k.value: value_for(v, members.get(k.value), annotations)
            for k, v in zip(node.keys, node.values, strict=True)
        }
    return placeholder(shape)


def validate(call: Call, models: ModelSet) -> list[Finding]:
    """botocore's own parameter validation of what ``call`` passes."""
    model = models.model(call.service)
    if model is None:
        return [Finding(call.where, f"no model of {call.service} in {models.name}")]
    names = {xform_name(op): op for op in model.operation_names}
    if call.method not in names:
        return [Finding(call.where, f"{call.method}() is not an operation of {call.service}")]
    operation = model.operation_model(names[call.method])
    found = []
    if call.node.args:
        found.append(Finding(call.where, f"{call.method}() takes keyword arguments only"))
    if any(keyword.arg is None for keyword in call.node.keywords):
        found.append(Finding(call.where, f"{call.method}(**...) hides its parameters"))
    if found:
        return found
    members = operation.input_shape.members if operation.input_shape is not None else {}
    params = {
        k.arg: value_for(k.value, members.get(k.arg), call.annotations) for k in call.node.keywords
    }
    if operation.input_shape is None:
        return [Finding(call.where, f"{operation.name} takes no parameters")] if params else []
    report = ParamValidator().validate(params, operation.input_shape)
    if report.has_errors():
        return [Finding(call.where, f"{call.service} {operation.name}: {report.generate_report()}")]
    return []
