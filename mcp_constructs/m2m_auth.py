"""Machine-to-machine OAuth with Amazon Cognito: the inbound auth of an MCP gateway.

A user pool that nobody signs up to, a domain serving the token endpoint, a resource server
with scopes, and app clients that hold a secret and may only use the `client_credentials`
grant. Callers (Quick Suite, agents, the smoke test) trade client id + secret for an access
token carrying `scope = <resource server>/<scope>` and `client_id`; Cognito puts no `aud`
claim in such tokens, which is why a gateway must check clients and scopes, not audiences.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

from aws_cdk import Duration, Fn, RemovalPolicy, Stack, Token
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from mcp_constructs.nag import acknowledge

_DOMAIN_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_RESERVED_WORDS = ("aws", "amazon", "cognito")
#: Room for `-<account id>` in Cognito's 63 characters; a digest keeps cut names apart.
_DOMAIN_BASE_MAX = 50
_DIGEST = 8
_CLIENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,47}$")


class M2MAuth(Construct):
    """A Cognito user pool set up for the OAuth client-credentials grant only.

    Args:
        resource_server_id: identifier of the resource server; full scopes are
            `<resource_server_id>/<scope>`. Default `mcp`.
        scopes: scope name -> description. Default `{"invoke": "Call the MCP tools"}`.
        domain_prefix: Cognito domain prefix (`https://<prefix>.auth.<region>.amazoncognito.com`).
            Default: `<stack name, made prefix-safe>-<account id>` (e.g. `larkmcp-123456789012`
            for stack `LarkMcp-Cognito`), the account resolved at deploy time: unique per
            account and region, stable across deploys, and always a valid prefix.
        default_client_name: name of the app client created with the pool. Default `default`.
        access_token_validity: lifetime of issued tokens. Default 60 minutes.
        removal_policy: what `cdk destroy` does to the pool. Default DESTROY: the pool holds
            no people, only machine clients whose secrets are re-issued on redeploy.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        resource_server_id: str = "mcp",
        scopes: Mapping[str, str] | None = None,
        domain_prefix: str | None = None,
        default_client_name: str = "default",
        access_token_validity: Duration | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(scope, id)
        scopes = dict(scopes or {"invoke": "Call the MCP tools"})
        if not scopes:
            raise ValueError(f"{self.node.path}: give at least one scope, e.g. {{'invoke': '...'}}")
        if domain_prefix is not None and not Token.is_unresolved(domain_prefix):
            _check_domain_prefix(domain_prefix, self.node.path)
        self._access_token_validity = access_token_validity or Duration.minutes(60)

        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            # Nobody signs up; only an administrator could create a (human) user.
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True),
            # Secure defaults in case a person is ever added: strong passwords and TOTP MFA.
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
                temp_password_validity=Duration.days(1),
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.NONE,
            removal_policy=removal_policy,
        )
        cfn_pool = self.user_pool.node.default_child
        acknowledge(
            cfn_pool,
            "AwsSolutions-COG3",
            "Threat protection (Plus plan) scores user sign-ins; this pool only "
            "issues client_credentials tokens to app clients and has no users.",
        )
        acknowledge(
            cfn_pool,
            "AwsSolutions-COG8",
            "The Plus feature plan adds protections for user sign-in (threat protection, "
            "compromised credentials); machine clients using client_credentials gain nothing.",
        )

        self.domain_prefix = domain_prefix or Fn.join(
            "-", [default_domain_base(Stack.of(self).stack_name), Stack.of(self).account]
        )
        self.domain = self.user_pool.add_domain(
            "Domain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=self.domain_prefix)
        )

        self.resource_server_id = resource_server_id
        self._scopes = {
            name: cognito.ResourceServerScope(scope_name=name, scope_description=description)
            for name, description in scopes.items()
        }
        self.resource_server = self.user_pool.add_resource_server(
            "ResourceServer",
            identifier=resource_server_id,
            scopes=list(self._scopes.values()),
        )

        #: name -> app client, in creation order (the default client first).
        self.clients: dict[str, cognito.UserPoolClient] = {}
        self.default_client = self.add_client(default_client_name)

    # -- attributes -------------------------------------------------------------------------

    @property
    def token_url(self) -> str:
        """OAuth token endpoint: POST grant_type=client_credentials here."""
        return f"{self.domain.base_url()}/oauth2/token"

    @property
    def issuer_url(self) -> str:
        """Token issuer (`iss`): https://cognito-idp.<region>.amazonaws.com/<pool id>."""
        return self.user_pool.user_pool_provider_url

    @property
    def discovery_url(self) -> str:
        """OpenID discovery document, what a JWT authorizer reads the signing keys from."""
        return f"{self.issuer_url}/.well-known/openid-configuration"

    @property
    def scope_names(self) -> list[str]:
        return list(self._scopes)

    def full_scope(self, name: str) -> str:
        """`<resource server>/<name>`, the string clients request and tokens carry."""
        if name not in self._scopes:
            raise ValueError(f"unknown scope {name!r}; this pool defines {sorted(self._scopes)}")
        return f"{self.resource_server_id}/{name}"

    @property
    def full_scopes(self) -> list[str]:
        return [self.full_scope(name) for name in self._scopes]

    @property
    def client_ids(self) -> list[str]:
        return [client.user_pool_client_id for client in self.clients.values()]

    # -- methods ----------------------------------------------------------------------------

    def add_client(self, name: str, scopes: Sequence[str] | None = None) -> cognito.UserPoolClient:
        """Add an app client with a secret that may only use `client_credentials`.

        Args:
            name: client name (`<letter>[A-Za-z0-9-]*`, unique in this pool); the construct
                id is derived from it, so renaming a client replaces it.
            scopes: scope names (not full scopes) it may request. Default: every scope.
        """
        if not _CLIENT_NAME.match(name):
            raise ValueError(
                f"{self.node.path}: client name {name!r} must be a letter followed by up to 47 "
                "letters, digits or hyphens"
            )
        if name.lower() in (existing.lower() for existing in self.clients):
            raise ValueError(f"{self.node.path}: a client named {name!r} already exists")
        wanted = list(scopes) if scopes is not None else list(self._scopes)
        unknown = [scope for scope in wanted if scope not in self._scopes]
        if unknown or not wanted:
            raise ValueError(
                f"{self.node.path}: client {name!r} asks for scopes {wanted}; "
                f"choose one or more of {sorted(self._scopes)}"
            )
        client = self.user_pool.add_client(
            "Client" + "".join(part.capitalize() for part in name.split("-")),
            user_pool_client_name=name,
            generate_secret=True,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(client_credentials=True),
                scopes=[
                    cognito.OAuthScope.resource_server(self.resource_server, self._scopes[s])
                    for s in wanted
                ],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            access_token_validity=self._access_token_validity,
        )
        # Only the token endpoint: no password, SRP or custom sign-in flows for this client.
        client.node.default_child.add_property_override(
            "ExplicitAuthFlows", ["ALLOW_REFRESH_TOKEN_AUTH"]
        )
        self.clients[name] = client
        return client

    def client_secret_command(self, client: cognito.UserPoolClient) -> str:
        """An AWS CLI command that prints a client's secret (the secret itself is never output)."""
        return Fn.join(
            "",
            [
                "aws cognito-idp describe-user-pool-client --user-pool-id ",
                self.user_pool.user_pool_id,
                " --client-id ",
                client.user_pool_client_id,
                " --region ",
                Stack.of(self).region,
                " --query UserPoolClient.ClientSecret --output text",
            ],
        )


def default_domain_base(name: str) -> str:
    """A domain-prefix-safe form of `name` with room left for `-<12-digit account id>`.

    Lowercased, reserved words (aws, amazon, cognito) removed, other characters turned into
    hyphens, cut to 50 characters: any stack name gives a prefix Cognito accepts. Removing a
    word or cutting loses what tells two names apart (`LarkMcp`, `LarkMcpAws`), so then a hash
    of the whole name is appended; the `-Cognito` every stack name of this app ends with is
    dropped first and changes nothing.
    """
    text = name.lower().removesuffix("-cognito")
    lossy = any(word in text for word in _RESERVED_WORDS)
    for word in _RESERVED_WORDS:
        text = text.replace(word, "")
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    text = re.sub(r"-{2,}", "-", text)
    if not lossy and len(text) <= _DOMAIN_BASE_MAX:
        return text or "mcp"
    digest = hashlib.sha256(name.encode()).hexdigest()[:_DIGEST]  # hex: no reserved word
    return f"{text[: _DOMAIN_BASE_MAX - _DIGEST - 1].strip('-') or 'mcp'}-{digest}"


def _check_domain_prefix(prefix: str, path: str) -> None:
    if not _DOMAIN_PREFIX.match(prefix):
        raise ValueError(
            f"{path}: Cognito domain prefix {prefix!r} must be 1-63 lowercase letters, digits "
            "or hyphens, not starting or ending with a hyphen"
        )
    for word in _RESERVED_WORDS:
        if word in prefix:
            raise ValueError(
                f"{path}: Cognito domain prefix {prefix!r} contains the reserved word {word!r}"
            )
