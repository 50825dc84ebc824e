"""Every intrinsic function of a template, checked against what CloudFormation accepts there.

cfn-lint ships one JSON schema per intrinsic function
(`cfnlint/data/schemas/other/functions/*.json`): for each argument position, the functions
CloudFormation accepts in it (`cfnContext.functions`) and the argument's type. cfn-lint applies
them only where its resource schemas lead it, and it skips properties under a `oneOf` (such as
a gateway target's `TargetConfiguration`). This module walks the whole template instead: every
resource property, output, condition and rule, however deep, and checks

* that a function stands where functions are allowed (values: the value functions; Conditions
  and `Fn::If` conditions: the condition functions);
* each nested function against the enclosing function's schema for that argument position
  (e.g. `Fn::Split`'s source may not be `Fn::GetStackOutput`);
* literal argument types the schema fixes (a list where a string is needed);
* `Ref` / `Fn::GetAtt` / `Fn::If` / `Condition` names against the template's resources,
  parameters, pseudo parameters and conditions.

Use `intrinsic_problems(template)` on any synthesized template dict; other stacks' tests do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import cfnlint

FUNCTIONS_DIR = Path(cfnlint.__file__).parent / "data" / "schemas" / "other" / "functions"

PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)
#: Functions a resource property or output value may be (cfn-lint's value functions).
VALUE_FUNCTIONS = (
    "Fn::Base64",
    "Fn::Cidr",
    "Fn::FindInMap",
    "Fn::GetAZs",
    "Fn::GetAtt",
    "Fn::GetStackOutput",
    "Fn::If",
    "Fn::ImportValue",
    "Fn::Join",
    "Fn::Length",
    "Fn::Select",
    "Fn::Split",
    "Fn::Sub",
    "Fn::ToJsonString",
    "Fn::Transform",
    "Ref",
)
#: Functions a condition may be.
CONDITION_FUNCTIONS = ("Condition", "Fn::And", "Fn::Equals", "Fn::Not", "Fn::Or")
#: Functions only the Rules section knows (no schema file in cfn-lint: names are checked only).
RULE_ONLY_FUNCTIONS = (
    "Fn::Contains",
    "Fn::EachMemberEquals",
    "Fn::EachMemberIn",
    "Fn::RefAll",
    "Fn::ValueOf",
    "Fn::ValueOfAll",
)
_SCHEMA_FILE = {
    "Ref": "ref",
    "Condition": "condition",
    **{
        f"Fn::{name}": name.lower()
        for name in (
            "And",
            "Base64",
            "Cidr",
            "Equals",
            "FindInMap",
            "GetAtt",
            "GetAZs",
            "GetStackOutput",
            "If",
            "ImportValue",
            "Join",
            "Length",
            "Not",
            "Or",
            "Select",
            "Split",
            "Sub",
            "ToJsonString",
        )
    },
}
_SUB_VARIABLE = re.compile(r"\$\{([^!][^}]*)\}")


@cache
def function_schema(name: str) -> dict[str, Any]:
    """cfn-lint's schema for one intrinsic function (`Fn::Split` -> `split.json`)."""
    return json.loads((FUNCTIONS_DIR / f"{_SCHEMA_FILE[name]}.json").read_text())


def function_call(value: Any) -> tuple[str, Any] | None:
    """`(name, argument)` when `value` is an intrinsic function call, else None."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
            return key, argument
    return None


def intrinsic_problems(template: Mapping[str, Any]) -> list[str]:
    """Every intrinsic function in `template` that CloudFormation would not accept where it is.

    Returns one readable line per problem (path: what is wrong); empty when all is well.
    """
    checker = _Checker(template)
    for name, resource in (template.get("Resources") or {}).items():
        for key in ("Properties", "DeletionPolicy", "UpdateReplacePolicy"):
            if key in resource:
                checker.value(resource[key], f"Resources.{name}.{key}", VALUE_FUNCTIONS)
        if "Condition" in resource:
            checker.condition_name(resource["Condition"], f"Resources.{name}.Condition")
    for name, output in (template.get("Outputs") or {}).items():
        checker.value(output.get("Value"), f"Outputs.{name}.Value", VALUE_FUNCTIONS)
        if "Export" in output:
            checker.value(output["Export"], f"Outputs.{name}.Export", VALUE_FUNCTIONS)
        if "Condition" in output:
            checker.condition_name(output["Condition"], f"Outputs.{name}.Condition")
    for name, condition in (template.get("Conditions") or {}).items():
        checker.value(condition, f"Conditions.{name}", CONDITION_FUNCTIONS)
    for name, rule in (template.get("Rules") or {}).items():
        path = f"Rules.{name}"
        allowed = (*CONDITION_FUNCTIONS, *RULE_ONLY_FUNCTIONS, *VALUE_FUNCTIONS)
        if "RuleCondition" in rule:
            checker.value(rule["RuleCondition"], f"{path}.RuleCondition", allowed, rules=True)
        for i, assertion in enumerate(rule.get("Assertions") or []):
            checker.value(assertion.get("Assert"), f"{path}.Assertions[{i}]", allowed, rules=True)
    return checker.problems


class _Checker:
    def __init__(self, template: Mapping[str, Any]) -> None:
        self.resources = set(template.get("Resources") or {})
        self.parameters = set(template.get("Parameters") or {})
        self.conditions = set(template.get("Conditions") or {})
        self.problems: list[str] = []

    # -- positions -----------------------------------------------------------------------
    def value(self, value: Any, path: str, allowed: Sequence[str], *, rules: bool = False) -> None:
        """A position where any of `allowed` may stand; literals are walked for nested calls."""
        call = function_call(value)
        if call is not None:
            name, argument = call
            if name not in allowed:
                self._problem(path, f"{name} is not accepted here (accepted: {_names(allowed)})")
            self.call(name, argument, f"{path}.{name}", allowed, rules=rules)
        elif isinstance(value, dict):
            for key, item in value.items():
                self.value(item, f"{path}.{key}", allowed, rules=rules)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.value(item, f"{path}[{i}]", allowed, rules=rules)

    def call(
        self, name: str, argument: Any, path: str, outer: Sequence[str], *, rules: bool = False
    ) -> None:
        """Check one function's argument against its schema."""
        if name in RULE_ONLY_FUNCTIONS:
            if not rules:
                self._problem(path, f"{name} exists only in the Rules section")
            return
        if name not in _SCHEMA_FILE:
            self._problem(path, f"{name} is not an intrinsic function CloudFormation knows")
            return
        schema = function_schema(name)
        if name == "Ref":
            self._ref(argument, path)
            return
        if name == "Condition":
            self.condition_name(argument, path)
            return
        if name == "Fn::If":
            self._if(argument, path, outer, rules=rules)
            return
        if name == "Fn::GetAtt":
            self._getatt(argument, path)
        if name == "Fn::Sub":
            self._sub_names(argument, path)
        self.schema(schema, argument, path, schema, rules=rules)

    def condition_name(self, value: Any, path: str) -> None:
        if not isinstance(value, str):
            self._problem(path, f"a condition name must be a string, got {value!r}")
        elif value not in self.conditions:
            self._problem(path, f"condition {value!r} is not defined in Conditions")

    # -- schema interpretation -----------------------------------------------------------
    def schema(
        self, node: Any, value: Any, path: str, root: dict[str, Any], *, rules: bool = False
    ) -> None:
        """Apply one node of a cfn-lint function schema to `value`."""
        if not isinstance(node, dict):
            return
        if "$ref" in node:
            node = _resolve_ref(root, node["$ref"])
        branched = False
        if "if" in node:
            # `then` applies under the AWS::LanguageExtensions transform (which CDK apps do not
            # use) or in the Rules section; `else` everywhere else.
            check = node["if"].get("dynamicValidation", {})
            branch = "then" if (rules and check.get("pathCheck") == "Rules") else "else"
            if branch in node:
                branched = True
                self.schema(node[branch], value, path, root, rules=rules)
        if "cfnContext" in node:
            context = node["cfnContext"]
            functions = context.get("functions", [])
            if isinstance(functions, dict):  # {"$ref": ...} to another position's list
                functions = _resolve_ref(root, functions["$ref"])
            call = function_call(value)
            if call is not None:
                inner, argument = call
                if inner not in functions:
                    self._problem(
                        path,
                        f"{inner} is not accepted in this position (accepted: {_names(functions)})",
                    )
                self.call(inner, argument, f"{path}.{inner}", functions, rules=rules)
                return
            self.schema(context.get("schema", {}), value, path, root, rules=rules)
            return
        self._literal(node, value, path, root, rules=rules, walk=not branched)

    def _literal(
        self,
        node: dict[str, Any],
        value: Any,
        path: str,
        root: dict[str, Any],
        *,
        rules: bool,
        walk: bool,
    ) -> None:
        """Type, arity and items of a literal argument; `walk`: look for calls in free items."""
        types = node.get("type")
        if types is not None:
            types = [types] if isinstance(types, str) else list(types)
            if _json_type(value) not in types and not (
                "number" in types and _json_type(value) == "integer"
            ):
                self._problem(path, f"expected {' or '.join(types)}, got {json.dumps(value)[:80]}")
                return
        if isinstance(value, list):
            prefix = node.get("prefixItems", [])
            for i, item in enumerate(value):
                child = prefix[i] if i < len(prefix) else node.get("items")
                if child is not None:
                    self.schema(child, item, f"{path}[{i}]", root, rules=rules)
                elif walk:
                    self.value(item, f"{path}[{i}]", VALUE_FUNCTIONS, rules=rules)
            low, high = node.get("minItems"), node.get("maxItems")
            if (low is not None and len(value) < low) or (high is not None and len(value) > high):
                self._problem(path, f"takes {low}..{high} arguments, got {len(value)}")
        elif isinstance(value, dict):
            properties = node.get("properties", {})
            patterns = node.get("patternProperties", {})
            for key, item in value.items():
                child = properties.get(key)
                if child is None:
                    child = next(
                        (s for p, s in patterns.items() if re.fullmatch(p, key)),
                        None,
                    )
                if child is None and node.get("additionalProperties") is False:
                    self._problem(path, f"unexpected key {key!r}")
                elif child is not None and child is not True:
                    self.schema(child, item, f"{path}.{key}", root, rules=rules)
            for key in node.get("required", []):
                if key not in value:
                    self._problem(path, f"missing {key!r}")

    # -- names ---------------------------------------------------------------------------
    def _ref(self, argument: Any, path: str) -> None:
        if not isinstance(argument, str):
            self._problem(path, f"Ref takes a name, got {json.dumps(argument)[:80]}")
        elif argument not in self.resources | self.parameters | PSEUDO_PARAMETERS:
            self._problem(path, f"Ref to {argument!r}, which is no resource or parameter")

    def _getatt(self, argument: Any, path: str) -> None:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if (
            isinstance(argument, list)
            and argument
            and isinstance(argument[0], str)
            and argument[0] not in self.resources
        ):
            self._problem(path, f"Fn::GetAtt of {argument[0]!r}, which is no resource")

    def _sub_names(self, argument: Any, path: str) -> None:
        text, variables = (argument, {}) if isinstance(argument, str) else (None, {})
        if isinstance(argument, list) and argument:
            text = argument[0]
            variables = argument[1] if len(argument) > 1 and isinstance(argument[1], dict) else {}
        if not isinstance(text, str):
            return
        for name in _SUB_VARIABLE.findall(text):
            base = name.split(".", 1)[0]
            known = self.resources | self.parameters | PSEUDO_PARAMETERS | set(variables)
            if name not in known and base not in known:
                self._problem(path, f"Fn::Sub names ${{{name}}}, which is nothing it can resolve")

    def _if(self, argument: Any, path: str, outer: Sequence[str], *, rules: bool) -> None:
        if not isinstance(argument, list) or len(argument) != 3:
            self._problem(path, "Fn::If takes [condition name, value if true, value if false]")
            return
        self.condition_name(argument[0], f"{path}[0]")
        # Either branch stands where the Fn::If stands: the enclosing position's functions.
        for i in (1, 2):
            self.value(argument[i], f"{path}[{i}]", outer, rules=rules)

    def _problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")


def _resolve_ref(root: dict[str, Any], ref: str) -> Any:
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _names(functions: Sequence[str]) -> str:
    return ", ".join(functions) if functions else "no function, only a literal"


def iter_calls(value: Any) -> Iterator[tuple[str, Any]]:
    """Every function call anywhere inside `value` (for tests that look for one shape)."""
    call = function_call(value)
    if call is not None:
        yield call
        value = call[1]
    if isinstance(value, dict):
        for item in value.values():
            yield from iter_calls(item)
    elif isinstance(value, list):
        for item in value:
            yield from iter_calls(item)
