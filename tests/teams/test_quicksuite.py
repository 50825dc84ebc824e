"""`make quicksuite`: the Quick Suite form's fields from a deployed stack (botocore Stubber)."""

import json

import boto3
import pytest
from botocore.stub import Stubber

from mcp_constructs import quicksuite
from mcp_constructs.quicksuite import QuickSuiteError, make_session, run, stack_names

REGION = "eu-west-1"
POOL = "eu-west-1_AbCdEf123"
GATEWAY_URL = "https://lark-mcp-abcdefghij.gateway.bedrock-agentcore.eu-west-1.amazonaws.com/mcp"
TOKEN_URL = "https://lark-mcp-123456789012.auth.eu-west-1.amazoncognito.com/oauth2/token"
TEAMS = {
    "support": {
        "clientId": "supportclient0123456789ab",
        "access": "read",
        "scope": "lark-mcp/read",
    },
    "ops": {"clientId": "opsclient0123456789abcdef", "access": "write", "scope": "lark-mcp/invoke"},
}
COGNITO_STACK, GATEWAY_STACK = STACKS = ("LarkMcp-Cognito", "LarkMcp-Gateway")


def _client(service):
    return boto3.client(
        service, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )


def _stack(name, outputs, status="CREATE_COMPLETE"):
    return {
        "Stacks": [
            {
                "StackName": name,
                "CreationTime": "2026-01-01T00:00:00Z",
                "StackStatus": status,
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
            }
        ]
    }


COGNITO_OUTPUTS = {
    "UserPoolId": POOL,
    "ClientId": "defaultclient0123456789ab",
    "Scope": "lark-mcp/invoke",
    "TokenUrl": TOKEN_URL,
    "TeamClientsSummary": json.dumps(TEAMS),
}
RATE_LIMITS = {"default": 300, "teams": {"support": 60, "ops": 300}}
GATEWAY_OUTPUTS = {
    "McpEndpointUrl": GATEWAY_URL,
    "TokenUrl": TOKEN_URL,
    "RateLimits": json.dumps(RATE_LIMITS),
}


@pytest.fixture
def clients():
    cfn, cognito = _client("cloudformation"), _client("cognito-idp")
    with Stubber(cfn) as cfn_stub, Stubber(cognito) as cognito_stub:
        yield cfn, cfn_stub, cognito, cognito_stub
        cfn_stub.assert_no_pending_responses()
        cognito_stub.assert_no_pending_responses()


def _deployed(cfn_stub, cognito_outputs=COGNITO_OUTPUTS, gateway_outputs=GATEWAY_OUTPUTS):
    cfn_stub.add_response(
        "describe_stacks", _stack(COGNITO_STACK, cognito_outputs), {"StackName": COGNITO_STACK}
    )
    cfn_stub.add_response(
        "describe_stacks", _stack(GATEWAY_STACK, gateway_outputs), {"StackName": GATEWAY_STACK}
    )


def _run(clients, **kwargs):
    cfn, _, cognito, _ = clients
    args = {"team": None, "show_secret": False, "as_json": False, "stacks": STACKS}
    return run(**(args | kwargs), cfn=cfn, cognito=cognito)


def test_default_client_fields_in_form_order_without_the_secret(clients):
    _deployed(clients[1])
    text = _run(clients)
    form, note = text.split("\n\n")
    labels = [line.split(":")[0] for line in form.splitlines()]
    assert labels == [
        "Name",
        "Description",
        "MCP server endpoint",
        "Authentication",
        "Client ID",
        "Client secret",
        "Token URL",
        "Scope",
        "Rate limit",
    ]
    assert f"MCP server endpoint: {GATEWAY_URL}" in text
    assert "Authentication:      Service authentication" in text
    assert "Client ID:           defaultclient0123456789ab" in text
    assert (
        "aws cognito-idp describe-user-pool-client --user-pool-id "
        f"{POOL} --client-id defaultclient0123456789ab --region {REGION} "
        "--query UserPoolClient.ClientSecret --output text"
    ) in text
    assert f"Token URL:           {TOKEN_URL}" in text
    assert "Scope:               lark-mcp/invoke" in text
    assert "Rate limit:          300 requests per minute at the gateway" in text
    assert "--show-secret" in note  # tells the person how to get the secret itself


def test_team_client_with_secret_as_json(clients):
    _, cfn_stub, _, cognito_stub = clients
    _deployed(cfn_stub)
    cognito_stub.add_response(
        "describe_user_pool_client",
        {
            "UserPoolClient": {
                "ClientId": "supportclient0123456789ab",
                "ClientSecret": "s3cr3t-0123456789abcdefghijkl",
            }
        },
        {"UserPoolId": POOL, "ClientId": "supportclient0123456789ab"},
    )
    fields = json.loads(_run(clients, team="support", show_secret=True, as_json=True))
    assert list(fields) == [
        "name",
        "description",
        "endpoint",
        "authentication",
        "client_id",
        "client_secret",
        "token_url",
        "scope",
        "rate_limit",
    ]
    assert fields["name"] == "Lark as the team bot (support)"
    assert "read-only tools" in fields["description"]
    assert fields["client_id"] == "supportclient0123456789ab"
    assert fields["client_secret"] == "s3cr3t-0123456789abcdefghijkl"
    assert fields["scope"] == "lark-mcp/read"
    assert fields["rate_limit"] == "60 requests per minute at the gateway"  # its own limit
    assert fields["endpoint"] == GATEWAY_URL


def test_a_team_without_its_own_limit_shows_the_default(clients):
    _deployed(clients[1])
    fields = json.loads(_run(clients, team="ops", as_json=True))
    assert fields["rate_limit"] == "300 requests per minute at the gateway"


def test_stacks_deployed_before_rate_limits_print_no_limit(clients):
    outputs = {k: v for k, v in GATEWAY_OUTPUTS.items() if k != "RateLimits"}
    _deployed(clients[1], gateway_outputs=outputs)
    fields = json.loads(_run(clients, as_json=True))
    assert "rate_limit" not in fields and fields["scope"] == "lark-mcp/invoke"


def test_secret_is_not_read_without_show_secret(clients):
    _deployed(clients[1])
    fields = json.loads(_run(clients, team="ops", as_json=True))
    assert "client_secret" not in fields  # the Cognito stub has no response queued: never called
    assert fields["client_secret_command"].endswith(
        f"--client-id opsclient0123456789abcdef --region {REGION} "
        "--query UserPoolClient.ClientSecret --output text"
    )


def test_stack_not_deployed(clients):
    clients[1].add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message=f"Stack with id {COGNITO_STACK} does not exist",
        http_status_code=400,
        expected_params={"StackName": COGNITO_STACK},
    )
    with pytest.raises(QuickSuiteError) as err:
        _run(clients)
    assert str(err.value).startswith(f"stack {COGNITO_STACK} is not deployed in {REGION}.")
    assert "make deploy" in str(err.value)


def test_stack_that_failed_to_create(clients):
    clients[1].add_response(
        "describe_stacks",
        _stack(COGNITO_STACK, {}, status="ROLLBACK_COMPLETE"),
        {"StackName": COGNITO_STACK},
    )
    with pytest.raises(QuickSuiteError, match="ROLLBACK_COMPLETE: the last deployment failed"):
        _run(clients)


def test_unknown_team_lists_the_known_ones(clients):
    _deployed(clients[1])
    with pytest.raises(QuickSuiteError) as err:
        _run(clients, team="sales")
    assert str(err.value).startswith('team "sales" is not deployed (teams: ops, support).')
    assert '"teams" context' in str(err.value)


def test_team_asked_for_but_none_configured(clients):
    outputs = {k: v for k, v in COGNITO_OUTPUTS.items() if k != "TeamClientsSummary"}
    _deployed(clients[1], outputs)
    with pytest.raises(QuickSuiteError, match=r"\(teams: none are configured\)"):
        _run(clients, team="support")


def test_missing_output_says_to_redeploy(clients):
    outputs = {k: v for k, v in COGNITO_OUTPUTS.items() if k != "UserPoolId"}
    _deployed(clients[1], outputs)
    with pytest.raises(QuickSuiteError, match=r"output UserPoolId not found .* run `make deploy`"):
        _run(clients)


def test_command_line_without_region_exits_1_with_a_hint(monkeypatch, capsys, tmp_path):
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    assert quicksuite.main([]) == 1
    assert "quicksuite: no AWS region: set AWS_REGION" in capsys.readouterr().err


def test_stack_names_follow_the_apps_stack_prefix(tmp_path):
    cdk_json = tmp_path / "cdk.json"
    assert stack_names(None, cdk_json) == ["LarkMcp-Cognito", "LarkMcp-Gateway"]
    cdk_json.write_text(json.dumps({"context": {"stackPrefix": "Acme"}}))
    assert stack_names(None, cdk_json) == ["Acme-Cognito", "Acme-Gateway"]
    assert stack_names("Other", cdk_json) == ["Other-Cognito", "Other-Gateway"]


def test_region_from_flag_then_aws_region(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "ap-southeast-1")
    assert make_session(None).region_name == "ap-southeast-1"
    assert make_session("eu-west-1").region_name == "eu-west-1"
