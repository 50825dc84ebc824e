"""Evaluate a policy from a synthesized template the way AWS does, for tests.

AWS's rule for one policy (same-account service principals need nothing else): an explicit
``Deny`` that matches wins; otherwise an ``Allow`` that matches allows; otherwise the request
is implicitly denied. A statement matches when its principal (none: an identity policy),
action, resource and every condition match. Template intrinsics (``Ref``, ``Fn::Join``,
``Fn::GetAtt``, ``Fn::GetStackOutput`` as ``Stack.Output``) are resolved from ``refs``; one
``refs`` does not name stays ``<unresolved ...>`` and matches no request. Anything else
this evaluator does not model (``NotPrincipal``, ``NotAction``, an unknown condition
operator) raises instead of guessing, so a test never passes on what it cannot read.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

ALLOW, DENY, IMPLICIT_DENY = "allow", "deny", "implicit deny"

_NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def resolve(value: Any, refs: Mapping[str, str]) -> Any:
    """A template value with its intrinsics replaced by what ``refs`` names."""
    if isinstance(value, list):
        return [resolve(item, refs) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return refs.get(value["Ref"], f"<unresolved {value['Ref']}>")
    if set(value) == {"Fn::GetAtt"}:
        logical_id, attribute = value["Fn::GetAtt"]
        return refs.get(f"{logical_id}.{attribute}", f"<unresolved {logical_id}.{attribute}>")
    if set(value) == {"Fn::GetStackOutput"}:
        get = value["Fn::GetStackOutput"]
        name = f"{get['StackName']}.{get['OutputName']}"
        return refs.get(name, f"<unresolved {name}>")
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolve(part, refs)) for part in parts)
    if any(key.startswith("Fn::") for key in value):
        return f"<unresolved {next(iter(value))}>"
    return {key: resolve(item, refs) for key, item in value.items()}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str, *, case: bool = True) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)


def _principal_matches(statement: Mapping[str, Any], principal: Mapping[str, str]) -> bool:
    if "NotPrincipal" in statement:
        raise NotImplementedError("NotPrincipal")
    if "Principal" not in statement:  # an identity policy: it applies to its holder
        return True
    wanted = statement["Principal"]
    if wanted == "*":
        return True
    if not isinstance(wanted, dict):
        raise NotImplementedError(f"principal not modelled: {wanted!r}")
    for kind, values in wanted.items():
        for value in _listed(values):
            if value == "*" and kind == "AWS":
                return True
            if principal.get(kind) == value:
                return True
    return False


def _condition_matches(operator: str, key: str, wanted: Any, context: Mapping[str, str]) -> bool:
    base = operator.removesuffix("IfExists")
    if key not in context:
        return operator.endswith("IfExists") or base in _NEGATED
    actual = context[key]
    values = [str(v) for v in _listed(wanted)]
    if base in ("StringEquals", "ArnEquals"):
        return actual in values
    if base in ("StringNotEquals", "ArnNotEquals"):
        return actual not in values
    if base in ("StringLike", "ArnLike"):
        return any(_like(v, actual) for v in values)
    if base in ("StringNotLike", "ArnNotLike"):
        return not any(_like(v, actual) for v in values)
    if base == "StringEqualsIgnoreCase":
        return actual.lower() in {v.lower() for v in values}
    if base == "Bool":
        return actual.lower() in {v.lower() for v in values}
    raise NotImplementedError(f"condition operator not modelled: {operator}")


def statement_matches(
    statement: Mapping[str, Any],
    *,
    principal: Mapping[str, str],
    action: str,
    resource: str,
    context: Mapping[str, str],
) -> bool:
    if "NotAction" in statement or "NotResource" in statement:
        raise NotImplementedError("NotAction / NotResource")
    if not _principal_matches(statement, principal):
        return False
    if not any(_like(a, action, case=False) for a in _listed(statement["Action"])):
        return False
    if not any(_like(str(r), resource) for r in _listed(statement.get("Resource", "*"))):
        return False
    for operator, pairs in (statement.get("Condition") or {}).items():
        for key, wanted in pairs.items():
            if not _condition_matches(operator, key, wanted, context):
                return False
    return True


def evaluate(
    document: Mapping[str, Any],
    refs: Mapping[str, str],
    *,
    principal: Mapping[str, str],
    action: str,
    resource: str,
    context: Mapping[str, str],
) -> str:
    """ALLOW, DENY (an explicit deny matched) or IMPLICIT_DENY, as AWS would decide."""
    statements = _listed(resolve(document, refs)["Statement"])
    matched = [
        s["Effect"]
        for s in statements
        if statement_matches(
            s, principal=principal, action=action, resource=resource, context=context
        )
    ]
    if "Deny" in matched:
        return DENY
    return ALLOW if "Allow" in matched else IMPLICIT_DENY
