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

Matching the scope claim exactly is :func:`scope_condition`'s job (a substring ``like`` would
let ``.../readwrite`` pass for ``.../read``). The Cedar text is built by pure functions
(:func:`cedar_policies`) from ``lark_mcp_server/tools_manifest.json``, the single source of truth
for tool names and read-only-ness, so tests evaluate it with the Cedar engine itself.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

from aws_cdk import Stack, Token
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam
from constructs import Construct, IDependable

from mcp_constructs.manifest import Tool

#: Gateway policy-engine modes (``CfnGateway.PolicyEngineConfiguration.Mode``).
POLICY_MODES = ("ENFORCE", "LOG_ONLY")

_TARGET_RE = re.compile(r"^([0-9a-zA-Z][-]?){1,100}$")
# Characters that would change the meaning of a scope inside a Cedar string or `like` pattern.
_SCOPE_FORBIDDEN = re.compile(r'[\s*"\\]')
# The gateway id is "<lower-cased gateway name>-<10 random characters>" (as aws-cdk-lib's
# PolicyEngine.grantEvaluateForGateway assumes), so an IAM ARN pattern can name the gateway
# before it exists without `*`.
_GATEWAY_ID_SUFFIX_LENGTH = 10
_MAX_STATEMENT = 9_500


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
    return permit_when(gateway_arn=gateway_arn, actions=actions, condition=scope_condition(scope))


def permit_when(*, gateway_arn: str, actions: Sequence[str], condition: str) -> str:
    """``permit`` OAuth callers for whom the Cedar ``condition`` holds to run ``actions`` on
    this gateway (the caller checks that ``actions`` is not empty and ``condition`` is sound)."""
    action_list = ",\n    ".join(f'AgentCore::Action::"{a}"' for a in actions)
    text = (
        "permit(\n"
        "  principal is AgentCore::OAuthUser,\n"
        f"  action in [\n    {action_list}\n  ],\n"
        f'  resource == AgentCore::Gateway::"{gateway_arn}"\n'
        ")\n"
        f"when {{\n  {condition}\n}};"
    )
    # The service takes at most 10,000 characters; keep room for the resolved gateway ARN.
    if len(text) > _MAX_STATEMENT:
        raise ValueError(
            f"the Cedar policy for {len(actions)} tools is {len(text)} characters, over the "
            f"{_MAX_STATEMENT} this module allows (service limit 10,000): split the tools "
            "over more gateway targets"
        )
    return text


def policy_name(level: str, target_name: str, prefix: str = "") -> str:
    """``[<prefix>_]<level>_<target>`` as a policy name (``^[A-Za-z][A-Za-z0-9_]*$``, <= 48).

    Names are immutable; ``prefix`` (the deployment's stack name, see
    :func:`name_prefix_for`) keeps two deployments in one account from asking for the same
    name. Too long a name keeps its first 39 characters plus a hash of the whole.
    """
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", target_name)
    name = f"{prefix}_{level}_{cleaned}" if prefix else f"{level}_{cleaned}"
    if len(name) > 48:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[:39]}_{digest}"
    return name


def name_prefix_for(stack_name: str) -> str:
    """A stack name in the characters policy and engine names allow, starting with a letter."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", stack_name)
    return cleaned if cleaned[:1].isalpha() else f"e_{cleaned}"


def cedar_policies(
    *,
    tools: Iterable[Tool],
    target_name: str,
    gateway_arn: str,
    invoke_scope: str,
    read_scope: str | None,
) -> dict[str, str]:
    """Access level (``invoke``/``read``) -> Cedar statement for one target's tools.

    ``invoke`` holders may call every tool; ``read`` holders exactly the read-only ones. Without
    a read scope (no read team) or a read-only tool, the read policy is omitted: an empty
    ``action in []`` is refused by the service, and Cedar denies whatever no policy permits.
    """
    if not _TARGET_RE.match(target_name):
        raise ValueError(f"gateway target name {target_name!r} is not a valid target name")
    tools = tuple(tools)
    everything = [action_name(target_name, t.name) for t in tools]
    read_only = [action_name(target_name, t.name) for t in tools if t.read_only]
    policies = {
        "invoke": cedar_permit(gateway_arn=gateway_arn, actions=everything, scope=invoke_scope)
    }
    if read_scope and read_only:
        policies["read"] = cedar_permit(
            gateway_arn=gateway_arn, actions=read_only, scope=read_scope
        )
    return policies


def engine_name_for(stack_name: str) -> str:
    """A policy-engine name (``^[A-Za-z][A-Za-z0-9_]*$``, <= 48) derived from the stack name."""
    cleaned = name_prefix_for(stack_name)
    if len(cleaned) > 40:
        cleaned = f"{cleaned[:31]}_{hashlib.sha256(cleaned.encode()).hexdigest()[:8]}"
    return f"{cleaned}_tools"


class GatewayToolPolicy(Construct):
    """A policy engine attached to a gateway, holding the scope -> tools Cedar policies.

    Wires, in this order: the ``CfnPolicyEngine`` (id ``Engine``); the gateway role's
    ``GetPolicyEngine`` / ``AuthorizeAction`` / ``PartiallyAuthorizeActions`` (in a policy the
    gateway depends on, because the service checks them when the engine is attached); and the
    gateway's ``PolicyEngineConfiguration`` (``mode``: ``ENFORCE``, or ``LOG_ONLY`` to only log
    decisions). :meth:`add_target` then writes the policies for one target's tools.

    With the engine attached in ``ENFORCE`` mode, a target without policies is invisible to
    everyone: every target the gateway serves needs :meth:`add_target`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        gateway: agentcore.CfnGateway,
        gateway_role: iam.IRole,
        invoke_scope: str,
        read_scope: str | None,
        mode: str = "ENFORCE",
        engine_name: str | None = None,
    ) -> None:
        """``invoke_scope``/``read_scope`` are full scopes (``<resource server>/<name>``);
        ``read_scope`` None writes no read policies (no team has read access)."""
        super().__init__(scope, construct_id)
        if mode not in POLICY_MODES:
            raise ValueError(
                f"context 'policyMode'={mode!r} is not valid: use ENFORCE (default) or LOG_ONLY "
                "(decisions are logged, nothing is refused)"
            )
        if Token.is_unresolved(gateway.name):
            raise ValueError(f"{self.node.path}: the gateway needs a literal name")
        stack = Stack.of(self)
        self.gateway = gateway
        #: Starts every policy name: unique per deployment (stack), as names are per account.
        self.name_prefix = name_prefix_for(stack.stack_name)
        self.invoke_scope = invoke_scope
        self.read_scope = read_scope
        self.mode = mode

        self.engine = agentcore.CfnPolicyEngine(
            self,
            "Engine",
            name=engine_name or engine_name_for(stack.stack_name),
            description="Which OAuth scope may call which tool of the gateway",
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
        #: (target name, level) -> policy, in creation order.
        self.policies: dict[tuple[str, str], agentcore.CfnPolicy] = {}

    def add_target(
        self,
        target: agentcore.CfnGatewayTarget,
        *,
        target_name: str,
        tools: Sequence[Tool],
        after: Sequence[IDependable] = (),
    ) -> list[agentcore.CfnPolicy]:
        """Policies for one target's ``tools`` (ids ``<Target><Level>Policy``, e.g.
        ``LarkInvokePolicy``/``LarkReadPolicy``: one per level of :meth:`statements`).

        Created after the target and ``after`` (e.g. its tool sync) so that the service's
        ``FAIL_ON_ANY_FINDINGS`` validation sees the target's current tools: a tool name the
        server does not serve fails the deployment instead of silently permitting nothing.
        """
        prefix = "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", target_name))
        created = []
        for level, (statement, description) in self.statements(target_name, tools).items():
            policy = agentcore.CfnPolicy(
                self,
                f"{prefix}{level.capitalize()}Policy",
                name=policy_name(level, target_name, self.name_prefix),
                policy_engine_id=self.engine.attr_policy_engine_id,
                description=description,
                definition=agentcore.CfnPolicy.PolicyDefinitionProperty(
                    cedar=agentcore.CfnPolicy.CedarPolicyProperty(statement=statement)
                ),
                validation_mode="FAIL_ON_ANY_FINDINGS",
            )
            policy.node.add_dependency(target)
            for dependable in after:
                policy.node.add_dependency(dependable)
            self.policies[(target_name, level)] = policy
            created.append(policy)
        return created

    def statements(self, target_name: str, tools: Sequence[Tool]) -> dict[str, tuple[str, str]]:
        """Access level -> (Cedar statement, description) for one target: the scope-based
        ``invoke``/``read`` policies of :func:`cedar_policies`."""
        statements = cedar_policies(
            tools=tools,
            target_name=target_name,
            gateway_arn=self.gateway.attr_gateway_arn,
            invoke_scope=self.invoke_scope,
            read_scope=self.read_scope,
        )
        descriptions = {
            "invoke": f"{self.invoke_scope} may list and call every tool of {target_name}",
            "read": f"{self.read_scope} may list and call the read-only tools of {target_name}",
        }
        return {level: (text, descriptions[level]) for level, text in statements.items()}
