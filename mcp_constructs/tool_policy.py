"""Tool permissions enforced at the gateway: an AgentCore policy engine with Cedar policies.

Who may call what is decided by the OAuth scope in the caller's Cognito access token:

* ``<resource server>/invoke`` (the default client, ``write`` teams): every tool;
* ``<resource server>/read`` (``read`` teams): only the tools the manifest marks ``read_only``.

The gateway evaluates these policies for ``tools/call`` and also filters ``tools/list``: a caller
sees only the tools some policy would let it call, so a read-only team never sees a write tool.

Cedar facts this module relies on (AgentCore Policy developer guide, "Policy scope",
"Policy conditions", "Principal-scoped policies", "Schema constraints"):

* the principal of a JWT-authorized gateway is ``AgentCore::OAuthUser``; every JWT claim
  becomes a *string* tag on it (``principal.hasTag("scope")``, ``principal.getTag("scope")``);
* each MCP tool is the action ``AgentCore::Action::"<target name>___<tool name>"``; Cedar has no
  wildcard actions, so every tool is listed (``action in [...]``);
* a policy that names actions must name the gateway: ``resource == AgentCore::Gateway::"<arn>"``.

The Cedar text is built by pure functions (:func:`cedar_policies`) from
``lark_mcp_server/tools_manifest.json``, the single source of truth for tool names and
read-only-ness, so tests can evaluate it without synthesizing anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Stack, Token
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam
from constructs import Construct, IDependable

MANIFEST_PATH = Path(__file__).resolve().parent.parent / "lark_mcp_server" / "tools_manifest.json"

#: Gateway policy-engine modes (``CfnGateway.PolicyEngineConfiguration.Mode``).
POLICY_MODES = ("ENFORCE", "LOG_ONLY")

#: Policy names inside the engine (``^[A-Za-z][A-Za-z0-9_]*$``, immutable once created).
INVOKE_POLICY_NAME = "invoke_scope_all_tools"
READ_POLICY_NAME = "read_scope_read_only_tools"

_TOOL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_TARGET_RE = re.compile(r"^([0-9a-zA-Z][-]?){1,100}$")
# Characters that would change the meaning of a scope inside a Cedar string or `like` pattern.
_SCOPE_FORBIDDEN = re.compile(r'[\s*"\\]')
# The gateway id is "<lower-cased gateway name>-<10 random characters>" (as aws-cdk-lib's
# PolicyEngine.grantEvaluateForGateway assumes), so an IAM ARN pattern can name the gateway
# before it exists without `*`.
_GATEWAY_ID_SUFFIX_LENGTH = 10


class ManifestError(ValueError):
    """The tools manifest is missing or malformed; the message says which and where."""


@dataclass(frozen=True)
class Tool:
    """One MCP tool as the manifest describes it."""

    name: str
    read_only: bool


def load_manifest(path: Path = MANIFEST_PATH) -> tuple[Tool, ...]:
    """Read ``{"tools": [{"name": ..., "read_only": ...}, ...]}`` and validate it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(
            f"tools manifest {path} not found; it lists every tool and whether it is read-only"
        ) from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"tools manifest {path} is not valid JSON: {exc}") from None
    return parse_manifest(data, source=str(path))


def parse_manifest(data: object, *, source: str = "tools manifest") -> tuple[Tool, ...]:
    """Validate a decoded manifest: unique tool names, a boolean ``read_only`` for each."""
    entries = data.get("tools") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ManifestError(f'{source}: expected {{"tools": [{{"name": ..., "read_only": ...}}]}}')
    tools: list[Tool] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        read_only = entry.get("read_only") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not _TOOL_RE.match(name):
            raise ManifestError(f"{source}: tools[{index}].name {name!r} is not a valid tool name")
        if not isinstance(read_only, bool):
            raise ManifestError(
                f"{source}: tools[{index}] ({name}) needs read_only: true or false, "
                f"got {read_only!r}"
            )
        if name in seen:
            raise ManifestError(f"{source}: tool {name!r} is listed twice")
        seen.add(name)
        tools.append(Tool(name=name, read_only=read_only))
    return tuple(tools)


def action_name(target_name: str, tool: str) -> str:
    """The Cedar action id the gateway gives a tool of an MCP target: ``<target>___<tool>``."""
    return f"{target_name}___{tool}"


def scope_condition(scope: str) -> str:
    """A Cedar expression true exactly when the token's ``scope`` claim contains ``scope``.

    Cognito puts the granted scopes in one space-separated string claim (``"rs/read rs/x"``) and
    AgentCore exposes every claim as a string tag, so there is no set to test membership in.
    The documented ``like "*rs/read*"`` matches substrings: it would also accept ``rs/readwrite``
    or ``xrs/read``. Instead the scope must be the whole claim, or a whole space-delimited word of
    it (first, last or in between); the quoted form covers a claim that arrives as a JSON array
    (AgentCore renders array claims as their JSON text, ``["rs/read","rs/x"]``).
    """
    if not scope or _SCOPE_FORBIDDEN.search(scope):
        raise ValueError(f"scope {scope!r} must be non-empty without spaces, '*', '\"' or '\\'")
    tag = 'principal.getTag("scope")'
    alternatives = [
        f'{tag} == "{scope}"',
        f'{tag} like "{scope} *"',
        f'{tag} like "* {scope}"',
        f'{tag} like "* {scope} *"',
        f'{tag} like "*\\"{scope}\\"*"',
    ]
    joined = "\n    || ".join(alternatives)
    return f'principal.hasTag("scope") && (\n    {joined}\n  )'


def cedar_permit(*, gateway_arn: str, actions: Sequence[str], scope: str) -> str:
    """``permit`` OAuth callers holding ``scope`` to run ``actions`` on this gateway."""
    if not actions:
        raise ValueError("a permit needs at least one action")
    action_list = ",\n    ".join(f'AgentCore::Action::"{a}"' for a in actions)
    return (
        "permit(\n"
        "  principal is AgentCore::OAuthUser,\n"
        f"  action in [\n    {action_list}\n  ],\n"
        f'  resource == AgentCore::Gateway::"{gateway_arn}"\n'
        ")\n"
        f"when {{\n  {scope_condition(scope)}\n}};"
    )


def cedar_policies(
    *,
    tools: Iterable[Tool],
    target_name: str,
    gateway_arn: str,
    invoke_scope: str,
    read_scope: str,
) -> dict[str, str]:
    """Policy name -> Cedar statement for the two access levels.

    ``invoke`` holders may call every tool; ``read`` holders exactly the read-only ones. With no
    read-only tool the read policy is omitted (a Cedar ``action in []`` permits nothing and the
    service rejects an empty list).
    """
    if not _TARGET_RE.match(target_name):
        raise ValueError(f"gateway target name {target_name!r} is not a valid target name")
    tools = tuple(tools)
    everything = [action_name(target_name, t.name) for t in tools]
    read_only = [action_name(target_name, t.name) for t in tools if t.read_only]
    policies = {
        INVOKE_POLICY_NAME: cedar_permit(
            gateway_arn=gateway_arn, actions=everything, scope=invoke_scope
        )
    }
    if read_only:
        policies[READ_POLICY_NAME] = cedar_permit(
            gateway_arn=gateway_arn, actions=read_only, scope=read_scope
        )
    return policies


def engine_name_for(stack_name: str) -> str:
    """A policy-engine name (``^[A-Za-z][A-Za-z0-9_]*$``, <= 48) derived from the stack name."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", stack_name)
    if not cleaned[:1].isalpha():
        cleaned = f"e_{cleaned}"
    return f"{cleaned[:40]}_tools"


class GatewayToolPolicy(Construct):
    """A policy engine attached to a gateway, holding the scope -> tools Cedar policies.

    Wires, in this order: the ``CfnPolicyEngine`` (id ``Engine``); the gateway role's
    ``GetPolicyEngine`` / ``AuthorizeAction`` / ``PartiallyAuthorizeActions`` (in a policy the
    gateway depends on, because the service checks them when the engine is attached); the gateway's
    ``PolicyEngineConfiguration`` (``mode``: ``ENFORCE``, or ``LOG_ONLY`` to only log decisions);
    and one ``CfnPolicy`` per access level (ids ``InvokePolicy``/``ReadPolicy``), created after the
    target so ``FAIL_ON_ANY_FINDINGS`` validates them against the schema the gateway derives from
    the target's tools: a tool name that the server does not serve fails the deployment.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        gateway: agentcore.CfnGateway,
        gateway_role: iam.IRole,
        target: agentcore.CfnGatewayTarget,
        target_name: str,
        invoke_scope: str,
        read_scope: str,
        tools: Sequence[Tool] | None = None,
        mode: str = "ENFORCE",
        engine_name: str | None = None,
        after: Sequence[IDependable] = (),
    ) -> None:
        """``tools`` defaults to the manifest; ``after`` lists extra resources the policies wait
        for (e.g. the tool-sync custom resource, so the schema has the current tools)."""
        super().__init__(scope, construct_id)
        if mode not in POLICY_MODES:
            raise ValueError(
                f'policyMode {mode!r} must be "ENFORCE" or "LOG_ONLY" (log decisions only)'
            )
        if Token.is_unresolved(gateway.name):
            raise ValueError("GatewayToolPolicy needs a gateway with a literal name")
        stack = Stack.of(self)
        self.tools = tuple(tools) if tools is not None else load_manifest()
        self.mode = mode

        self.engine = agentcore.CfnPolicyEngine(
            self,
            "Engine",
            name=engine_name or engine_name_for(stack.stack_name),
            description="Which OAuth scope may call which Lark tool (read: read-only tools).",
        )

        gateway_arn_pattern = stack.format_arn(
            service="bedrock-agentcore",
            resource="gateway",
            resource_name=f"{gateway.name.lower()}-{'?' * _GATEWAY_ID_SUFFIX_LENGTH}",
        )
        self.role_policy = iam.Policy(
            self,
            "EvaluatePolicies",
            statements=[
                iam.PolicyStatement(
                    actions=["bedrock-agentcore:GetPolicyEngine"],
                    resources=[self.engine.attr_policy_engine_arn],
                ),
                iam.PolicyStatement(
                    actions=[
                        "bedrock-agentcore:AuthorizeAction",
                        "bedrock-agentcore:PartiallyAuthorizeActions",
                    ],
                    resources=[self.engine.attr_policy_engine_arn, gateway_arn_pattern],
                ),
            ],
        )
        self.role_policy.attach_to_role(gateway_role)
        gateway.policy_engine_configuration = (
            agentcore.CfnGateway.GatewayPolicyEngineConfigurationProperty(
                arn=self.engine.attr_policy_engine_arn, mode=mode
            )
        )
        gateway.node.add_dependency(self.role_policy)

        statements = cedar_policies(
            tools=self.tools,
            target_name=target_name,
            gateway_arn=gateway.attr_gateway_arn,
            invoke_scope=invoke_scope,
            read_scope=read_scope,
        )
        self.policies: dict[str, agentcore.CfnPolicy] = {}
        descriptions = {
            INVOKE_POLICY_NAME: f"{invoke_scope} may list and call every tool",
            READ_POLICY_NAME: f"{read_scope} may list and call only the read-only tools",
        }
        for name, statement in statements.items():
            policy = agentcore.CfnPolicy(
                self,
                "InvokePolicy" if name == INVOKE_POLICY_NAME else "ReadPolicy",
                name=name,
                policy_engine_id=self.engine.attr_policy_engine_id,
                description=descriptions[name],
                definition=agentcore.CfnPolicy.PolicyDefinitionProperty(
                    cedar=agentcore.CfnPolicy.CedarPolicyProperty(statement=statement)
                ),
                validation_mode="FAIL_ON_ANY_FINDINGS",
            )
            policy.node.add_dependency(target)
            for dependable in after:
                policy.node.add_dependency(dependable)
            self.policies[name] = policy

    @property
    def read_only_tools(self) -> list[str]:
        """Names of the tools a read-scope caller can list and call."""
        return [t.name for t in self.tools if t.read_only]
