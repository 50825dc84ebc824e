"""`python -m mcp_constructs.verify_sign_in` (`make verify USER_AUTH=1`): the sign-in path's
deploy check, from a laptop.

Runs the checks of the ``Custom::SignInCheck`` resource
(``deploy_checks/runtime/sign_in/sign_in_checks.py``) against either

- a local authorization server (``python -m lark_auth_server``): ``--issuer
  http://127.0.0.1:8001 --client-id dev --redirect-uri http://127.0.0.1:8765/cb`` (plus
  ``--gateway-url`` of a gateway to check, ``--accounts-origin`` of a fake Feishu), or
- the deployed stacks: ``[--stack-prefix LarkMcp] [--region eu-west-1]`` (default: cdk.json's
  ``stackPrefix``), which reads the
  outputs of ``<prefix>-UserAuth``, ``<prefix>-UserGateway`` and ``<prefix>-Runtime``
  (CloudFormation ``DescribeStacks``, your AWS credentials). No secret is read.

Exit code 0: every check passed; 1: one failed (the message says what is wrong); 2: it could
not run (no such stack, no credentials, missing arguments).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from botocore.exceptions import BotoCoreError

from mcp_constructs.deploy_checks.runtime.sign_in.sign_in_checks import (
    SignInConfig,
    run_checks,
)
from mcp_constructs.verify import (
    VerifyError,
    aws_session,
    configured_stack_prefix,
    emit,
    stack_outputs,
)

# Output keys of stacks/user_auth_stack.py, stacks/user_gateway_stack.py, stacks/runtime_stack.py.
ISSUER_OUTPUT = "IssuerUrl"
DISCOVERY_OUTPUT = "DiscoveryUrl"
CLIENT_ID_OUTPUT = "UserClientId"
REDIRECT_OUTPUT = "QuickSuiteRedirectUrl"
FUNCTION_OUTPUT = "AuthServerFunctionName"
GATEWAY_URL_OUTPUT = "UserMcpEndpointUrl"
FILL_SECRET_OUTPUT = "FillLarkSecretCommand"
LARK_SECRET_OUTPUT = "LarkSecretName"


def deployed_config(stack_prefix: str, region: str | None, session: Any = None) -> SignInConfig:
    """The check's configuration from the deployed stacks' outputs."""
    try:
        session = session or aws_session(region)
    except BotoCoreError as exc:  # e.g. AWS_PROFILE names a profile that does not exist
        raise VerifyError(f"AWS call failed: {exc}") from None
    if not session.region_name:
        raise VerifyError("no AWS region: pass --region or set AWS_REGION")
    try:
        auth = stack_outputs(session, f"{stack_prefix}-UserAuth")
        gateway = stack_outputs(session, f"{stack_prefix}-UserGateway")
        runtime = stack_outputs(session, f"{stack_prefix}-Runtime")
    except BotoCoreError as exc:  # no credentials, no network, expired token...
        raise VerifyError(f"AWS call failed: {exc}") from None
    needed = {
        f"{stack_prefix}-UserAuth": (auth, [ISSUER_OUTPUT, DISCOVERY_OUTPUT, REDIRECT_OUTPUT]),
        f"{stack_prefix}-UserGateway": (gateway, [GATEWAY_URL_OUTPUT]),
    }
    for stack, (outputs, keys) in needed.items():
        missing = [key for key in keys if not outputs.get(key)]
        if missing:
            raise VerifyError(
                f"stack {stack} has no output {', '.join(missing)} (deployed from an older"
                " commit? deploy again)"
            )
    fill = runtime.get(FILL_SECRET_OUTPUT)
    if not fill and runtime.get(LARK_SECRET_OUTPUT):
        fill = f"aws secretsmanager put-secret-value --secret-id {runtime[LARK_SECRET_OUTPUT]} ..."
    function = auth.get(FUNCTION_OUTPUT)
    restart = (
        f"aws lambda update-function-configuration --function-name {function} --region"
        f' {session.region_name} --description "secrets changed $(date +%s)"'
        if function
        else None
    )
    return SignInConfig(
        issuer=auth[ISSUER_OUTPUT],
        discovery_url=auth[DISCOVERY_OUTPUT],
        client_id=auth.get(CLIENT_ID_OUTPUT) or "quicksuite",
        redirect_uri=auth[REDIRECT_OUTPUT],
        gateway_url=gateway[GATEWAY_URL_OUTPUT],
        fill_secret_command=fill,
        restart_command=restart,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mcp_constructs.verify_sign_in",
        description="Check the sign-in path: discovery, keys, /authorize, gateway refusals.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--issuer", help="issuer URL of a local authorization server")
    where.add_argument(
        "--stack-prefix",
        help="prefix of the deployed stacks (default: cdk.json's stackPrefix, else LarkMcp)",
    )
    parser.add_argument("--region", help="AWS region of the stacks (default: your AWS config)")
    parser.add_argument("--client-id", default="quicksuite", help="OAuth client (--issuer)")
    parser.add_argument(
        "--redirect-uri", help="a redirect URI registered for the client (needed with --issuer)"
    )
    parser.add_argument("--gateway-url", help="MCP URL of a user gateway that must refuse")
    parser.add_argument(
        "--accounts-origin",
        help="where /authorize must send people (default: accounts.feishu.cn or larksuite.com)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace, session: Any = None) -> SignInConfig:
    if not args.issuer:
        args.stack_prefix = args.stack_prefix or configured_stack_prefix()
        config = deployed_config(args.stack_prefix, args.region, session)
        if args.accounts_origin:
            config = replace(config, accounts_origin=args.accounts_origin)
        return config
    if not args.redirect_uri:
        raise VerifyError(
            "--redirect-uri is needed with --issuer: one registered for the client in AUTH_CLIENTS"
        )
    return SignInConfig(
        issuer=args.issuer.rstrip("/"),
        client_id=args.client_id,
        redirect_uri=args.redirect_uri,
        gateway_url=args.gateway_url,
        accounts_origin=args.accounts_origin,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = build_config(args)
    except VerifyError as exc:
        print(f"verify: {exc}", file=sys.stderr)
        return 2
    report = run_checks(config)
    emit(report, args.json)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
