"""`make deploy` / `make verify` find the stacks still using a recreated stack's values.

CloudFormation answers come from botocore Stubbers on a real client (each call checked against
the service model). The scenario: the Runtime stack was destroyed and deployed again (a new
runtime id and ARN); the Gateway stack's template did not change, so `cdk deploy` left it with
the old values, which its ``ReferencedValues`` output still shows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from mcp_constructs import stale_refs
from mcp_constructs.stale_refs import Deployed, Reference

REGION = "eu-west-1"
OLD_ARN = "arn:aws:bedrock-agentcore:eu-west-1:111111111111:runtime/LarkMcp_lark-OLD0000000"
NEW_ARN = "arn:aws:bedrock-agentcore:eu-west-1:111111111111:runtime/LarkMcp_lark-NEW1111111"
ARN_OUT = "PublishOutputFnGetAttServer7E7D21FAAgentRuntimeArn5B1814D1"
ID_OUT = "PublishOutputFnGetAttServer7E7D21FAAgentRuntimeId19C18ACF"


def _get(stack: str, output: str) -> dict[str, Any]:
    return {"Fn::GetStackOutput": {"StackName": stack, "Region": REGION, "OutputName": output}}


#: The Gateway stack's template as deployed: its record of what it reads from the Runtime stack.
GATEWAY_TEMPLATE = {
    "Outputs": {
        "ReferencedValues": {
            "Value": {
                "Fn::Join": [
                    "\n",
                    [_get("LarkMcp-Runtime", ARN_OUT), _get("LarkMcp-Runtime", ID_OUT)],
                ]
            }
        },
        "ReferencesRevision": {"Value": {"Ref": "ReferencesRevision"}},
    }
}


def _stack(name: str, outputs: dict[str, str]) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": name,
                "StackId": f"arn:aws:cloudformation:{REGION}:111111111111:stack/{name}/1",
                "CreationTime": datetime(2026, 12, 1, tzinfo=UTC),
                "StackStatus": "UPDATE_COMPLETE",
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
            }
        ]
    }


@pytest.fixture
def cfn() -> Any:
    client = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    ).client("cloudformation")
    with Stubber(client) as stubber:
        client.stubber = stubber
        yield client
        stubber.assert_no_pending_responses()


def describe(cfn: Any, name: str, outputs: dict[str, str] | None) -> None:
    if outputs is None:
        cfn.stubber.add_client_error(
            "describe_stacks",
            service_error_code="ValidationError",
            service_message=f"Stack with id {name} does not exist",
            expected_params={"StackName": name},
        )
    else:
        cfn.stubber.add_response("describe_stacks", _stack(name, outputs), {"StackName": name})


def template(cfn: Any, name: str, body: dict[str, Any]) -> None:
    cfn.stubber.add_response(
        "get_template",
        {"TemplateBody": json.dumps(body)},
        {"StackName": name, "TemplateStage": "Original"},
    )


def gateway_used(arn: str, runtime_id: str) -> dict[str, str]:
    return {"ReferencedValues": f"{arn}\n{runtime_id}", "ReferencesRevision": "0"}


def test_a_recreated_runtime_leaves_the_gateway_stale(cfn: Any) -> None:
    describe(cfn, "LarkMcp-Gateway", gateway_used(OLD_ARN, "LarkMcp_lark-OLD0000000"))
    template(cfn, "LarkMcp-Gateway", GATEWAY_TEMPLATE)
    describe(cfn, "LarkMcp-Runtime", {ARN_OUT: NEW_ARN, ID_OUT: "LarkMcp_lark-NEW1111111"})
    (stale,) = stale_refs.find_stale(Deployed(cfn), ["LarkMcp-Gateway"])
    assert stale.stack == "LarkMcp-Gateway"
    assert stale.lines() == [
        f"STALE LarkMcp-Gateway: LarkMcp-Runtime's output {ARN_OUT} is now {NEW_ARN!r}, but"
        f" the stack still uses {OLD_ARN!r}",
        f"STALE LarkMcp-Gateway: LarkMcp-Runtime's output {ID_OUT} is now"
        " 'LarkMcp_lark-NEW1111111', but the stack still uses 'LarkMcp_lark-OLD0000000'",
    ]
    assert stale_refs.fix_command([stale], "cdk.out") == [
        "./node_modules/.bin/cdk",
        "deploy",
        "LarkMcp-Gateway",
        "--app",
        "cdk.out",
        "--require-approval",
        "never",
        "--no-notices",
        "--parameters",
        f"LarkMcp-Gateway:ReferencesRevision={stale.digest}",
    ]
    assert len(stale.digest) == 12


def test_up_to_date_stacks_and_stacks_not_deployed_are_not_stale(
    cfn: Any, capsys: pytest.CaptureFixture
) -> None:
    describe(cfn, "LarkMcp-Gateway", gateway_used(NEW_ARN, "LarkMcp_lark-NEW1111111"))
    template(cfn, "LarkMcp-Gateway", GATEWAY_TEMPLATE)
    describe(cfn, "LarkMcp-Runtime", {ARN_OUT: NEW_ARN, ID_OUT: "LarkMcp_lark-NEW1111111"})
    describe(cfn, "LarkMcp-Monitoring", None)  # not deployed (yet)
    describe(cfn, "LarkMcp-Cognito", {"ReferencedValues": "none"})  # reads nothing
    template(cfn, "LarkMcp-Cognito", {"Outputs": {"ReferencedValues": {"Value": "none"}}})
    stacks = ["LarkMcp-Gateway", "LarkMcp-Monitoring", "LarkMcp-Cognito"]
    code = stale_refs.run(
        Deployed(cfn), stacks, assembly="cdk.out", fix=False, cdk="cdk", execute=_never
    )
    assert code == 0
    assert capsys.readouterr().out == (
        "references: every stack uses its producers' current outputs (3 read)\n"
    )


def test_a_deleted_producer_is_named(cfn: Any) -> None:
    describe(cfn, "LarkMcp-Gateway", gateway_used(OLD_ARN, "LarkMcp_lark-OLD0000000"))
    template(cfn, "LarkMcp-Gateway", GATEWAY_TEMPLATE)
    describe(cfn, "LarkMcp-Runtime", None)
    (stale,) = stale_refs.find_stale(Deployed(cfn), ["LarkMcp-Gateway"])
    assert stale.lines()[0] == (
        f"STALE LarkMcp-Gateway: it reads output {ARN_OUT} of LarkMcp-Runtime, which no longer"
        " exists"
    )


def _never(command: list[str]) -> int:
    raise AssertionError(f"nothing should run: {command}")


def test_verify_names_the_stale_stack_and_the_fix(cfn: Any, capsys: pytest.CaptureFixture) -> None:
    describe(cfn, "LarkMcp-Gateway", gateway_used(OLD_ARN, "LarkMcp_lark-OLD0000000"))
    template(cfn, "LarkMcp-Gateway", GATEWAY_TEMPLATE)
    describe(cfn, "LarkMcp-Runtime", {ARN_OUT: NEW_ARN, ID_OUT: "LarkMcp_lark-NEW1111111"})
    code = stale_refs.run(
        Deployed(cfn), ["LarkMcp-Gateway"], assembly="cdk.out", fix=False, cdk="cdk", execute=_never
    )
    assert code == 1
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith(
        "references: 1 stale stack. Fix: `make deploy` (it updates them), or `cdk deploy"
        " LarkMcp-Gateway --app cdk.out --require-approval never --no-notices --parameters"
        " LarkMcp-Gateway:ReferencesRevision="
    )


def test_deploy_updates_the_stale_stack_then_checks_again(
    cfn: Any, capsys: pytest.CaptureFixture
) -> None:
    """`make deploy`'s last step: the CLI deploys the stale stack with a new revision, and
    CloudFormation, resolving the references again, records the new values."""
    describe(cfn, "LarkMcp-Gateway", gateway_used(OLD_ARN, "LarkMcp_lark-OLD0000000"))
    template(cfn, "LarkMcp-Gateway", GATEWAY_TEMPLATE)
    describe(cfn, "LarkMcp-Runtime", {ARN_OUT: NEW_ARN, ID_OUT: "LarkMcp_lark-NEW1111111"})
    ran: list[list[str]] = []

    def cdk_deploy(command: list[str]) -> int:
        ran.append(command)
        # After the update: the Gateway stack's record holds the new values.
        describe(cfn, "LarkMcp-Gateway", gateway_used(NEW_ARN, "LarkMcp_lark-NEW1111111"))
        template(cfn, "LarkMcp-Gateway", GATEWAY_TEMPLATE)
        describe(cfn, "LarkMcp-Runtime", {ARN_OUT: NEW_ARN, ID_OUT: "LarkMcp_lark-NEW1111111"})
        return 0

    code = stale_refs.run(
        Deployed(cfn),
        ["LarkMcp-Gateway"],
        assembly="cdk.out",
        fix=True,
        cdk="cdk",
        execute=cdk_deploy,
    )
    assert code == 0
    assert len(ran) == 1 and ran[0][:3] == ["cdk", "deploy", "LarkMcp-Gateway"]
    out = capsys.readouterr().out
    assert "references: updating LarkMcp-Gateway: cdk deploy LarkMcp-Gateway" in out


def test_the_references_a_template_records() -> None:
    assert stale_refs.references(GATEWAY_TEMPLATE) == [
        Reference("LarkMcp-Runtime", ARN_OUT),
        Reference("LarkMcp-Runtime", ID_OUT),
    ]
    assert stale_refs.references({"Outputs": {}}) is None
    assert stale_refs.references({"Outputs": {"ReferencedValues": {"Value": "none"}}}) == []


def test_without_credentials_one_line(no_aws: Path, capsys: pytest.CaptureFixture) -> None:
    assert stale_refs.main(["--region", REGION]) == 1
    assert capsys.readouterr().out == (
        "references: no AWS credentials found: `aws configure`, or `aws sso login`\n"
    )
    assert stale_refs.main([]) == 1
    assert capsys.readouterr().out.startswith("references: no AWS region")
