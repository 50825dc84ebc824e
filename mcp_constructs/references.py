"""Cross-stack references that notice a recreated producer stack.

The app's cross-stack references are weak (``Fn::GetStackOutput``, cdk.json's
``defaultCrossStackReferences``): CloudFormation resolves them when the consuming stack is
created or updated, and never again. When a producer is destroyed and recreated (a new user
pool, runtime, API or table), every consumer's template text is unchanged, so `cdk deploy`
finds nothing to do and the consumer keeps the old values. So each consuming stack gets

- an output ``ReferencedValues``: every output it may read of the stacks it depends on, as
  resolved at its last create or update (one per line); and
- a parameter ``ReferencesRevision`` (default ``0``, echoed by an output of the same name).

`python -m mcp_constructs.stale_refs` (run by `make deploy` and `make verify`) compares
``ReferencedValues`` with the producers' outputs now. A stack that differs is stale; setting
its ``ReferencesRevision`` to a digest of the current values is a change CloudFormation must
apply, and during that update it resolves every reference again (resources and deploy checks
whose resolved properties moved are updated).
"""

from __future__ import annotations

import jsii
from aws_cdk import CfnOutput, CfnParameter, Fn, Stack
from constructs import IValidation

VALUES_OUTPUT = "ReferencedValues"
REVISION = "ReferencesRevision"
#: Where aws-cdk-lib adds a producer's outputs for the weak references consumers make.
PUBLISHED = "Publish"
SEPARATOR = "\n"


@jsii.implements(IValidation)
class _RecordReferencedValues:
    """Fills ``ReferencedValues`` once aws-cdk-lib has published the producers' outputs.

    Validations run after references are resolved and before the templates are written.
    """

    def __init__(self, stack: Stack, output: CfnOutput) -> None:
        self._stack, self._output = stack, output

    def validate(self) -> list[str]:
        values = [
            Fn.get_stack_output(producer.stack_name, output, producer.region)
            for producer in sorted(self._stack.dependencies, key=lambda s: s.stack_name)
            for output in published_outputs(producer)
        ]
        self._output.value = Fn.join(SEPARATOR, values) if values else "none"
        return []


def published_outputs(producer: Stack) -> list[str]:
    """Logical ids of the outputs aws-cdk-lib published on ``producer`` for weak references
    (children of its ``Publish`` construct; every consumer's, a superset of one's own)."""
    published = producer.node.try_find_child(PUBLISHED)
    if published is None:
        return []
    return sorted(
        producer.get_logical_id(child)
        for child in published.node.children
        if isinstance(child, CfnOutput)
    )


def record_references(stack: Stack) -> None:
    """Give ``stack`` the ``ReferencedValues`` output and the ``ReferencesRevision`` nudge."""
    revision = CfnParameter(
        stack,
        REVISION,
        type="String",
        default="0",
        description="Set by `make deploy` when a stack this one reads from was recreated: the"
        " update makes CloudFormation resolve the cross-stack references again",
    )
    CfnOutput(stack, f"{REVISION}Output", value=revision.value_as_string).override_logical_id(
        REVISION
    )
    output = CfnOutput(
        stack,
        VALUES_OUTPUT,
        description="The outputs of other stacks this stack read at its last update",
        value="none",
    )
    stack.node.add_validation(_RecordReferencedValues(stack, output))
