"""`make quicksuite USER_AUTH=1`: the sign-in integration's form from a deployed stack (Stubber)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from mcp_constructs import quicksuite
from mcp_constructs.quicksuite import QuickSuiteError, run

REGION = "eu-west-1"
STACK = "LarkMcp-UserGateway"
ISSUER = "https://abc123defg.execute-api.eu-west-1.amazonaws.com"
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:UserAuthClientsSecret-AbCdEf"
OUTPUTS = {
    "UserMcpEndpointUrl": "https://larkmcp-user-gw-abcdefghij.gateway.bedrock-agentcore."
    "eu-west-1.amazonaws.com/mcp",
    "UserClientId": "quicksuite",
    "UserTokenUrl": f"{ISSUER}/token",
    "UserAuthorizationUrl": f"{ISSUER}/authorize",
    "UserClientSecretArn": SECRET_ARN,
    "LarkRedirectUrl": f"{ISSUER}/callback",
}
CLIENT_SECRET = "s3cr3t" * 8


def _client(service):
    return boto3.client(
        service, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )


def _described(outputs, status="CREATE_COMPLETE"):
    return {
        "Stacks": [
            {
                "StackName": STACK,
                "CreationTime": "2026-01-01T00:00:00Z",
                "StackStatus": status,
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
            }
        ]
    }


@pytest.fixture
def clients():
    cfn, cognito, secrets = (
        _client("cloudformation"),
        _client("cognito-idp"),
        _client("secretsmanager"),
    )
    with Stubber(cfn) as cfn_stub, Stubber(secrets) as secrets_stub, Stubber(cognito):
        yield cfn, cfn_stub, cognito, secrets, secrets_stub
        cfn_stub.assert_no_pending_responses()
        secrets_stub.assert_no_pending_responses()


def _run(clients, **kwargs):
    cfn, _, cognito, secrets, _ = clients
    return run(
        team=None,
        stacks=[STACK],
        cfn=cfn,
        cognito=cognito,
        secrets=secrets,
        user_auth=True,
        **kwargs,
    )


def test_prints_the_user_authentication_form_without_the_secret(clients):
    clients[1].add_response("describe_stacks", _described(OUTPUTS), {"StackName": STACK})
    text = _run(clients, show_secret=False, as_json=False)
    lines = text.splitlines()
    labels = [line.split(":", 1)[0] for line in lines if line and not line.startswith("(")]
    assert labels == [
        "Name",
        "Description",
        "MCP server endpoint",
        "Authentication",
        "Client ID",
        "Client secret",
        "Token URL",
        "Authorization URL",
        "Lark app redirect URL",
    ]
    assert OUTPUTS["UserMcpEndpointUrl"] in text and f"{ISSUER}/authorize" in text
    assert "User authentication" in text
    assert f"get-secret-value --secret-id {SECRET_ARN} --region {REGION}" in text
    assert "make quicksuite USER_AUTH=1 SHOW_SECRET=1" in text
    assert CLIENT_SECRET not in text


def test_show_secret_reads_it_from_secrets_manager(clients):
    clients[1].add_response("describe_stacks", _described(OUTPUTS), {"StackName": STACK})
    value = {"client_id": "quicksuite", "client_secret": CLIENT_SECRET, "redirect_uris": []}
    clients[4].add_response(
        "get_secret_value",
        {"ARN": SECRET_ARN, "Name": "x", "SecretString": json.dumps(value)},
        {"SecretId": SECRET_ARN},
    )
    got = json.loads(_run(clients, show_secret=True, as_json=True))
    assert got["client_id"] == "quicksuite"
    assert got["client_secret"] == CLIENT_SECRET
    assert got["token_url"] == f"{ISSUER}/token"
    assert got["authorization_url"] == f"{ISSUER}/authorize"
    assert "client_secret_command" not in got


def test_a_stack_without_user_auth_says_how_to_enable_it(clients):
    clients[1].add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message=f"Stack with id {STACK} does not exist",
        expected_params={"StackName": STACK},
    )
    with pytest.raises(QuickSuiteError, match=r"not deployed.*make deploy"):
        _run(clients, show_secret=False, as_json=False)


def test_an_unreadable_secret_is_a_readable_error(clients):
    clients[1].add_response("describe_stacks", _described(OUTPUTS), {"StackName": STACK})
    clients[4].add_client_error(
        "get_secret_value",
        service_error_code="AccessDeniedException",
        service_message="not allowed",
        expected_params={"SecretId": SECRET_ARN},
    )
    with pytest.raises(QuickSuiteError, match=f"could not read secret {SECRET_ARN}: not allowed"):
        _run(clients, show_secret=True, as_json=False)


class _Session:
    """A boto3 session handing out the stubbed clients (main() creates its own otherwise)."""

    region_name = REGION

    def __init__(self, clients):
        self._clients = {"cloudformation": clients[0], "cognito-idp": clients[2]}
        self._clients["secretsmanager"] = clients[3]

    def client(self, name):
        return self._clients[name]


def test_command_line_reads_the_user_gateway_stack_of_the_prefix(clients, monkeypatch, capsys):
    stack = "Acme-UserGateway"
    clients[1].add_response("describe_stacks", _described(OUTPUTS), {"StackName": stack})
    monkeypatch.setattr(quicksuite, "make_session", lambda region: _Session(clients))
    assert quicksuite.main(["--user-auth", "--stack-prefix", "Acme", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["client_id"] == "quicksuite"
    assert quicksuite.main(["--user-auth", "--team", "ops"]) == 2
    assert "exclude each other" in capsys.readouterr().err
