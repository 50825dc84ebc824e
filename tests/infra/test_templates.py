"""What the contract fixes in each template, checked on the synthesized app.

Resources are found by type and property (Match/Capture), never by generated logical id.
"""

from __future__ import annotations

import json

from aws_cdk.assertions import Capture, Match


def _only(template, type_: str) -> tuple[str, dict]:
    found = template.find_resources(type_)
    assert len(found) == 1, f"expected one {type_}, found {sorted(found)}"
    return next(iter(found.items()))


def _stack_output_value(synth, stack: str, ref: dict) -> object:
    """The value behind a weak cross-stack reference ({"Fn::GetStackOutput": ...})."""
    output = ref["Fn::GetStackOutput"]
    assert output["StackName"] == f"LarkMcp-{stack}"
    return synth.raw[stack]["Outputs"][output["OutputName"]]["Value"]


# -- Cognito -----------------------------------------------------------------------------------


def test_user_pool_admits_only_admin_created_users(templates):
    templates["Cognito"].has_resource_properties(
        "AWS::Cognito::UserPool",
        {"AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True}, "MfaConfiguration": "ON"},
    )


def test_resource_server_has_the_invoke_scope(templates):
    templates["Cognito"].has_resource_properties(
        "AWS::Cognito::UserPoolResourceServer",
        {
            "Identifier": "lark-mcp",
            "Scopes": Match.array_with([Match.object_like({"ScopeName": "invoke"})]),
        },
    )


def test_app_client_has_a_secret_and_only_client_credentials(templates):
    templates["Cognito"].has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {
            "GenerateSecret": True,
            "AllowedOAuthFlows": ["client_credentials"],
            "AllowedOAuthFlowsUserPoolClient": True,
            "AllowedOAuthScopes": [{"Fn::Join": ["", [Match.any_value(), "/invoke"]]}],
            "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH"],
        },
    )


def test_domain_prefix_defaults_to_a_per_account_name(templates):
    templates["Cognito"].has_resource_properties(
        "AWS::Cognito::UserPoolDomain",
        {"Domain": {"Fn::Join": ["-", ["larkmcp", {"Ref": "AWS::AccountId"}]]}},
    )


def test_extra_clients_each_get_a_client_allowed_by_the_gateway(tmp_path):
    from tests.infra.conftest import synthesize

    synth = synthesize(tmp_path, {"extraClients": "team-a,team-b"})
    cognito, gateway = synth.template("Cognito"), synth.template("Gateway")
    clients = cognito.find_resources("AWS::Cognito::UserPoolClient")
    names = sorted(c["Properties"]["ClientName"] for c in clients.values())
    assert names == ["default", "team-a", "team-b"]
    allowed = Capture()
    gateway.has_resource_properties(
        "AWS::BedrockAgentCore::Gateway",
        {"AuthorizerConfiguration": {"CustomJWTAuthorizer": {"AllowedClients": allowed}}},
    )
    allowed_ids = [_stack_output_value(synth, "Cognito", ref) for ref in allowed.as_array()]
    assert sorted(ref["Ref"] for ref in allowed_ids) == sorted(clients)
    outputs = synth.raw["Gateway"]["Outputs"]
    assert {"ClientId", "ClientIdTeamA", "ClientIdTeamB", "ClientSecretCommandTeamB"} <= set(
        outputs
    )


# -- Runtime -----------------------------------------------------------------------------------


def test_runtime_speaks_mcp_on_the_public_network_without_an_authorizer(templates):
    templates["Runtime"].has_resource_properties(
        "AWS::BedrockAgentCore::Runtime",
        {
            "ProtocolConfiguration": "MCP",
            "NetworkConfiguration": {"NetworkMode": "PUBLIC"},
            "AuthorizerConfiguration": Match.absent(),
            "AgentRuntimeName": "LarkMcp_server",
        },
    )


def test_runtime_environment_points_at_the_secret_not_its_value(templates):
    template = templates["Runtime"]
    # The secret is adopted-or-created by a custom resource (tests/infra/test_adopted_secret.py).
    secret_id, secret = _only(template, "Custom::LarkSecret")
    template.has_resource_properties(
        "AWS::BedrockAgentCore::Runtime",
        {
            "EnvironmentVariables": {
                "LARK_SECRET_ARN": {"Fn::GetAtt": [secret_id, "Arn"]},
                "LARK_DOMAIN": "https://open.feishu.cn",
                "LOG_LEVEL": "INFO",
            }
        },
    )
    assert "SecretString" not in json.dumps(secret)
    assert secret["DeletionPolicy"] == "Retain"


def test_existing_secret_and_optional_server_settings_come_from_context(tmp_path):
    from tests.infra.conftest import synthesize

    synth = synthesize(
        tmp_path,
        {
            "larkSecretName": "team/lark",
            "larkDomain": "lark",
            "larkTools": "send_message,list_chats",
            "larkReadOnly": "true",
        },
    )
    runtime = synth.template("Runtime")
    runtime.resource_count_is("AWS::SecretsManager::Secret", 0)
    runtime.has_resource_properties(
        "AWS::BedrockAgentCore::Runtime",
        {
            "EnvironmentVariables": {
                "LARK_SECRET_ARN": {"Fn::Join": ["", Match.array_with([":secret:team/lark"])]},
                "LARK_DOMAIN": "https://open.larksuite.com",
                "LARK_TOOLS": "send_message,list_chats",
                "LARK_READ_ONLY": "true",
                "LOG_LEVEL": "INFO",
            }
        },
    )
    assert synth.raw["Runtime"]["Outputs"]["LarkSecretName"]["Value"] == "team/lark"
    _an_existing_secret_with_its_own_key_can_be_read(synth.raw["Runtime"])


def _an_existing_secret_with_its_own_key_can_be_read(runtime: dict) -> None:
    """`larkSecretName` encrypted with a customer-managed key: the role may decrypt, via
    Secrets Manager and for this secret only (evaluated as IAM would)."""
    from tests.policy_eval import ALLOW, IMPLICIT_DENY, evaluate

    refs = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "111111111111"}
    refs["AWS::URLSuffix"] = "amazonaws.com"
    secret = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:team/lark-AbCdEf"
    key = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    via = {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}
    policies = [
        r["Properties"]["PolicyDocument"]
        for r in runtime["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
    ]

    def decrypt(**context: str) -> str:
        decisions = {
            evaluate(p, refs, principal={}, action="kms:Decrypt", resource=key, context=context)
            for p in policies
        }
        return ALLOW if ALLOW in decisions else IMPLICIT_DENY

    assert decrypt(**via, **{"kms:EncryptionContext:SecretARN": secret}) == ALLOW
    assert decrypt(**{"kms:EncryptionContext:SecretARN": secret}) == IMPLICIT_DENY
    other = secret.replace("team/lark", "team/other")
    assert decrypt(**via, **{"kms:EncryptionContext:SecretARN": other}) == IMPLICIT_DENY


def test_runtime_image_is_an_arm64_asset(synth, templates):
    manifest = json.loads(synth.file("LarkMcp-Runtime.assets.json").read_text())
    images = manifest["dockerImages"]
    assert len(images) == 1
    ((asset_hash, image),) = images.items()
    assert image["source"]["platform"] == "linux/arm64"
    assert image["source"]["directory"] == f"asset.{asset_hash}"
    staged = synth.file(f"asset.{asset_hash}")
    assert (staged / "Dockerfile").is_file()
    assert not (staged / "tests").exists() and not list(staged.rglob("__pycache__"))
    templates["Runtime"].has_resource_properties(
        "AWS::BedrockAgentCore::Runtime",
        {
            "AgentRuntimeArtifact": {
                "ContainerConfiguration": {
                    "ContainerUri": {"Fn::Sub": Match.string_like_regexp(f":{asset_hash}$")}
                }
            }
        },
    )


def test_execution_role_is_trusted_by_agentcore_of_this_account_only(templates):
    templates["Runtime"].has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "bedrock-agentcore.amazonaws.com"},
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                            "ArnLike": {"aws:SourceArn": Match.any_value()},
                        },
                    }
                ]
            }
        },
    )


def _role_policy(template, role_arn: dict) -> tuple[str, dict]:
    """The one AWS::IAM::Policy attached to the role whose ARN is `role_arn` (a GetAtt)."""
    role_id = role_arn["Fn::GetAtt"][0]
    policies = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}
    )
    assert len(policies) == 1, sorted(policies)
    return next(iter(policies.items()))


def test_execution_role_has_only_what_the_runtime_needs(templates):
    template = templates["Runtime"]
    secret_id, _ = _only(template, "Custom::LarkSecret")
    _, runtime = _only(template, "AWS::BedrockAgentCore::Runtime")
    _, policy = _role_policy(template, runtime["Properties"]["RoleArn"])
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    by_action = {}
    for statement in statements:
        actions = statement["Action"]
        for action in [actions] if isinstance(actions, str) else actions:
            by_action[action] = statement
    assert sorted(by_action) == sorted(
        [
            "ecr:BatchCheckLayerAvailability",
            "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer",
            "ecr:GetAuthorizationToken",
            "logs:CreateLogGroup",
            "logs:DescribeLogStreams",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:DescribeLogGroups",
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
            "cloudwatch:PutMetricData",
            "bedrock-agentcore:GetWorkloadAccessToken",
            "bedrock-agentcore:GetWorkloadAccessTokenForJWT",
            "bedrock-agentcore:GetWorkloadAccessTokenForUserId",
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetSecretValue",
        ]
    )
    # Image pulls from the CDK assets repository only.
    pull = json.dumps(by_action["ecr:BatchGetImage"]["Resource"])
    assert "repository/" in pull and "container-assets" in pull
    assert by_action["ecr:GetAuthorizationToken"]["Resource"] == "*"
    # The Lark secret alone.
    assert by_action["secretsmanager:GetSecretValue"]["Resource"] == {
        "Fn::GetAtt": [secret_id, "Arn"]
    }
    # Its own log groups.
    own_logs = json.dumps(by_action["logs:CreateLogGroup"]["Resource"])
    assert ":log-group:/aws/bedrock-agentcore/runtimes/LarkMcp_server-*" in own_logs
    assert by_action["cloudwatch:PutMetricData"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "bedrock-agentcore"}
    }
    tokens = json.dumps(by_action["bedrock-agentcore:GetWorkloadAccessToken"]["Resource"])
    assert "workload-identity-directory/default" in tokens
    wildcard_actions = {a for a, s in by_action.items() if s["Resource"] == "*"}
    assert wildcard_actions == {
        "ecr:GetAuthorizationToken",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "cloudwatch:PutMetricData",
    }


def test_runtime_waits_for_its_role_policy(templates):
    template = templates["Runtime"]
    _, runtime = _only(template, "AWS::BedrockAgentCore::Runtime")
    policy_id, _ = _role_policy(template, runtime["Properties"]["RoleArn"])
    assert policy_id in runtime["DependsOn"]


# -- Gateway -----------------------------------------------------------------------------------


def test_gateway_checks_clients_and_scopes_but_no_audience(synth, templates):
    clients = Capture()
    discovery = Capture()
    templates["Gateway"].has_resource_properties(
        "AWS::BedrockAgentCore::Gateway",
        {
            "ProtocolType": "MCP",
            "AuthorizerType": "CUSTOM_JWT",
            "AuthorizerConfiguration": {
                "CustomJWTAuthorizer": {
                    "DiscoveryUrl": discovery,
                    "AllowedClients": clients,
                    "AllowedScopes": Match.array_with(["lark-mcp/invoke"]),
                    "AllowedAudience": Match.absent(),
                }
            },
        },
    )
    client_ids = [_stack_output_value(synth, "Cognito", c) for c in clients.as_array()]
    cognito_clients = templates["Cognito"].find_resources("AWS::Cognito::UserPoolClient")
    assert [c["Ref"] for c in client_ids] == list(cognito_clients)
    # DiscoveryUrl = <pool's provider URL>/.well-known/openid-configuration
    pool_id, _ = _only(templates["Cognito"], "AWS::Cognito::UserPool")
    joined = discovery.as_object()["Fn::Join"]
    assert joined[1][1] == "/.well-known/openid-configuration"
    assert _stack_output_value(synth, "Cognito", joined[1][0]) == {
        "Fn::GetAtt": [pool_id, "ProviderURL"]
    }


def test_gateway_role_is_trusted_by_agentcore_gateways_of_this_account(templates):
    templates["Gateway"].has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Principal": {"Service": "bedrock-agentcore.amazonaws.com"},
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                                "ArnLike": {
                                    "aws:SourceArn": {
                                        "Fn::Join": [
                                            "",
                                            Match.array_with([":gateway/larkmcp-gateway-*"]),
                                        ]
                                    }
                                },
                            },
                        }
                    )
                ]
            }
        },
    )


def _runtime_arn_ref(synth, templates) -> dict:
    """The Gateway stack's reference to the runtime ARN, checked to point at the runtime."""
    _, gateway = _only(templates["Gateway"], "AWS::BedrockAgentCore::Gateway")
    role_id = gateway["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    policies = templates["Gateway"].find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}
    )
    found = [
        (policy_id, statement)
        for policy_id, policy in policies.items()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "bedrock-agentcore:InvokeAgentRuntime"
    ]
    assert len(found) == 1, "one InvokeAgentRuntime statement: the Lark runtime's"
    policy_id, statement = found[0]
    arn_ref, endpoint = statement["Resource"]
    runtime_id, _ = _only(templates["Runtime"], "AWS::BedrockAgentCore::Runtime")
    assert _stack_output_value(synth, "Runtime", arn_ref) == {
        "Fn::GetAtt": [runtime_id, "AgentRuntimeArn"]
    }
    return {"policy_id": policy_id, "arn": arn_ref, "endpoint": endpoint}


def test_gateway_role_may_invoke_this_runtime_and_its_endpoints_only(synth, templates):
    ref = _runtime_arn_ref(synth, templates)
    assert ref["endpoint"] == {"Fn::Join": ["", [ref["arn"], "/runtime-endpoint/*"]]}


def test_target_calls_the_runtime_url_with_the_gateway_role(synth, templates):
    _runtime_arn_ref(synth, templates)
    runtime_id, _ = _only(templates["Runtime"], "AWS::BedrockAgentCore::Runtime")
    id_ref = Capture()
    gateway_id, _ = _only(templates["Gateway"], "AWS::BedrockAgentCore::Gateway")
    # The URL-encoded runtime ARN is joined from parts (no Fn::Split over the weak reference,
    # which CloudFormation refuses: issue 10 item 1).
    encoded = [
        ".",
        {"Ref": "AWS::URLSuffix"},  # the partition's: amazonaws.com.cn in China
        "/runtimes/arn%3A",
        {"Ref": "AWS::Partition"},
        "%3Abedrock-agentcore%3A",
        {"Ref": "AWS::Region"},
        "%3A",
        {"Ref": "AWS::AccountId"},
        "%3Aruntime%2F",
        id_ref,
    ]
    templates["Gateway"].has_resource_properties(
        "AWS::BedrockAgentCore::GatewayTarget",
        {
            "Name": "lark",
            "GatewayIdentifier": {"Fn::GetAtt": [gateway_id, "GatewayIdentifier"]},
            "TargetConfiguration": {
                "Mcp": {
                    "McpServer": {
                        "Endpoint": {
                            "Fn::Join": [
                                "",
                                [
                                    "https://bedrock-agentcore.",
                                    {"Ref": "AWS::Region"},
                                    *encoded,
                                    "/invocations?qualifier=DEFAULT",
                                ],
                            ]
                        }
                    }
                }
            },
            "CredentialProviderConfigurations": [
                {
                    "CredentialProviderType": "GATEWAY_IAM_ROLE",
                    "CredentialProvider": {
                        "IamCredentialProvider": {
                            "Service": "bedrock-agentcore",
                            "Region": {"Ref": "AWS::Region"},
                        }
                    },
                }
            ],
        },
    )
    assert _stack_output_value(synth, "Runtime", id_ref.as_object()) == {
        "Fn::GetAtt": [runtime_id, "AgentRuntimeId"]
    }


def test_target_waits_for_the_invoke_policy_and_the_runtime_stack(synth, templates):
    ref = _runtime_arn_ref(synth, templates)
    _, target = _only(templates["Gateway"], "AWS::BedrockAgentCore::GatewayTarget")
    assert ref["policy_id"] in target["DependsOn"]
    # The runtime lives in another stack: the dependency is a stack dependency.
    gateway_stack = synth.app.node.find_child("LarkMcp-Gateway")
    assert "LarkMcp-Runtime" in [s.stack_name for s in gateway_stack.dependencies]


# -- Outputs -----------------------------------------------------------------------------------


def test_outputs_give_what_the_quick_suite_form_asks_for(synth):
    gateway = synth.raw["Gateway"]["Outputs"]
    assert gateway["McpEndpointUrl"]["Value"]["Fn::GetAtt"][1] == "GatewayUrl"
    assert gateway["Scope"]["Value"] == "lark-mcp/invoke"
    token_url = json.dumps(gateway["TokenUrl"]["Value"])
    assert ".amazoncognito.com/oauth2/token" in token_url
    command = json.dumps(gateway["ClientSecretCommand"]["Value"])
    assert "aws cognito-idp describe-user-pool-client" in command
    assert "--query UserPoolClient.ClientSecret" in command
    assert "ClientId" in gateway
    runtime = synth.raw["Runtime"]["Outputs"]
    assert runtime["RuntimeArn"]["Value"]["Fn::GetAtt"][1] == "AgentRuntimeArn"
    assert runtime["LarkSecretName"]["Value"] == "LarkMcp/lark-app-credentials"
    assert "aws secretsmanager put-secret-value" in json.dumps(runtime["FillLarkSecretCommand"])


def test_no_template_holds_a_secret_value(synth):
    for stack, template in synth.raw.items():
        text = json.dumps(template)
        assert '"ClientSecret"' not in text, stack  # no GetAtt of a client secret
        assert '"SecretString"' not in text, stack


def test_stacks_are_environment_agnostic_without_account_or_region(synth):
    for stack_name in ("LarkMcp-Cognito", "LarkMcp-Runtime", "LarkMcp-Gateway"):
        stack = synth.app.node.find_child(stack_name)
        assert stack.environment == "aws://unknown-account/unknown-region"
