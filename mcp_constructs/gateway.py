"""An Amazon Bedrock AgentCore Gateway speaking MCP, guarded by a JWT authorizer.

Clients present an OAuth access token; the gateway checks it against the issuer's discovery
document, the allowed client ids and the allowed scopes. It deliberately sets no allowed
audience: Cognito client-credentials tokens carry no `aud` claim, so an audience check would
reject every token. Behind the gateway, MCP server targets are reached with the gateway's own
IAM role (SigV4), e.g. an AgentCore runtime through its public invocation URL.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aws_cdk import Stack, Token
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IDependable

from mcp_constructs.nag import acknowledge_resolved
from mcp_constructs.service_role import agentcore_service_role

if TYPE_CHECKING:
    from mcp_constructs.m2m_auth import M2MAuth

#: MCP protocol versions the gateway accepts from clients (`ProtocolConfiguration.Mcp.
#: SupportedVersions`). A gateway only answers requests of a listed version. The list is pinned
#: here, not left to the service default, so a deploy never changes what clients may speak;
#: it can be extended or shrunk later by an in-place update (add a version here, deploy).
#: AgentCore Gateway documents exactly these four ("Use an AgentCore gateway",
#: docs.aws.amazon.com/bedrock-agentcore/latest/devguide/gateway-using.html); the server's MCP
#: SDK (mcp 2.3) speaks all of them (2025-* with `initialize`, 2026-07-28 stateless).
#: tests/infra/test_mcp_versions.py checks this list, the smoke test's version
#: (deploy_checks/runtime/mcp_smoke.py DEFAULT_PROTOCOL_VERSION) and the server agree.
MCP_SUPPORTED_VERSIONS: tuple[str, ...] = ("2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28")

_GATEWAY_NAME = re.compile(r"^(?:[0-9a-z]-?){1,48}$")
_TARGET_NAME = re.compile(r"^(?:[0-9a-zA-Z]-?){1,100}$")


class InvokableRuntime(Protocol):
    """What a gateway needs from a runtime (McpServerRuntime satisfies it)."""

    @property
    def runtime_arn(self) -> str: ...

    @property
    def runtime_id(self) -> str: ...

    @property
    def node(self) -> object: ...

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant: ...


@dataclass(frozen=True)
class JwtAuthorizer:
    """Inbound auth of the gateway (AuthorizerType CUSTOM_JWT).

    Attributes:
        discovery_url: the issuer's `/.well-known/openid-configuration` URL.
        allowed_clients: client ids whose tokens are accepted (`client_id` claim). Required:
            an empty list would let any client of the issuer in.
        allowed_scopes: scopes a token must carry (`scope` claim). Required, for the same reason,
            unless `any_scope`.
        any_scope: accept tokens whatever their scope (no `AllowedScopes`). Default False. Only
            for an issuer that mints tokens for this gateway alone (our own authorization
            server), where the allowed client ids already say who may call.
        any_client: accept tokens whatever their client (no `AllowedClients`). Default False.
            Only for our own authorization server, whose clients register themselves (their
            ids cannot be listed) and whose tokens are bound to this gateway by their `aud`
            (which the gateway's Cedar policies and the MCP server check).
    """

    discovery_url: str
    allowed_clients: tuple[str, ...]
    allowed_scopes: tuple[str, ...]
    any_scope: bool = False
    any_client: bool = False

    @classmethod
    def from_m2m_auth(cls, auth: M2MAuth, scopes: Sequence[str] | None = None) -> JwtAuthorizer:
        """Accept every app client of an M2MAuth, with its full scopes (or the named ones)."""
        full = [auth.full_scope(s) for s in scopes] if scopes is not None else auth.full_scopes
        return cls(
            discovery_url=auth.discovery_url,
            allowed_clients=tuple(auth.client_ids),
            allowed_scopes=tuple(full),
        )


class McpGateway(Construct):
    """An AgentCore Gateway (protocol MCP, CUSTOM_JWT authorizer without an audience check).

    Args:
        authorizer: who may call the gateway; see JwtAuthorizer.
        gateway_name: lowercase letters, digits and single hyphens, at most 48 characters.
            Its role trusts only gateways of this name in this account and region.
        description: gateway description. Default none.
        exception_level: `DEBUG` returns detailed error messages to callers. Default none
            (generic errors), which leaks nothing about the targets.
        mcp_versions: MCP protocol versions clients may use. Default MCP_SUPPORTED_VERSIONS.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        authorizer: JwtAuthorizer,
        gateway_name: str,
        description: str | None = None,
        exception_level: str | None = None,
        mcp_versions: Sequence[str] = MCP_SUPPORTED_VERSIONS,
    ) -> None:
        super().__init__(scope, id)
        if not mcp_versions:
            raise ValueError(f"{self.node.path}: mcp_versions needs at least one MCP version")
        if not Token.is_unresolved(gateway_name) and not _GATEWAY_NAME.match(gateway_name):
            raise ValueError(
                f"{self.node.path}: gateway name {gateway_name!r} must be 1-48 lowercase "
                "letters, digits or single hyphens"
            )
        if not (authorizer.allowed_clients or authorizer.any_client) or not (
            authorizer.allowed_scopes or authorizer.any_scope
        ):
            raise ValueError(
                f"{self.node.path}: the JWT authorizer needs at least one allowed client and "
                "one allowed scope, otherwise any token of the issuer would be accepted"
            )
        if not Token.is_unresolved(authorizer.discovery_url) and not (
            authorizer.discovery_url.startswith("https://")
            and authorizer.discovery_url.endswith("/.well-known/openid-configuration")
        ):
            raise ValueError(
                f"{self.node.path}: discovery URL {authorizer.discovery_url!r} must be an https "
                "URL ending in /.well-known/openid-configuration"
            )
        if exception_level not in (None, "DEBUG"):
            raise ValueError(f"{self.node.path}: exception_level must be None or 'DEBUG'")

        stack = Stack.of(self)
        self.gateway_name = gateway_name
        self.role = agentcore_service_role(
            self,
            "ServiceRole",
            source_arn=stack.format_arn(
                service="bedrock-agentcore", resource="gateway", resource_name=f"{gateway_name}-*"
            ),
            description=f"Service role of the AgentCore gateway {gateway_name}",
        )

        self.resource = agentcore.CfnGateway(
            self,
            "Resource",
            name=gateway_name,
            description=description,
            role_arn=self.role.role_arn,
            protocol_type="MCP",
            protocol_configuration=agentcore.CfnGateway.GatewayProtocolConfigurationProperty(
                mcp=agentcore.CfnGateway.MCPGatewayConfigurationProperty(
                    supported_versions=list(mcp_versions)
                )
            ),
            authorizer_type="CUSTOM_JWT",
            authorizer_configuration=agentcore.CfnGateway.AuthorizerConfigurationProperty(
                custom_jwt_authorizer=agentcore.CfnGateway.CustomJWTAuthorizerConfigurationProperty(
                    discovery_url=authorizer.discovery_url,
                    allowed_clients=list(authorizer.allowed_clients) or None,
                    allowed_scopes=list(authorizer.allowed_scopes) or None,
                )
            ),
            exception_level=exception_level,
        )
        self.gateway_arn: str = self.resource.attr_gateway_arn
        self.gateway_id: str = self.resource.attr_gateway_identifier
        #: The MCP endpoint clients connect to (`https://<id>.gateway.bedrock-agentcore...`).
        self.gateway_url: str = self.resource.attr_gateway_url
        self.targets: list[McpServerTarget] = []

    def add_request_interceptor(
        self, function: lambda_.IFunction, *, pass_request_headers: bool = False
    ) -> iam.Grant:
        """Run `function` on every request before the targets (the gateway's one REQUEST
        interceptor); the gateway role may invoke that function alone. `pass_request_headers`
        hands it the caller's headers, tokens included: only for code that needs them."""
        if self.resource.interceptor_configurations is not None:
            raise ValueError(f"{self.node.path}: a gateway has at most one REQUEST interceptor")
        grant = function.grant_invoke(self.role)
        acknowledge_resolved(
            self.role.node.find_child("DefaultPolicy").node.default_child,
            "AwsSolutions-IAM5",
            "Resource",
            f"{function.function_arn}:*",
            "grantInvoke also covers the interceptor function's own versions and aliases "
            "(<function ARN>:*); no other function.",
        )
        self.resource.interceptor_configurations = [
            agentcore.CfnGateway.GatewayInterceptorConfigurationProperty(
                interception_points=["REQUEST"],
                interceptor=agentcore.CfnGateway.InterceptorConfigurationProperty(
                    lambda_=agentcore.CfnGateway.LambdaInterceptorConfigurationProperty(
                        arn=function.function_arn
                    )
                ),
                input_configuration=agentcore.CfnGateway.InterceptorInputConfigurationProperty(
                    pass_request_headers=pass_request_headers
                ),
            )
        ]
        # The service checks it may invoke the interceptor when the gateway is created.
        self.resource.node.add_dependency(grant)
        return grant

    def add_mcp_server_target(
        self,
        id: str,
        runtime: InvokableRuntime,
        *,
        target_name: str,
        description: str | None = None,
        qualifier: str = "DEFAULT",
        allowed_request_headers: Sequence[str] = (),
    ) -> McpServerTarget:
        """Expose the tools of an AgentCore runtime through this gateway.

        The gateway calls the runtime's invocation URL signed with its own role, which this
        grants InvokeAgentRuntime on that runtime alone. Agents see the tools as
        `<target_name>___<tool>`. `allowed_request_headers`: request headers the gateway may
        forward to the runtime (its `MetadataConfiguration`); default none.
        """
        target = McpServerTarget(
            self,
            id,
            gateway=self,
            runtime=runtime,
            target_name=target_name,
            description=description,
            qualifier=qualifier,
            allowed_request_headers=allowed_request_headers,
        )
        self.targets.append(target)
        return target


class McpServerTarget(Construct):
    """A gateway target for an MCP server on AgentCore Runtime (see add_mcp_server_target)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        gateway: McpGateway,
        runtime: InvokableRuntime,
        target_name: str,
        description: str | None = None,
        qualifier: str = "DEFAULT",
        allowed_request_headers: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, id)
        _check_forwarded_headers(allowed_request_headers, self.node.path)
        if not Token.is_unresolved(target_name) and not _TARGET_NAME.match(target_name):
            raise ValueError(
                f"{self.node.path}: target name {target_name!r} must be 1-100 letters, digits or "
                "single hyphens (agents see tools as <target>___<tool>)"
            )
        stack = Stack.of(self)
        region = stack.region
        self.target_name = target_name
        self.endpoint = runtime_invocation_url(
            runtime.runtime_arn,
            region,
            qualifier,
            runtime_id=runtime.runtime_id,
            partition=stack.partition,
            account=stack.account,
            url_suffix=stack.url_suffix,
        )
        self.invoke_grant: iam.Grant = runtime.grant_invoke(gateway.role)

        self.resource = agentcore.CfnGatewayTarget(
            self,
            "Resource",
            gateway_identifier=gateway.gateway_id,
            name=target_name,
            description=description,
            target_configuration=agentcore.CfnGatewayTarget.TargetConfigurationProperty(
                mcp=agentcore.CfnGatewayTarget.McpTargetConfigurationProperty(
                    mcp_server=agentcore.CfnGatewayTarget.McpServerTargetConfigurationProperty(
                        endpoint=self.endpoint
                    )
                )
            ),
            metadata_configuration=agentcore.CfnGatewayTarget.MetadataConfigurationProperty(
                allowed_request_headers=list(allowed_request_headers)
            )
            if allowed_request_headers
            else None,
            credential_provider_configurations=[
                agentcore.CfnGatewayTarget.CredentialProviderConfigurationProperty(
                    credential_provider_type="GATEWAY_IAM_ROLE",
                    credential_provider=agentcore.CfnGatewayTarget.CredentialProviderProperty(
                        iam_credential_provider=agentcore.CfnGatewayTarget.IamCredentialProviderProperty(
                            service="bedrock-agentcore", region=region
                        )
                    ),
                )
            ],
        )
        # Creating the target lists the server's tools at once: the runtime must exist and the
        # gateway role must already be allowed to call it.
        self.resource.node.add_dependency(runtime)
        self.resource.node.add_dependency(self.invoke_grant)
        acknowledge_resolved(
            gateway.role.node.find_child("DefaultPolicy").node.default_child,
            "AwsSolutions-IAM5",
            "Resource",
            f"{runtime.runtime_arn}/runtime-endpoint/*",
            "InvokeAgentRuntime through a runtime endpoint is authorized on the endpoint ARN "
            "<runtime ARN>/runtime-endpoint/<name>; the wildcard covers this runtime's endpoints "
            "only.",
        )
        self.target_id: str = self.resource.attr_target_id
        self.gateway = gateway

    @property
    def dependables(self) -> list[IDependable]:
        """Everything that must exist before the target answers (for later checks to wait on)."""
        return [self.resource, self.invoke_grant]


def _check_forwarded_headers(names: Sequence[str], path: str) -> None:
    """A target forwards at most 10 headers; of `X-Amzn-*` only the runtime's custom ones."""
    if len(names) > 10:
        raise ValueError(f"{path}: a gateway target forwards at most 10 request headers")
    for name in names:
        lowered = name.lower()
        if lowered.startswith("x-amzn-") and not lowered.startswith(_CUSTOM_HEADER_PREFIX):
            raise ValueError(
                f"{path}: header {name!r} cannot be forwarded: of the X-Amzn-* headers only "
                "X-Amzn-Bedrock-AgentCore-Runtime-Custom-* may be"
            )


_CUSTOM_HEADER_PREFIX = "x-amzn-bedrock-agentcore-runtime-custom-"
#: DNS suffix of each partition other than `aws`, for literal ARNs (deploy time: AWS::URLSuffix).
_DNS_SUFFIXES = {"aws-cn": "amazonaws.com.cn"}


def runtime_invocation_url(
    runtime_arn: str,
    region: str,
    qualifier: str = "DEFAULT",
    *,
    runtime_id: str | None = None,
    partition: str | None = None,
    account: str | None = None,
    url_suffix: str | None = None,
) -> str:
    """`https://bedrock-agentcore.<region>.<suffix>/runtimes/<URL-encoded ARN>/invocations`.

    ``url_suffix`` is the partition's DNS suffix (`amazonaws.com`, `amazonaws.com.cn` in
    China): pass `Aws.URL_SUFFIX` for a deploy-time one. Default: from a literal ARN's
    partition, else `amazonaws.com`.

    A literal ARN is percent-encoded here. A deploy-time ARN is not split in CloudFormation:
    when the runtime lives in another stack its ARN arrives as `Fn::GetStackOutput`, which
    `Fn::Split` does not accept (cfn-lint's `split.json`; tests/infra/intrinsics.py checks every
    template for this). Instead the encoded ARN is joined from parts CloudFormation accepts in a
    `Fn::Join` list: `arn%3A<partition>%3Abedrock-agentcore%3A<region>%3A<account>%3Aruntime%2F`
    + the runtime id (letters, digits, `-` and `_`: nothing to encode). This takes the runtime to
    be in the gateway's account and region, as a GATEWAY_IAM_ROLE target's SigV4 region is the
    gateway's own.
    """
    if not Token.is_unresolved(runtime_arn):
        encoded = urllib.parse.quote(runtime_arn, safe="")
    else:
        if runtime_id is None or partition is None or account is None:
            raise ValueError(
                "runtime_invocation_url: a deploy-time runtime ARN needs runtime_id, partition "
                "and account to build the encoded ARN without Fn::Split"
            )
        encoded = (
            f"arn%3A{partition}%3Abedrock-agentcore%3A{region}%3A{account}%3Aruntime%2F{runtime_id}"
        )
    if url_suffix is None:
        literal = runtime_arn.split(":")[1] if not Token.is_unresolved(runtime_arn) else "aws"
        url_suffix = _DNS_SUFFIXES.get(literal, "amazonaws.com")
    return (
        f"https://bedrock-agentcore.{region}.{url_suffix}/runtimes/{encoded}"
        f"/invocations?qualifier={qualifier}"
    )
