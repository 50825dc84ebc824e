"""The ``userAuth`` stacks as synthesized: every resource the sign-in needs, configured safely."""

from __future__ import annotations

import fnmatch
import json

import pytest
from aws_cdk.assertions import Match

from mcp_constructs.manifest import expected_tool_names
from tests.user_auth_cdk.conftest import USER_STACKS

HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Caller-Jwt"


def _resources(raw: dict, type_: str) -> dict[str, dict]:
    return {k: v for k, v in raw["Resources"].items() if v["Type"] == type_}


def _one(raw: dict, type_: str) -> tuple[str, dict]:
    found = _resources(raw, type_)
    assert len(found) == 1, (type_, list(found))
    return next(iter(found.items()))


def _clients_secret(raw: dict) -> tuple[str, dict]:
    """The quicksuite client's secret (the other one seals sign-in cookies)."""
    found = {
        k: v
        for k, v in _resources(raw, "AWS::SecretsManager::Secret").items()
        if "GenerateStringKey" in v["Properties"]["GenerateSecretString"]
    }
    assert len(found) == 1, list(found)
    return next(iter(found.items()))


def _cookie_secret(raw: dict) -> tuple[str, dict]:
    found = {
        k: v
        for k, v in _resources(raw, "AWS::SecretsManager::Secret").items()
        if "GenerateStringKey" not in v["Properties"]["GenerateSecretString"]
    }
    assert len(found) == 1, list(found)
    return next(iter(found.items()))


def _statements(raw: dict, role_logical_id: str) -> list[dict]:
    policies = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for r in _resources(raw, "AWS::IAM::Policy").values()
        if {"Ref": role_logical_id} in r["Properties"]["Roles"]
    ]
    return [s for statements in policies for s in statements]


def _actions(statement: dict) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


# -- stack order ------------------------------------------------------------------------------


def test_stacks_and_their_order(user_app):
    assert set(USER_STACKS) <= set(user_app.stacks())
    assert user_app.dependencies("UserAuth") == set()
    assert "UserAuth" in user_app.dependencies("Runtime")
    assert {"Runtime", "UserAuth"} <= user_app.dependencies("UserGateway")
    assert "UserGateway" not in user_app.dependencies("Gateway")


# -- the token store --------------------------------------------------------------------------


def test_token_table(user_app):
    raw = user_app.raw("UserAuth")
    _table_id, table = _one(raw, "AWS::DynamoDB::Table")
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
    assert "TableName" not in props  # generated: no collision between two stack prefixes
    sse = props["SSESpecification"]
    assert sse["SSEEnabled"] is True and sse["SSEType"] == "KMS"
    key_id = sse["KMSMasterKeyId"]["Fn::GetAtt"][0]
    key = raw["Resources"][key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"


def test_signing_key_is_asymmetric_rsa_for_signing(user_app):
    raw = user_app.raw("UserAuth")
    keys = _resources(raw, "AWS::KMS::Key")
    signing = [k for k in keys.values() if k["Properties"].get("KeyUsage") == "SIGN_VERIFY"]
    assert len(signing) == 1
    assert signing[0]["Properties"]["KeySpec"] == "RSA_2048"
    assert len(keys) == 3  # the table key, the token key and the signing key, nothing else


def _token_key_id(raw: dict) -> str:
    (key_id,) = [k for k in _resources(raw, "AWS::KMS::Key") if "TokenKey" in k]
    return key_id


def test_stored_tokens_are_sealed_with_their_own_key(user_app):
    """A second customer-managed key wraps the per-person data keys; the store URL names it."""
    raw = user_app.raw("UserAuth")
    key_id = _token_key_id(raw)
    key = raw["Resources"][key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    assert "KeyUsage" not in key["Properties"]  # symmetric ENCRYPT_DECRYPT
    _, fn = _server(raw)
    url = fn["Properties"]["Environment"]["Variables"]["USER_TOKEN_STORE"]["Fn::Join"][1]
    assert url[0] == "dynamodb://" and url[2] == "?kms_key="
    assert url[3] == {"Fn::GetAtt": [key_id, "Arn"]}


def _data_key_statement(statements: list[dict], key_id: str) -> dict:
    (statement,) = [
        s
        for s in statements
        if key_id in json.dumps(s["Resource"]) and "kms:GenerateDataKey" in _actions(s)
    ]
    return statement


def _assert_data_keys_need_a_person(statement: dict) -> None:
    assert _actions(statement) == {"kms:GenerateDataKey", "kms:Decrypt"}
    assert statement["Condition"] == {
        "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["open_id"]},
        "Null": {"kms:EncryptionContext:open_id": "false"},
    }


# -- the Quick Suite client -------------------------------------------------------------------


def test_quicksuite_client_secret_is_generated_never_output(user_app):
    raw = user_app.raw("UserAuth")
    _secret_id, secret = _clients_secret(raw)
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "client_secret"
    assert generated["PasswordLength"] >= 32
    template = json.dumps(generated["SecretStringTemplate"])
    assert '\\"client_id\\":\\"quicksuite\\"' in template
    assert ".quicksight.aws.amazon.com/sn/oauthcallback" in template
    assert "SecretString" not in secret["Properties"]


def test_extra_redirect_uris_and_quick_suite_region_from_context(tmp_path):
    from tests.user_auth_cdk.conftest import synthesize

    extra = "https://eu-west-1.quicksight.aws.amazon.com/sn/oauthcallback"
    app = synthesize(
        tmp_path,
        {
            "userAuth": "true",
            "userAuthRedirectUris": extra,
            "quickSuiteRegion": "us-east-1",
            "larkUserScopes": "calendar:calendar:readonly,docx:document:readonly",
            "userAuthConcurrency": "0",
        },
    )
    raw = app.raw("UserAuth")
    _, secret = _clients_secret(raw)
    template = json.loads(secret["Properties"]["GenerateSecretString"]["SecretStringTemplate"])
    assert template["redirect_uris"] == [
        "https://us-east-1.quicksight.aws.amazon.com/sn/oauthcallback",
        extra,
    ]
    _, fn = _server(raw)
    env = fn["Properties"]["Environment"]["Variables"]
    assert env["LARK_USER_SCOPES"] == "calendar:calendar:readonly docx:document:readonly"
    assert "ReservedConcurrentExecutions" not in fn["Properties"]
    from aws_cdk.assertions import Annotations

    Annotations.from_stack(app.app.node.find_child("LarkMcp-UserAuth")).has_no_warning(
        "*", Match.string_like_regexp("larkUserScopes")
    )


# -- the authorization server -----------------------------------------------------------------


def _server(raw: dict) -> tuple[str, dict]:
    functions = {
        k: v
        for k, v in _resources(raw, "AWS::Lambda::Function").items()
        if v["Properties"].get("Handler") == "lark_auth_server.aws_lambda.handler"
    }
    assert len(functions) == 1
    return next(iter(functions.items()))


def test_auth_server_lambda_is_bounded_arm64(user_app):
    raw = user_app.raw("UserAuth")
    _, fn = _server(raw)
    props = fn["Properties"]
    assert props["Architectures"] == ["arm64"]
    assert props["Runtime"].startswith("python3.")
    assert 0 < props["Timeout"] <= 30
    assert 128 <= props["MemorySize"] <= 1024
    # None by default: a new account (concurrency limit 10) refuses any reservation.
    assert "ReservedConcurrentExecutions" not in props
    env = props["Environment"]["Variables"]
    assert set(env) == {
        "USER_TOKEN_STORE",
        "LARK_DOMAIN",
        "LARK_USER_SCOPES",
        "LARK_SECRET_ARN",
        "AUTH_CLIENTS_SECRET_ARN",
        "AUTH_SIGNING_KEY",
        "AUTH_COOKIE_SECRET_ARN",
        "AUTH_ISSUER",
        "AUTH_AUDIENCE",
    }
    # The audience (the user gateway's URL) comes through SSM: the gateway is created later.
    assert env["AUTH_AUDIENCE"] == "ssm:/LarkMcp/user-gateway/mcp-url"
    assert env["AUTH_COOKIE_SECRET_ARN"] == {"Ref": _cookie_secret(raw)[0]}
    assert env["USER_TOKEN_STORE"]["Fn::Join"][1][0] == "dynamodb://"
    assert env["AUTH_SIGNING_KEY"]["Fn::Join"][1][0] == "kms:"
    assert env["LARK_SECRET_ARN"]["Fn::Join"][1][-1].endswith(
        ":secret:LarkMcp/lark-app-credentials"
    )
    assert env["AUTH_ISSUER"] == {"Fn::GetAtt": [_api_id(raw), "ApiEndpoint"]}
    # No secret, key material or token anywhere in the environment.
    assert "BEGIN" not in json.dumps(env) and "client_secret" not in json.dumps(env)


def test_auth_server_role_is_least_privilege(user_app):
    raw = user_app.raw("UserAuth")
    _, fn = _server(raw)
    role_id = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    role = raw["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role
    table_id, _ = _one(raw, "AWS::DynamoDB::Table")
    keys = _resources(raw, "AWS::KMS::Key")
    signing_id = next(k for k, v in keys.items() if v["Properties"].get("KeyUsage"))
    token_key_id = _token_key_id(raw)
    table_key_id = next(k for k in keys if k not in (signing_id, token_key_id))
    secret_id, _ = _clients_secret(raw)
    cookie_id, _ = _cookie_secret(raw)
    by_resource = {}
    for statement in _statements(raw, role_id):
        assert statement["Effect"] == "Allow"
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        for resource in resources:
            by_resource.setdefault(json.dumps(resource, sort_keys=True), set()).update(
                _actions(statement)
            )
    expected = {
        json.dumps({"Fn::GetAtt": [table_id, "Arn"]}, sort_keys=True): "dynamodb:",
        json.dumps({"Fn::GetAtt": [table_key_id, "Arn"]}, sort_keys=True): "kms:",
        json.dumps({"Fn::GetAtt": [signing_id, "Arn"]}, sort_keys=True): "kms:",
        json.dumps({"Fn::GetAtt": [token_key_id, "Arn"]}, sort_keys=True): "kms:",
        json.dumps({"Ref": secret_id}, sort_keys=True): "secretsmanager:",
        json.dumps({"Ref": cookie_id}, sort_keys=True): "secretsmanager:",
    }
    for resource, prefix in expected.items():
        assert resource in by_resource, resource
        assert all(a.startswith(prefix) for a in by_resource[resource])
    assert by_resource[json.dumps({"Fn::GetAtt": [signing_id, "Arn"]}, sort_keys=True)] == {
        "kms:Sign",
        "kms:GetPublicKey",
    }
    _assert_data_keys_need_a_person(_data_key_statement(_statements(raw, role_id), token_key_id))
    lark = [r for r in by_resource if "lark-app-credentials-??????" in r]
    assert len(lark) == 1 and by_resource[lark[0]] <= {
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
    }
    # The audience parameter, read only.
    ssm = [r for r in by_resource if ":parameter/LarkMcp/user-gateway/mcp-url" in r]
    assert len(ssm) == 1 and by_resource[ssm[0]] == {"ssm:GetParameter"}
    # Logs go to its own log group; nothing else is reachable.
    rest = set(by_resource) - set(expected) - set(lark) - set(ssm)
    assert all(_actions_are_logs(by_resource[r]) for r in rest), rest
    everything = set().union(*by_resource.values())
    assert not [a for a in everything if a.endswith(":*") or a == "*"]


def _actions_are_logs(actions: set[str]) -> bool:
    return actions <= {"logs:CreateLogStream", "logs:PutLogEvents"}


def _api_id(raw: dict) -> str:
    return _one(raw, "AWS::ApiGatewayV2::Api")[0]


def test_https_endpoint_throttled_and_access_logged(user_app):
    raw = user_app.raw("UserAuth")
    _, api = _one(raw, "AWS::ApiGatewayV2::Api")
    assert api["Properties"]["ProtocolType"] == "HTTP"
    _, stage = _one(raw, "AWS::ApiGatewayV2::Stage")
    props = stage["Properties"]
    assert props["StageName"] == "$default" and props["AutoDeploy"] is True
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert props["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0
    log_format = json.loads(props["AccessLogSettings"]["Format"])
    assert "$context.requestId" in log_format.values()
    # The log group's ARN as API Gateway stores it: no `:*` (or drift never settles).
    destination = json.dumps(props["AccessLogSettings"]["DestinationArn"])
    assert ":*" not in destination and "Fn::GetAtt" not in destination, destination
    log_groups = _resources(raw, "AWS::Logs::LogGroup")
    assert ":log-group:" in destination
    assert any(json.dumps({"Ref": name}) in destination for name in log_groups), destination
    # The query string carries authorization codes: never logged.
    assert not [
        v
        for v in log_format.values()
        if "querystring" in v.lower() or "$context.requestOverride" in v
    ]
    routes = {
        r["Properties"]["RouteKey"] for r in _resources(raw, "AWS::ApiGatewayV2::Route").values()
    }
    assert routes == {
        "POST /token",
        "GET /authorize",
        "GET /callback",
        "GET /jwks",
        "GET /.well-known/{proxy+}",
        "POST /register",
        "POST /consent",
        "GET /{proxy+}",
        "POST /{proxy+}",
    }
    # Each anonymous route has its own bucket, so none of them can use up /token's.
    limits = props["RouteSettings"]
    assert set(limits) == routes - {"GET /{proxy+}", "POST /{proxy+}"}
    token = limits.pop("POST /token")
    for key, limit in limits.items():
        assert 0 < limit["ThrottlingRateLimit"] < token["ThrottlingRateLimit"], key
        assert 0 < limit["ThrottlingBurstLimit"] < token["ThrottlingBurstLimit"], key
    stage_id, _ = _one(raw, "AWS::ApiGatewayV2::Stage")
    route_ids = set(_resources(raw, "AWS::ApiGatewayV2::Route"))
    assert route_ids <= set(raw["Resources"][stage_id]["DependsOn"])  # routes exist first
    for group in _resources(raw, "AWS::Logs::LogGroup").values():
        assert group["Properties"]["RetentionInDays"] > 0
        assert "LogGroupName" not in group["Properties"]


def _split_sources(node, found):
    """Every argument of an Fn::Split (what CloudFormation must accept there)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Fn::Split":
                found.append(value[1])
            _split_sources(value, found)
    elif isinstance(node, list):
        for value in node:
            _split_sources(value, found)
    return found


def test_issuer_and_discovery_urls_need_no_split(user_app):
    """Built from the API id by plain joins in the producing stack (no Fn::Split at all)."""
    raw = user_app.raw("UserAuth")
    assert _split_sources(raw, []) == []
    outputs = raw["Outputs"]
    api_endpoint = {"Fn::GetAtt": [_api_id(raw), "ApiEndpoint"]}
    assert outputs["IssuerUrl"]["Value"] == api_endpoint
    for key, suffix in (
        ("DiscoveryUrl", "/.well-known/openid-configuration"),
        ("UserAuthorizationUrl", "/authorize"),
        ("UserTokenUrl", "/token"),
        ("LarkRedirectUrl", "/callback"),
    ):
        assert outputs[key]["Value"] == {"Fn::Join": ["", [api_endpoint, suffix]]}, key
    assert outputs["UserClientId"]["Value"] == "quicksuite"
    discovery = _one(user_app.raw("UserGateway"), "AWS::BedrockAgentCore::Gateway")[1]
    url = discovery["Properties"]["AuthorizerConfiguration"]["CustomJWTAuthorizer"]["DiscoveryUrl"]
    assert _split_sources(url, []) == []
    assert url["Fn::Join"][1][1] == "/.well-known/openid-configuration"


# -- the runtime ------------------------------------------------------------------------------


def test_runtime_trusts_the_issuer_reads_the_store_and_receives_the_header(user_app):
    raw = user_app.raw("Runtime")
    _runtime_id, runtime = _one(raw, "AWS::BedrockAgentCore::Runtime")
    props = runtime["Properties"]
    assert props["RequestHeaderConfiguration"] == {"RequestHeaderAllowlist": [HEADER]}
    env = props["EnvironmentVariables"]
    assert "LARK_USER_AUTH_CLIENTS" not in env  # any client: the audience decides
    assert "Fn::GetStackOutput" in json.dumps(env["LARK_USER_AUTH_ISSUER"])
    assert env["USER_TOKEN_STORE"]["Fn::Join"][1][0] == "dynamodb://"
    # The same audience as the authorization server's, read from the parameter the user
    # gateway's stack writes (a reference would make Runtime and UserGateway a cycle).
    assert env["LARK_USER_AUTH_AUDIENCE"] == "ssm:/LarkMcp/user-gateway/mcp-url"
    assert "?kms_key=" in json.dumps(env["USER_TOKEN_STORE"])
    role_id = props["RoleArn"]["Fn::GetAtt"][0]
    statements = _statements(raw, role_id)
    ssm = [s for s in statements if "ssm:GetParameter" in _actions(s)]
    assert len(ssm) == 1 and _actions(ssm[0]) == {"ssm:GetParameter"}
    assert ":parameter/LarkMcp/user-gateway/mcp-url" in json.dumps(ssm[0]["Resource"])
    table = [s for s in statements if any(a.startswith("dynamodb:") for a in _actions(s))]
    assert len(table) == 1
    assert _actions(table[0]) == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}
    assert "UserAuthTokens" in json.dumps(table[0]["Resource"])
    assert table[0]["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["user#*", "refreshing#*"]}
    }
    key = [s for s in statements if "UserAuthTableKey" in json.dumps(s["Resource"])]
    assert len(key) == 1 and "kms:Decrypt" in _actions(key[0])
    token = [s for s in statements if "UserAuthTokenKey" in json.dumps(s["Resource"])]
    assert len(token) == 1
    _assert_data_keys_need_a_person(token[0])
    assert not [s for s in statements if "kms:Sign" in _actions(s)]


def _leading_keys_allow(condition: dict, key: str) -> bool:
    """IAM's `ForAllValues:StringLike` on `dynamodb:LeadingKeys` for a request on one item
    (`*` any run of characters, `?` one character), as IAM evaluates it."""
    patterns = condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    return any(fnmatch.fnmatchcase(key, p) for p in patterns)


def test_runtime_role_reaches_only_the_item_kinds_the_server_uses(user_app):
    """The condition evaluated against the keys each side of the store writes: every key the
    MCP server uses is allowed, every key of the authorization server's is refused."""
    from lark_mcp_server.user_tokens import LEASE_PREFIX
    from lark_user_store.tokens import USER_PREFIX

    raw = user_app.raw("Runtime")
    _, runtime = _one(raw, "AWS::BedrockAgentCore::Runtime")
    statements = _statements(raw, runtime["Properties"]["RoleArn"]["Fn::GetAtt"][0])
    (table,) = [s for s in statements if "dynamodb:GetItem" in _actions(s)]
    condition = table["Condition"]
    for key in (USER_PREFIX + "ou_alice", LEASE_PREFIX + "ou_alice"):
        assert _leading_keys_allow(condition, key), key
    auth_server_keys = ["login#", "code#", "rt#", "family#", "client#", "registration#", ""]
    for prefix in auth_server_keys:
        assert not _leading_keys_allow(condition, prefix + "4f1c0d"), prefix
    assert not _leading_keys_allow(condition, "ou_alice#user#")  # a prefix, not a substring


# -- the user gateway -------------------------------------------------------------------------


def test_user_gateway_publishes_its_mcp_url_as_the_audience(user_app):
    raw = user_app.raw("UserGateway")
    _, parameter = _one(raw, "AWS::SSM::Parameter")
    props = parameter["Properties"]
    assert props["Name"] == "/LarkMcp/user-gateway/mcp-url" and props["Type"] == "String"
    gateway_id, _ = _one(raw, "AWS::BedrockAgentCore::Gateway")
    assert props["Value"] == {"Fn::GetAtt": [gateway_id, "GatewayUrl"]}
    # The deploy's sign-in check asks for that resource: it runs once the parameter exists.
    check = [k for k, v in raw["Resources"].items() if v["Type"].startswith("Custom::SignInCheck")]
    [check_id] = check
    parameter_id, _ = _one(raw, "AWS::SSM::Parameter")
    assert parameter_id in raw["Resources"][check_id].get("DependsOn", [])


def test_user_gateway_authorizer_and_interceptor(user_app):
    raw = user_app.raw("UserGateway")
    _, gateway = _one(raw, "AWS::BedrockAgentCore::Gateway")
    props = gateway["Properties"]
    assert props["Name"] == "larkmcp-user-gw"
    assert props["AuthorizerType"] == "CUSTOM_JWT"
    jwt = props["AuthorizerConfiguration"]["CustomJWTAuthorizer"]
    # Any client (they register themselves); the policies bind tokens to this gateway's URL.
    assert "AllowedClients" not in jwt
    assert "AllowedScopes" not in jwt and "AllowedAudience" not in jwt
    (interceptor,) = props["InterceptorConfigurations"]
    assert interceptor["InterceptionPoints"] == ["REQUEST"]
    assert interceptor["InputConfiguration"] == {"PassRequestHeaders": True}
    function_id = interceptor["Interceptor"]["Lambda"]["Arn"]["Fn::GetAtt"][0]
    function = raw["Resources"][function_id]["Properties"]
    assert function["Handler"] == "caller_jwt.handler"
    assert function["Architectures"] == ["arm64"] and function["Timeout"] <= 10
    role_id = props["RoleArn"]["Fn::GetAtt"][0]
    invoke = [s for s in _statements(raw, role_id) if "lambda:InvokeFunction" in _actions(s)]
    assert len(invoke) == 1
    assert function_id in json.dumps(invoke[0]["Resource"])
    assert json.dumps(invoke[0]["Resource"]).count("Fn::GetAtt") == 2  # arn and arn:* only
    assert "DependsOn" in gateway and any("DefaultPolicy" in d for d in gateway["DependsOn"])


def test_user_gateway_target_forwards_exactly_the_caller_jwt_header(user_app):
    template = user_app.template("UserGateway")
    template.has_resource_properties(
        "AWS::BedrockAgentCore::GatewayTarget",
        {
            "Name": "lark",
            "MetadataConfiguration": {"AllowedRequestHeaders": [HEADER]},
            "CredentialProviderConfigurations": [
                Match.object_like({"CredentialProviderType": "GATEWAY_IAM_ROLE"})
            ],
        },
    )
    template.resource_count_is("AWS::BedrockAgentCore::GatewayTarget", 1)


def test_user_gateway_policies_allow_every_tool_to_tokens_for_this_gateway(user_app):
    raw = user_app.raw("UserGateway")
    _, gateway = _one(raw, "AWS::BedrockAgentCore::Gateway")
    _engine_id, engine = _one(raw, "AWS::BedrockAgentCore::PolicyEngine")
    assert gateway["Properties"]["PolicyEngineConfiguration"]["Mode"] == "ENFORCE"
    assert engine["Properties"]["Name"] == "LarkMcp_UserGateway_tools"
    _, policy = _one(raw, "AWS::BedrockAgentCore::Policy")
    statement = json.dumps(policy["Properties"]["Definition"]["Cedar"]["Statement"])
    for tool in expected_tool_names(None):
        assert f'AgentCore::Action::\\"lark___{tool}\\"' in statement, tool
    gateway_id = _one(raw, "AWS::BedrockAgentCore::Gateway")[0]
    assert 'principal.getTag(\\"aud\\") == \\"' in statement
    assert json.dumps({"Fn::GetAtt": [gateway_id, "GatewayUrl"]}) in statement
    assert "client_id" not in statement
    assert policy["Properties"]["ValidationMode"] == "FAIL_ON_ANY_FINDINGS"
    sync = _resources(raw, "Custom::GatewayToolSync")
    assert len(sync) == 1
    assert next(iter(sync)) in policy["DependsOn"]


@pytest.mark.parametrize("stack", USER_STACKS)
def test_outputs_point_at_the_secret_never_at_its_value(user_app, stack):
    """Only the secret's ARN (Ref) is output; no dynamic reference resolves its value."""
    raw = user_app.raw(stack)
    text = json.dumps(raw)
    assert "{{resolve:secretsmanager" not in text
    for output in raw["Outputs"].values():
        value = json.dumps(output["Value"])
        assert 'SecretString"]' not in value and "client_secret" not in value


def test_quick_suite_form_outputs_in_the_user_gateway_stack(user_app):
    outputs = user_app.raw("UserGateway")["Outputs"]
    for key in (
        "UserMcpEndpointUrl",
        "UserClientId",
        "UserTokenUrl",
        "UserAuthorizationUrl",
        "UserClientSecretArn",
        "LarkRedirectUrl",
    ):
        assert key in outputs, key
    assert outputs["UserClientId"]["Value"] == "quicksuite"


def test_the_generated_clients_secret_is_what_the_server_reads(user_app):
    """The secret CloudFormation generates (template + client_secret) parses as AUTH_CLIENTS."""
    from lark_auth_server.config import parse_clients

    _, secret = _clients_secret(user_app.raw("UserAuth"))
    generated = secret["Properties"]["GenerateSecretString"]
    parts = generated["SecretStringTemplate"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else "eu-west-1" for p in parts)
    value = json.loads(text) | {generated["GenerateStringKey"]: "x" * generated["PasswordLength"]}
    clients = parse_clients(json.dumps(value), "The AUTH_CLIENTS secret")
    client = clients["quicksuite"]
    assert client.redirect_uris == ("https://eu-west-1.quicksight.aws.amazon.com/sn/oauthcallback",)


def test_synth_warns_when_no_lark_user_scope_is_asked_for(user_app):
    from aws_cdk.assertions import Annotations

    stack = user_app.app.node.find_child("LarkMcp-UserAuth")
    Annotations.from_stack(stack).has_warning(
        "/LarkMcp-UserAuth", Match.string_like_regexp("larkUserScopes.*is empty")
    )


def test_runtime_and_auth_server_agree_on_the_issuer(user_app):
    """The MCP server checks `iss` against exactly what the server signs with."""
    auth = user_app.raw("UserAuth")
    _, fn = _server(auth)
    signed_with = fn["Properties"]["Environment"]["Variables"]["AUTH_ISSUER"]
    _, runtime = _one(user_app.raw("Runtime"), "AWS::BedrockAgentCore::Runtime")
    reference = runtime["Properties"]["EnvironmentVariables"]["LARK_USER_AUTH_ISSUER"]
    output = reference["Fn::GetStackOutput"]
    assert output["StackName"] == "LarkMcp-UserAuth"
    assert auth["Outputs"][output["OutputName"]]["Value"] == signed_with
