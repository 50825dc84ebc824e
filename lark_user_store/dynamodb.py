"""DynamoDB backend over the stdlib SigV4 client (the MCP server image has no boto3).

Table (created by the CDK stack): partition key `pk` (S), no sort key, TTL attribute `ttl`
(N, epoch seconds). Each item: `pk`, `data` (the record as JSON text), `version` (N), and
`ttl` when it expires. Compare-and-set is a `ConditionExpression` on `version`; a lost race
is DynamoDB's `ConditionalCheckFailedException`, which this module turns into `None`.
Reads are strongly consistent: a refresh that lost the race must see the winner's tokens.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any

from .records import Record, StoreError
from .sigv4 import AwsApiError, CachedCredentials, CredentialsError, call_json_api, endpoint_for

_LOST = "ConditionalCheckFailedException"
_NAMES = {"#d": "data", "#v": "version", "#t": "ttl"}


class DynamoRecords:
    def __init__(self, table: str, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if not region:
            raise StoreError(
                f"USER_TOKEN_STORE=dynamodb://{table} needs AWS_REGION (the table's region)."
            )
        self.table = table
        self.region = region
        self.endpoint = endpoint_for("DYNAMODB", "dynamodb", region, env)
        self._credentials = CachedCredentials(env)

    def _call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return call_json_api(
                endpoint=self.endpoint,
                region=self.region,
                service="dynamodb",
                target=f"DynamoDB_20120810.{action}",
                payload={"TableName": self.table, **payload},
                creds=self._credentials.get(),
                content_type="application/x-amz-json-1.0",
            )
        except AwsApiError as exc:
            if exc.kind == _LOST:
                raise
            raise StoreError(
                f"DynamoDB refused {action} on table {self.table} ({exc.kind}: {exc.message}). "
                "Check the table name in USER_TOKEN_STORE and that the role may use the table "
                "and its KMS key."
            ) from None
        except CredentialsError as exc:
            raise StoreError(f"Cannot reach the token table {self.table}: {exc}.") from None
        except (OSError, ValueError) as exc:
            raise StoreError(f"Cannot reach DynamoDB for table {self.table}: {exc}") from None

    def _conditional(self, action: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return self._call(action, payload)
        except AwsApiError:  # only the lost condition gets here
            return None

    @staticmethod
    def _record(key: str, item: Mapping[str, Any]) -> Record | None:
        ttl = int(item["ttl"]["N"]) if "ttl" in item else None
        if ttl is not None and ttl <= time.time():
            return None  # expired; DynamoDB purges it within a few days
        return Record(key, json.loads(item["data"]["S"]), int(item["version"]["N"]), ttl)

    @staticmethod
    def _key(key: str) -> dict[str, Any]:
        return {"pk": {"S": key}}

    def get(self, key: str) -> Record | None:
        item = self._call("GetItem", {"Key": self._key(key), "ConsistentRead": True}).get("Item")
        return self._record(key, item) if item else None

    def put(self, key: str, data: dict[str, Any], *, expires_at: int | None = None) -> Record:
        values: dict[str, Any] = {":d": {"S": json.dumps(data)}, ":one": {"N": "1"}}
        expression = "SET #d = :d ADD #v :one"
        if expires_at is None:
            expression += " REMOVE #t"
        else:
            expression = "SET #d = :d, #t = :t ADD #v :one"
            values[":t"] = {"N": str(int(expires_at))}
        answer = self._call(
            "UpdateItem",
            {
                "Key": self._key(key),
                "UpdateExpression": expression,
                "ExpressionAttributeNames": _NAMES,
                "ExpressionAttributeValues": values,
                "ReturnValues": "UPDATED_NEW",
            },
        )
        return Record(key, data, int(answer["Attributes"]["version"]["N"]), expires_at)

    def _item(self, key: str, data: dict[str, Any], version: int, expires_at: int | None) -> dict:
        item = {
            **self._key(key),
            "data": {"S": json.dumps(data)},
            "version": {"N": str(version)},
        }
        if expires_at is not None:
            item["ttl"] = {"N": str(int(expires_at))}
        return item

    def create(
        self, key: str, data: dict[str, Any], *, expires_at: int | None = None
    ) -> Record | None:
        answer = self._conditional(
            "PutItem",
            {
                "Item": self._item(key, data, 1, expires_at),
                "ConditionExpression": "attribute_not_exists(pk) OR #t <= :now",
                "ExpressionAttributeNames": {"#t": "ttl"},
                "ExpressionAttributeValues": {":now": {"N": str(int(time.time()))}},
            },
        )
        return None if answer is None else Record(key, data, 1, expires_at)

    def replace(
        self, key: str, data: dict[str, Any], *, version: int, expires_at: int | None = None
    ) -> Record | None:
        answer = self._conditional(
            "PutItem",
            {
                "Item": self._item(key, data, version + 1, expires_at),
                "ConditionExpression": "#v = :old AND (attribute_not_exists(#t) OR #t > :now)",
                "ExpressionAttributeNames": {"#v": "version", "#t": "ttl"},
                "ExpressionAttributeValues": {
                    ":old": {"N": str(version)},
                    ":now": {"N": str(int(time.time()))},
                },
            },
        )
        return None if answer is None else Record(key, data, version + 1, expires_at)

    def take(self, key: str) -> Record | None:
        answer = self._conditional(
            "DeleteItem",
            {
                "Key": self._key(key),
                "ConditionExpression": "attribute_exists(pk) AND "
                "(attribute_not_exists(#t) OR #t > :now)",
                "ExpressionAttributeNames": {"#t": "ttl"},
                "ExpressionAttributeValues": {":now": {"N": str(int(time.time()))}},
                "ReturnValues": "ALL_OLD",
            },
        )
        if not answer or "Attributes" not in answer:
            return None
        return self._record(key, answer["Attributes"])

    def delete(self, key: str) -> None:
        self._call("DeleteItem", {"Key": self._key(key)})

    def delete_if(self, key: str, data: dict[str, Any]) -> bool:
        answer = self._conditional(
            "DeleteItem",
            {
                "Key": self._key(key),
                "ConditionExpression": "#d = :d",
                "ExpressionAttributeNames": {"#d": "data"},
                "ExpressionAttributeValues": {":d": {"S": json.dumps(data)}},
            },
        )
        return answer is not None
