"""Redeploy after `make destroy`: the Lark secret is adopted, never re-created or deleted.

The handler runs as CloudFormation would run it: a real event, botocore's Stubber in place of
Secrets Manager (checking every call against the service model), and its answer PUT to a
pre-signed URL served on loopback.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from mcp_constructs.adopted_secret import RESOURCE_TYPE
from mcp_constructs.adopted_secret_handler import index

NAME = "LarkMcp/lark-app-credentials"
ARN = f"arn:aws:secretsmanager:us-east-1:111111111111:secret:{NAME}-AbCdEf"
DESCRIPTION = "Lark/Feishu app credentials"


class _Responses(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def response_url() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A stand-in for CloudFormation's pre-signed S3 URL; collects what the handler PUTs."""
    received: list[dict[str, Any]] = []
    handler = type("Responses", (_Responses,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/response?sig=x", received
    finally:
        server.shutdown()
        server.server_close()


def _event(request_type: str, url: str, physical_id: str | None = None) -> dict[str, Any]:
    event = {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:111111111111:stack/LarkMcp-Runtime/x",
        "RequestId": "req-1",
        "LogicalResourceId": "LarkAppSecret",
        "ResourceType": RESOURCE_TYPE,
        "ResourceProperties": {
            "ServiceToken": "arn:fn",
            "SecretName": NAME,
            "Description": DESCRIPTION,
        },
    }
    if physical_id:
        event["PhysicalResourceId"] = physical_id
    return event


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "secretsmanager",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _not_found(stub: Stubber) -> None:
    stub.add_client_error(
        "describe_secret",
        service_error_code="ResourceNotFoundException",
        http_status_code=400,
        expected_params={"SecretId": NAME},
    )


def test_first_deploy_creates_the_secret_with_a_placeholder(client, response_url):
    url, received = response_url
    with Stubber(client) as stub:
        _not_found(stub)
        stub.add_response(
            "create_secret",
            {"ARN": ARN, "Name": NAME},
            {"Name": NAME, "Description": DESCRIPTION, "SecretString": index.PLACEHOLDER},
        )
        index.handler(_event("Create", url), None, client=client)
        stub.assert_no_pending_responses()
    (answer,) = received
    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == ARN
    assert answer["Data"] == {"Arn": ARN, "Name": NAME, "Outcome": "created"}
    assert json.loads(index.PLACEHOLDER) == {"app_id": "", "app_secret": ""}


def test_redeploy_after_destroy_adopts_the_kept_secret(client, response_url):
    """The secret `make destroy` kept: no CreateSecret, no ResourceExistsException."""
    url, received = response_url
    with Stubber(client) as stub:
        stub.add_response("describe_secret", {"ARN": ARN, "Name": NAME}, {"SecretId": NAME})
        index.handler(_event("Create", url), None, client=client)
        stub.assert_no_pending_responses()
    (answer,) = received
    assert answer["Status"] == "SUCCESS"
    assert answer["Data"]["Outcome"] == "adopted"
    assert answer["Data"]["Arn"] == ARN


def test_a_secret_scheduled_for_deletion_is_restored(client, response_url):
    url, received = response_url
    deleted = {"ARN": ARN, "Name": NAME, "DeletedDate": dt.datetime(2026, 11, 28)}
    with Stubber(client) as stub:
        stub.add_response("describe_secret", deleted, {"SecretId": NAME})
        stub.add_response("restore_secret", {"ARN": ARN, "Name": NAME}, {"SecretId": NAME})
        index.handler(_event("Create", url), None, client=client)
        stub.assert_no_pending_responses()
    assert received[0]["Data"]["Outcome"] == "restored"


def test_a_secret_created_meanwhile_is_adopted(client, response_url):
    url, received = response_url
    with Stubber(client) as stub:
        _not_found(stub)
        stub.add_client_error(
            "create_secret", service_error_code="ResourceExistsException", http_status_code=400
        )
        stub.add_response("describe_secret", {"ARN": ARN, "Name": NAME}, {"SecretId": NAME})
        index.handler(_event("Update", url, physical_id=ARN), None, client=client)
        stub.assert_no_pending_responses()
    assert received[0]["Status"] == "SUCCESS"
    assert received[0]["Data"]["Outcome"] == "adopted"


def test_delete_keeps_the_secret(client, response_url):
    """`make destroy`: no Secrets Manager call at all (the Stubber fails on any)."""
    url, received = response_url
    with Stubber(client) as stub:
        index.handler(_event("Delete", url, physical_id=ARN), None, client=client)
        stub.assert_no_pending_responses()
    assert received == [
        {
            "Status": "SUCCESS",
            "Reason": "secret success",
            "PhysicalResourceId": ARN,
            "StackId": "arn:aws:cloudformation:us-east-1:111111111111:stack/LarkMcp-Runtime/x",
            "RequestId": "req-1",
            "LogicalResourceId": "LarkAppSecret",
            "Data": {},
        }
    ]


def test_a_refusal_reaches_cloudformation_as_a_readable_failure(client, response_url):
    url, received = response_url
    with Stubber(client) as stub:
        stub.add_client_error(
            "describe_secret",
            service_error_code="AccessDeniedException",
            service_message="not authorized to perform secretsmanager:DescribeSecret",
            http_status_code=400,
        )
        index.handler(_event("Create", url), None, client=client)
    (answer,) = received
    assert answer["Status"] == "FAILED"
    assert "AccessDeniedException" in answer["Reason"]
    assert "secretsmanager:DescribeSecret" in answer["Reason"]


# -- the template ------------------------------------------------------------------------------


def _resources(synth, type_: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in synth.raw["Runtime"]["Resources"].items() if r["Type"] == type_}


def test_template_adopts_the_named_secret_and_keeps_it(synth):
    assert _resources(synth, "AWS::SecretsManager::Secret") == {}
    ((logical_id, resource),) = _resources(synth, RESOURCE_TYPE).items()
    assert resource["Properties"]["SecretName"] == "LarkMcp/lark-app-credentials"
    assert resource["DeletionPolicy"] == "Retain"
    assert "SecretString" not in json.dumps(resource)
    (runtime,) = _resources(synth, "AWS::BedrockAgentCore::Runtime").values()
    arn = {"Fn::GetAtt": [logical_id, "Arn"]}
    assert runtime["Properties"]["EnvironmentVariables"]["LARK_SECRET_ARN"] == arn


def test_handler_may_touch_this_secret_only_and_never_delete(synth):
    (resource,) = _resources(synth, RESOURCE_TYPE).values()
    function_id = resource["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    function = synth.raw["Runtime"]["Resources"][function_id]
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [
        s
        for p in _resources(synth, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    secrets = [s for s in statements if "secretsmanager" in json.dumps(s["Action"])]
    assert len(secrets) == 1
    assert sorted(secrets[0]["Action"]) == [
        "secretsmanager:CreateSecret",
        "secretsmanager:DescribeSecret",
        "secretsmanager:RestoreSecret",
    ]
    assert json.dumps(secrets[0]["Resource"]).endswith(
        ':secret:LarkMcp/lark-app-credentials-??????"]]}'
    )
