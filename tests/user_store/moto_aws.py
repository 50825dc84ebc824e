"""moto's server mode on loopback: real HTTP + SigV4 requests against fake DynamoDB/KMS.

`moto_server()` yields the endpoint URL and the environment a client needs (fake keys, region,
`AWS_ENDPOINT_URL`). `create_table()` makes the token table as the CDK stack declares it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import boto3
from moto.server import ThreadedMotoServer

REGION = "eu-west-1"
FAKE_KEYS = {
    "AWS_ACCESS_KEY_ID": "AKIAMOTOTESTING",
    "AWS_SECRET_ACCESS_KEY": "moto-secret-key",
    "AWS_SESSION_TOKEN": "moto-session-token",
}


@contextlib.contextmanager
def moto_server() -> Iterator[dict[str, str]]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield {
            **FAKE_KEYS,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        }
    finally:
        server.stop()


def boto_client(service: str, env: dict[str, str]):  # -> a boto3 client
    return boto3.client(
        service,
        region_name=env["AWS_REGION"],
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env["AWS_SESSION_TOKEN"],
    )


def create_table(env: dict[str, str], name: str) -> None:
    """The token table per INTERFACES.md: `pk` (S) partition key, TTL on `ttl`."""
    ddb = boto_client("dynamodb", env)
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )
