# SPDX-License-Identifier: Apache-2.0
"""The DynamoDB idempotency store (boto3, imported when the store is built, never before).

Put-if-absent is a ``PutItem`` with ``attribute_not_exists(id) OR expires_at <= :now``: DynamoDB
evaluates the condition and writes atomically, so of many racing attempts exactly one wins.
``expires_at`` (epoch seconds) doubles as the table's TTL attribute; TTL deletes lazily (within
days), so every read also checks it. Completing and releasing are fenced by the token.
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html

The client it builds has short timeouts (``TIMEOUT`` seconds to connect and to read, botocore's
default is 60 each) and ``ATTEMPTS`` attempts in botocore's standard retry mode: an endpoint that
does not answer fails the delivery (retried later) within ``ATTEMPTS * 2 * TIMEOUT`` seconds
and a backoff of up to one (about 9 s), inside a function's deadline, rather than holding it for
minutes. The arguments of the same names override them; ``client=`` replaces the client.
https://docs.aws.amazon.com/botocore/latest/reference/config.html
"""

from __future__ import annotations

import contextlib
from typing import Any

from portable_fn.idempotency._base import DEFAULT_LEASE, DEFAULT_RETENTION, Record

__all__ = ["ATTEMPTS", "TIMEOUT", "DynamoDBStore"]

TIMEOUT = 2.0
"""Seconds to connect, and to wait for a response, on the client the store builds."""
ATTEMPTS = 2
"""Attempts per call (the first and one retry) on the client the store builds."""


class DynamoDBStore:
    """Records as items of ``table`` (partition key ``id``, a string)."""

    def __init__(
        self,
        table: str,
        *,
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        lease: float = DEFAULT_LEASE,
        retention: float = DEFAULT_RETENTION,
        connect_timeout: float = TIMEOUT,
        read_timeout: float = TIMEOUT,
        attempts: int = ATTEMPTS,
    ) -> None:
        self.lease, self.retention = lease, retention
        self.table = table
        if client is None:
            try:
                import boto3  # type: ignore[import-untyped,unused-ignore]
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ImportError(
                    'the DynamoDB idempotency store needs boto3: pip install "boto3"'
                ) from exc
            from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]

            config = Config(
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"mode": "standard", "total_max_attempts": attempts},
            )
            client = boto3.client(
                "dynamodb", region_name=region, endpoint_url=endpoint_url, config=config
            )
        self.client = client
        self._conflict = client.exceptions.ConditionalCheckFailedException

    def create_table(self) -> None:
        """Create the table (on demand billing) with TTL on ``expires_at``: for tests and
        first-time setup; a deployment declares it in its template instead."""
        self.client.create_table(
            TableName=self.table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.client.get_waiter("table_exists").wait(TableName=self.table)
        self.client.update_time_to_live(
            TableName=self.table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
        )

    def _item(self, key: str, status: str, token: str, expires_at: float) -> dict[str, Any]:
        return {
            "id": {"S": key},
            "status": {"S": status},
            "token": {"S": token},
            "expires_at": {"N": _number(expires_at)},
        }

    def acquire(self, key: str, token: str, expires_at: float, now: float) -> Record | None:
        while True:
            try:
                self.client.put_item(
                    TableName=self.table,
                    Item=self._item(key, "in_progress", token, expires_at),
                    ConditionExpression="attribute_not_exists(#id) OR #exp <= :now",
                    ExpressionAttributeNames={"#id": "id", "#exp": "expires_at"},
                    ExpressionAttributeValues={":now": {"N": _number(now)}},
                )
                return None
            except self._conflict:
                found = self.get(key, now)
                if found is not None:
                    return _unless_own(found, token)
                # Deleted or expired between the write and the read: try again.

    def complete(
        self, key: str, token: str, result: bytes | None, expires_at: float, now: float
    ) -> bool:
        item = self._item(key, "completed", token, expires_at)
        if result is not None:
            item["result"] = {"B": result}
        try:
            self.client.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(#id) OR #tok = :tok OR #exp <= :now",
                ExpressionAttributeNames={"#id": "id", "#tok": "token", "#exp": "expires_at"},
                ExpressionAttributeValues={":tok": {"S": token}, ":now": {"N": _number(now)}},
            )
        except self._conflict:
            return False
        return True

    def release(self, key: str, token: str) -> None:
        # A conflict means someone else holds the key now: theirs to finish.
        with contextlib.suppress(self._conflict):
            self.client.delete_item(
                TableName=self.table,
                Key={"id": {"S": key}},
                ConditionExpression="#tok = :tok AND #st = :st",
                ExpressionAttributeNames={"#tok": "token", "#st": "status"},
                ExpressionAttributeValues={":tok": {"S": token}, ":st": {"S": "in_progress"}},
            )

    def get(self, key: str, now: float) -> Record | None:
        item = self.client.get_item(
            TableName=self.table, Key={"id": {"S": key}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        result = item.get("result")
        record = Record(
            key=key,
            status="completed" if item["status"]["S"] == "completed" else "in_progress",
            token=item["token"]["S"],
            expires_at=float(item["expires_at"]["N"]),
            result=None if result is None else bytes(result["B"]),
        )
        return record if record.live(now) else None

    def delete(self, key: str) -> None:
        self.client.delete_item(TableName=self.table, Key={"id": {"S": key}})


def _unless_own(found: Record, token: str) -> Record | None:
    # botocore's retry of a PutItem whose first try was written but not answered (a read
    # timeout, a dropped connection) fails its condition on that very item: this attempt's
    # own claim, not another's (https://github.com/aws/aws-sdk-java/issues/2667). Tokens are
    # random per attempt, so no other attempt's record carries it.
    return None if found.token == token and found.status == "in_progress" else found


def _number(value: float) -> str:
    # DynamoDB numbers are decimal strings; keep millisecond precision for the lease checks.
    return f"{value:.3f}"
