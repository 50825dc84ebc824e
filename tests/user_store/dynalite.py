"""dynalite (npm) on loopback: a DynamoDB whose conditional writes are atomic.

moto's server mode answers the DynamoDB API but does not serialise a conditional write against
a concurrent one, so a race test against it measures the mock (two winners, now and then).
dynalite evaluates each write's condition and applies it in one step per item, as DynamoDB
does; the store's race tests run against it. It keeps its tables in memory and knows nothing
of TTL, which those tests do not need.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.deploy_checks.local_stack import free_port, stop_process

from .moto_aws import FAKE_KEYS, REGION, boto_client

DYNALITE = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "dynalite"


@contextlib.contextmanager
def dynalite_server() -> Iterator[dict[str, str]]:
    """A dynalite process on a free loopback port; yields the environment a client needs."""
    if not DYNALITE.exists():
        raise RuntimeError(f"{DYNALITE} is missing: run `npm ci` at the repository root.")
    port = free_port()
    process = subprocess.Popen(
        [str(DYNALITE), "--host", "127.0.0.1", "--port", str(port), "--createTableMs", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    error = process.stderr.read().decode() if process.stderr else ""
                    raise RuntimeError(f"dynalite did not start on port {port}: {error}") from None
                time.sleep(0.05)
        yield {**FAKE_KEYS, "AWS_REGION": REGION, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    finally:
        stop_process(process)


def create_plain_table(env: dict[str, str], name: str) -> None:
    """The token table's key schema (`pk`, string), without TTL (dynalite has none)."""
    ddb = boto_client(
        "dynamodb",
        {
            **env,
            "AWS_ENDPOINT_URL": env.get("AWS_ENDPOINT_URL_DYNAMODB") or env["AWS_ENDPOINT_URL"],
        },
    )
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1})
