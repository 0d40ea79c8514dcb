# SPDX-License-Identifier: Apache-2.0
"""AWS adapter against the anchors (``../shared/reference/performance-anchors.md``), one run.

- HTTP API v2 event per invocation: raw ``def handler(event, context)`` vs portable-fn's
  ``lambda_handler`` (target: at most 2x) vs Powertools' APIGatewayHttpResolver if installed;
- SQS batch of 10 with one bad message, partial-failure response: a raw loop vs portable-fn
  (target: at most 1.3x) vs Powertools' BatchProcessor if installed;
- importing the generated entry of ``examples/shop`` vs ``import chalice.app``;
- the size of ``app.zip`` for ``examples/shop`` (target: under 100 kB).

Run: ``python -m benchmarks.bench_aws`` from the repository root.
"""

from __future__ import annotations

import compileall
import contextlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import portable_fn as pf
from benchmarks._harness import compare, import_cost
from portable_fn.log import Logger
from portable_fn_aws import lambda_handler
from portable_fn_aws.native import InvokeContext

CTX = InvokeContext("bench")


def http_event() -> dict[str, Any]:
    body = json.dumps({"sku": "book", "n": 2})
    return {
        "version": "2.0",
        "routeKey": "POST /orders",
        "rawPath": "/orders",
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "content-type": "application/json",
            "content-length": str(len(body)),
            "host": "abc.execute-api.amazonaws.com",
            "user-agent": "curl/8.4.0",
            "x-forwarded-for": "203.0.113.7",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            "x-amzn-trace-id": "Root=1-65f0c2a0-0123456789abcdef01234567",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc",
            "domainName": "abc.execute-api.amazonaws.com",
            "domainPrefix": "abc",
            "http": {
                "method": "POST",
                "path": "/orders",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "curl/8.4.0",
            },
            "requestId": "req",
            "routeKey": "POST /orders",
            "stage": "$default",
            "time": "12/Mar/2024:19:03:58 +0000",
            "timeEpoch": 1710270238000,
        },
        "body": body,
        "isBase64Encoded": False,
    }


def sqs_event() -> dict[str, Any]:
    records = []
    for i in range(10):
        body = "{not json" if i == 4 else json.dumps({"sku": "book", "n": i})
        records.append(
            {
                "messageId": f"00000000-0000-4000-8000-{i:012d}",
                "receiptHandle": "rh",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1710270238000",
                    "SenderId": "AIDA",
                    "ApproximateFirstReceiveTimestamp": "1710270238001",
                },
                "messageAttributes": {},
                "md5OfBody": "x",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def raw_http(event: dict[str, Any], context: Any) -> dict[str, Any]:
    order = json.loads(event["body"])
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"ok": True, "n": order["n"]}),
    }


def raw_sqs(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        try:
            order = json.loads(record["body"])
            if order["n"] < 0:
                raise ValueError("negative")
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


class _Stdout(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """A logging handler writing to whatever ``sys.stdout`` is at the time (the bench sends
    failure lines nowhere, for every variant alike)."""

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def raw_sqs_logging() -> Any:
    """``raw_sqs`` that logs its failure as a Lambda handler without a library does: the
    standard ``logging`` module's ``logger.exception`` (traceback included), in the format the
    Lambda Python runtime gives the root logger, to whatever ``sys.stdout`` is at the time."""
    handler = _Stdout()
    handler.setFormatter(
        logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(message)s\n")
    )
    logger = logging.getLogger("bench.raw")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            try:
                order = json.loads(record["body"])
                if order["n"] < 0:
                    raise ValueError("negative")
            except Exception:
                logger.exception("record %s failed", record["messageId"])
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    return batch


def _adapter_http(event: dict[str, Any], response: Any) -> Any:
    """This adapter's share of an HTTP invocation, without the core's dispatch."""
    from portable_fn_aws import apigw_v2
    from portable_fn_aws._handler import context_for

    apigw_v2.to_request(event)
    context_for("create", CTX, event)
    return apigw_v2.from_response(response, event)


def _adapter_sqs(event: dict[str, Any]) -> Any:
    """This adapter's share of a batch: decoding every record, without dispatching."""
    from portable_fn_aws import sqs

    return [sqs.from_record(record) for record in event["Records"]]


def _floor_sqs(event: dict[str, Any], work: Any, logger: Any, ctx: Any) -> Any:
    """The floor under any framework that hands each record to the handler as a CloudEvent and
    logs a failure: this adapter's decode, the handler, one JSON error line with its stack from
    a logger bound once for the batch. No batch machinery (contexts per receive count, the
    current invocation, FIFO groups, redelivery), none of which this loop could do without."""
    from portable_fn_aws import sqs

    failures = []
    for record in event["Records"]:
        try:
            work(sqs.message(record, record.get("attributes")), ctx)
        except Exception as exc:
            logger.exception("event handler failed", exc=exc)
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def portable_app() -> pf.App:
    app = pf.App("bench")

    @app.http("/orders", methods=["POST"])
    def create(req: pf.Request) -> dict[str, Any]:
        return {"ok": True, "n": req.json()["n"]}

    @app.queue("orders")
    def work(event: pf.CloudEvent) -> None:
        if event.data["n"] < 0:
            raise ValueError("negative")

    return app


def powertools_batch(logger: Any = None) -> Any:
    """Powertools' BatchProcessor over the same record handler (None without Powertools).

    Given a Powertools ``Logger`` it logs each failed record as a JSON line with its traceback:
    the like-for-like comparison for portable-fn, which always does (a failure is never silent).
    """
    try:
        from aws_lambda_powertools.utilities.batch import (
            BatchProcessor,
            EventType,
            process_partial_response,
        )
    except ImportError:
        return None
    # ``logger=`` is recent (Powertools 3.x): pass it only when asked for.
    extra = {} if logger is None else {"logger": logger}
    processor = BatchProcessor(event_type=EventType.SQS, **extra)

    def record_handler(record: Any) -> None:
        if json.loads(record.body)["n"] < 0:
            raise ValueError("negative")

    def batch(event: dict[str, Any], context: Any) -> Any:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return batch


def powertools_logger() -> Any:
    """A Powertools ``Logger`` writing to whatever ``sys.stdout`` is at the time (the bench
    sends failure lines nowhere, for every variant alike)."""
    try:
        from aws_lambda_powertools import Logger
    except ImportError:
        return None
    return Logger(service="bench", logger_handler=_Stdout())


def powertools_http() -> Any:
    try:
        from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    except ImportError:
        return None
    resolver = APIGatewayHttpResolver()

    @resolver.post("/orders")
    def create() -> dict[str, Any]:
        return {"ok": True, "n": resolver.current_event.json_body["n"]}

    return resolver.resolve


def main() -> None:
    app = portable_app()
    http, create, sqs, work = (
        http_event(),
        lambda_handler(app, "create"),
        sqs_event(),
        lambda_handler(app, "work"),
    )
    assert create(http, CTX)["body"] == raw_http(http, CTX)["body"].replace(" ", "")
    with contextlib.redirect_stdout(io.StringIO()):  # the failed message's error log line
        assert work(sqs, CTX) == raw_sqs(sqs, CTX)
    pt_http, pt_sqs = powertools_http(), powertools_batch()
    response = pf.Response.json({"ok": True, "n": 2})

    http_variants = {
        "raw handler": lambda: raw_http(http, CTX),
        "portable-fn lambda_handler": lambda: create(http, CTX),
        "  adapter only (event -> Request, Context, Response -> event)": lambda: _adapter_http(
            http, response
        ),
    }
    if pt_http is not None:
        http_variants["Powertools APIGatewayHttpResolver"] = lambda: pt_http(http, CTX)
    compare(
        http_variants,
        "raw handler",
        number=20_000,
        title="HTTP API v2 event, parse JSON body, return JSON (per invocation)",
    )

    raw_logged = raw_sqs_logging()
    handler = app.function("work").call  # the handler as dispatch calls it: (event, ctx)
    floor_logger = Logger({"function": "work", "provider": "aws", "invocation_id": "bench"})
    sqs_variants = {
        "raw loop": lambda: raw_sqs(sqs, CTX),
        "raw loop + logger.exception (a failure is not silent)": lambda: raw_logged(sqs, CTX),
        "portable-fn lambda_handler": lambda: work(sqs, CTX),
        "  adapter only (10 records -> CloudEvents)": lambda: _adapter_sqs(sqs),
        "  floor: decode + handler + failure line, no batch machinery": lambda: _floor_sqs(
            sqs, handler, floor_logger, CTX
        ),
    }
    if pt_sqs is not None:
        sqs_variants["Powertools BatchProcessor"] = lambda: pt_sqs(sqs, CTX)
    pt_logged = powertools_batch(powertools_logger())
    if pt_logged is not None and pt_sqs is not None:
        sqs_variants["Powertools BatchProcessor + Logger (logs the failure)"] = lambda: pt_logged(
            sqs, CTX
        )
    # Failures are logged as one JSON line each (CloudWatch reads stdout): send it nowhere.
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        results = compare(
            sqs_variants,
            "raw loop",
            number=2_000,
            title="SQS batch of 10, one bad message, partial-failure response",
        )
    from benchmarks._harness import print_table

    print_table(results, "SQS batch of 10, one bad message, partial-failure response")
    ok_batch = sqs_event()
    ok_batch["Records"][4]["body"] = json.dumps({"sku": "book", "n": 4})
    ok_variants = {
        "raw loop": lambda: raw_sqs(ok_batch, CTX),
        "portable-fn lambda_handler": lambda: work(ok_batch, CTX),
    }
    if pt_sqs is not None:
        ok_variants["Powertools BatchProcessor"] = lambda: pt_sqs(ok_batch, CTX)
    compare(
        ok_variants,
        "raw loop",
        number=2_000,
        title="SQS batch of 10, all succeed (the cost of the failure's log line aside)",
    )

    from examples.shop.app import app as shop
    from portable_fn_aws.adapter import AwsAdapter, adapter

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "aws"
        adapter.package(shop, "examples.shop.app:app", out)
        size = (out / "app.zip").stat().st_size
        root = Path(tmp) / "task"
        with zipfile.ZipFile(out / "app.zip") as archive:
            archive.extractall(root)
        # The opt-in bytecode zip, compiled for this interpreter as for the function's runtime.
        this = f"python{sys.version_info.major}.{sys.version_info.minor}"
        AwsAdapter(runtime=this, bytecode=True).package(
            shop, "examples.shop.app:app", Path(tmp) / "bytecode"
        )
        bytecode_size = (Path(tmp) / "bytecode" / "app.zip").stat().st_size
        bytecode_root = Path(tmp) / "bytecode-task"
        with zipfile.ZipFile(Path(tmp) / "bytecode" / "app.zip") as archive:
            archive.extractall(bytecode_root)
        entry = "import sys; sys.path.insert(0, {!r}); import pf_entry"
        cached = Path(tmp) / "cached"
        shutil.copytree(root, cached)
        # .pyc written beforehand, as site-packages has them for chalice.app
        compileall.compile_dir(cached, quiet=1, legacy=False)
        statements = {
            "import json": "import json",
            "generated entry (examples/shop), .pyc cached": entry.format(str(cached)),
            # Lambda's /var/task is read-only: a zip without bytecode compiles on every cold start.
            "generated entry (examples/shop), no .pyc": "import sys; sys.dont_write_bytecode = "
            "True; " + entry.format(str(root)),
            "generated entry (examples/shop), bytecode zip": "import sys; "
            "sys.dont_write_bytecode = True; " + entry.format(str(bytecode_root)),
        }
        with contextlib.suppress(ImportError):
            import chalice.app  # noqa: F401

            statements["import chalice.app"] = "import chalice.app"
        import_cost(
            statements,
            baseline="import json",
            runs=30,
            title="Cold start: import cost (ms over a bare interpreter)",
        )
    print(f"\napp.zip for examples/shop: {size:,} bytes ({size / 1000:.1f} kB); with "
          f"PORTABLE_FN_AWS_BYTECODE=1: {bytecode_size:,} bytes ({bytecode_size / 1000:.1f} kB)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
