"""The sign-in path proves itself at deploy time (``userAuth: true``): ``SignInCheck``.

A custom resource beside the user gateway's tool sync that checks, from outside and without a
signed-in person, what a person's sign-in will rely on: the issuer's discovery documents and
keys, ``/authorize`` for Quick Suite's client (which also shows an unfilled Lark app secret),
and that the user gateway refuses requests without a valid token
(``runtime/sign_in/sign_in_checks.py``). It fails the deploy with a sentence saying what is
wrong, reruns exactly when its ``Triggers`` change, and never fails a rollback.

Its Lambda asset is its own (``runtime/sign_in/`` plus ``runtime/rollback.py`` and the
CloudFormation model), so the bot path's checks keep their asset, and their templates, as
they were.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from .botocore_models import RUNTIME_DIR, staged_asset
from .constructs import DEFAULT_LOG_RETENTION, GatewayToolSync, _CheckProvider, fingerprint

SIGN_IN_DIR = RUNTIME_DIR / "sign_in"
#: The handler calls CloudFormation only (DescribeStacks, to recognise a rollback).
SIGN_IN_SERVICES = ("cloudformation",)
RESOURCE_TYPE = "Custom::SignInCheck"


def sign_in_code() -> lambda_.Code:
    """``sign_in_checks`` + ``sign_in_handler`` + ``rollback`` + the CloudFormation model."""
    asset = staged_asset(SIGN_IN_DIR, SIGN_IN_SERVICES, (RUNTIME_DIR / "rollback.py",))
    return lambda_.Code.from_asset(str(asset), exclude=["__init__.py"])


class SignInCheck(Construct):
    """Fails the deploy unless the sign-in path answers as Quick Suite and the gateway expect.

    :param issuer: the issuer the runtime trusts (its ``LARK_USER_AUTH_ISSUER``).
    :param discovery_url: the discovery URL the user gateway's ``CUSTOM_JWT`` authorizer reads.
    :param client_id: the OAuth client Quick Suite uses (``quicksuite``).
    :param redirect_uri: Quick Suite's redirect URI registered for that client.
    :param gateway: the user gateway (its MCP URL must refuse unauthenticated calls).
    :param accounts_origin: where ``/authorize`` must send people, e.g.
        ``https://accounts.feishu.cn``.
    :param fill_secret_command: the command that fills the Lark app secret (for the message).
    :param restart_command: the command that makes the server read its secrets again.
    :param after: the user gateway's tool sync, to run after.
    :param triggers: hashes that must rerun the check when they change (the authorization
        server's code and settings, the gateway's authorizer and interceptor).
    :param max_wait: how long failures that time may fix are retried. Default 10 minutes.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        issuer: str,
        discovery_url: str,
        client_id: str,
        redirect_uri: str,
        gateway: agentcore.CfnGateway,
        accounts_origin: str,
        fill_secret_command: str,
        restart_command: str,
        after: GatewayToolSync | None = None,
        triggers: Mapping[str, str] | None = None,
        max_wait: Duration | None = None,
        query_interval: Duration | None = None,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
    ) -> None:
        super().__init__(scope, id)
        max_wait = max_wait or Duration.minutes(10)
        self.triggers: dict[str, str] = {
            "endpoints": fingerprint(
                self, [issuer, discovery_url, client_id, redirect_uri, accounts_origin]
            ),
            "authorizer": fingerprint(
                self, [gateway.authorizer_type, gateway.authorizer_configuration]
            ),
            **(triggers or {}),
        }
        checks = _CheckProvider(
            self,
            "Handler",
            module="sign_in_handler",
            description="Checks the sign-in path: discovery, keys, /authorize, gateway refusals",
            query_interval=query_interval or Duration.seconds(30),
            max_wait=max_wait,
            function_timeout=Duration.seconds(90),
            log_retention=log_retention,
            permissions=None,  # public endpoints only; no secret is read
            code=sign_in_code(),
        )
        self.log_group = checks.log_group
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=checks.provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties={
                "Issuer": issuer,
                "DiscoveryUrl": discovery_url,
                "ClientId": client_id,
                "RedirectUri": redirect_uri,
                "GatewayUrl": gateway.attr_gateway_url,
                "AccountsOrigin": accounts_origin,
                "FillSecretCommand": fill_secret_command,
                "RestartCommand": restart_command,
                "MaxWaitSeconds": max_wait.to_seconds(),
                "Triggers": self.triggers,
            },
        )
        self.resource.node.add_dependency(gateway)
        if after is not None:
            self.resource.node.add_dependency(after.resource)
