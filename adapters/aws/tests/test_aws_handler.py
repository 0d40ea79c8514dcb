# SPDX-License-Identifier: Apache-2.0
"""``lambda_handler`` end to end in process: native event in, native result out."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import portable_fn as pf
from portable_fn.errors import EventDecodeError
from portable_fn.testing import RecordingPublisher
from portable_fn_aws import lambda_handler

from aws_fixtures import FakeLambdaContext, load


def make_app() -> tuple[pf.App, list[Any]]:
    app = pf.App("t")
    seen: list[Any] = []

    @app.http("/orders/{order_id}", methods=["GET"])
    def get_order(req: pf.Request) -> Any:
        if req.path_params["order_id"] == "boom":
            raise RuntimeError("secret detail")
        return {"id": req.path_params["order_id"], "q": req.query.getall("expand")}

    @app.http("/path/to/resource", methods=["POST"])
    def post(req: pf.Request) -> Any:
        return pf.Response.json(
            req.json(), status=201, headers=[("set-cookie", "s=1"), ("set-cookie", "t=2")]
        )

    @app.queue("work", max_retries=2)
    def work(event: pf.CloudEvent, ctx: pf.Context) -> None:
        seen.append((event.id, ctx.attempt))
        if isinstance(event.data, dict) and event.data.get("sku") == "poison":
            raise ValueError("poison")

    @app.topic("news")
    def news(event: pf.CloudEvent) -> None:
        seen.append(event.id)
        if event.data == "fail":
            raise ValueError("fail")

    @app.storage("uploads", on=("created",))
    def upload(event: pf.CloudEvent) -> None:
        seen.append(event.data)

    @app.schedule("rate(1 day)")
    def nightly(event: pf.CloudEvent) -> None:
        seen.append(event.data)

    @app.event("com.example.invoice.paid")
    def paid(event: pf.CloudEvent) -> None:
        seen.append(event.data)

    @app.stream("clicks")
    def clicks(event: pf.CloudEvent) -> None:
        seen.append(event.id)
        if event.type == "com.amazonaws.dynamodb.MODIFY":
            raise ValueError("cannot modify")

    return app, seen


CTX = FakeLambdaContext()


def test_http_v2_function_url_v1_alb_route_to_the_function() -> None:
    app, _ = make_app()
    handler = lambda_handler(app, "get_order")
    url = handler(load("function_url.json"), CTX)
    assert url["statusCode"] == 200
    assert json.loads(url["body"]) == {"id": "7", "q": ["items", "customer"]}
    v1 = handler(load("sam_apigw_v1.json"), CTX)
    assert v1["statusCode"] == 200 and json.loads(v1["body"])["id"] == "42"
    alb = handler(load("alb_multi_value.json"), CTX)
    assert alb["statusCode"] == 200 and "multiValueHeaders" in alb
    assert alb["statusDescription"] == "200 OK"


def test_http_post_with_base64_body_and_cookies_out() -> None:
    app, _ = make_app()
    out = lambda_handler(app, "post")(load("sam_apigw_v2.json"), CTX)
    assert out["statusCode"] == 201 and json.loads(out["body"]) == {"test": "body"}
    assert out["cookies"] == ["s=1", "t=2"]


def test_http_errors_are_json_without_traceback() -> None:
    app, _ = make_app()
    handler = lambda_handler(app, "get_order")
    event = load("function_url.json")
    event["rawPath"] = "/orders/boom"
    out = handler(event, CTX)
    assert out["statusCode"] == 500
    assert "secret" not in out["body"] and "Traceback" not in out["body"]
    assert json.loads(out["body"])["error"]["status"] == 500
    event["requestContext"]["http"]["method"] = "DELETE"
    assert handler(event, CTX)["statusCode"] == 405
    event["body"], event["isBase64Encoded"] = "***", True
    bad = handler(event, CTX)
    assert bad["statusCode"] == 400 and json.loads(bad["body"])["error"]["status"] == 400
    assert handler({"nothing": 1}, CTX)["statusCode"] == 400


def _errors(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    return [x for x in lines if x["level"] == "ERROR"]


def test_sqs_batch_reports_only_failed_messages(capsys: pytest.CaptureFixture[str]) -> None:
    app, seen = make_app()
    batch = load("sqs_malformed.json")  # good JSON, invalid CloudEvent, plain text
    batch["Records"][2]["body"] = '{"sku": "poison"}'
    out = lambda_handler(app, "work")(batch, CTX)
    assert out == {
        "batchItemFailures": [
            {"itemIdentifier": "00000000-0000-4000-8000-000000000001"},
            {"itemIdentifier": "00000000-0000-4000-8000-000000000002"},
        ]
    }
    assert [s[0] for s in seen] == [
        "00000000-0000-4000-8000-000000000000",
        "00000000-0000-4000-8000-000000000002",
    ]
    # Each failure's ERROR line names its message: the undecodable one has no event to.
    undecodable, failed = _errors(capsys)
    assert undecodable["message"] == "could not decode SQS message"
    assert undecodable["message_id"] == "00000000-0000-4000-8000-000000000001"
    assert failed["event_id"] == "00000000-0000-4000-8000-000000000002"


def test_sqs_attempt_comes_from_receive_count() -> None:
    app, seen = make_app()
    assert lambda_handler(app, "work")(load("sqs_cloudevent.json"), CTX) == {
        "batchItemFailures": []
    }
    assert seen == [("6f1c2a1e-5b7d-4c41-9a55-0f3e6b1d2c9a", 3)]


@pytest.mark.parametrize("count", ["0", "-1", float("inf"), None, "x"])
def test_a_receive_count_sqs_would_not_send_is_the_first_attempt(count: Any) -> None:
    """`1e309` as a JSON number reaches Python as inf (awslambdaric's simplejson reads it so):
    ``int(inf)`` raised OverflowError and failed the whole batch, good messages with it."""
    app, seen = make_app()
    batch = load("sqs_cloudevent.json")
    good = copy.deepcopy(batch["Records"][0])
    batch["Records"][0]["attributes"]["ApproximateReceiveCount"] = count
    good["messageId"] = "good-1"
    batch["Records"].append(good)
    assert lambda_handler(app, "work")(batch, CTX) == {"batchItemFailures": []}
    assert [attempt for _, attempt in seen] == [1, 3]


def test_fifo_failure_fails_the_rest_of_its_group_only() -> None:
    app, seen = make_app()
    out = lambda_handler(app, "work")(load("sqs_fifo.json"), CTX)
    # Message 2 (group customer-2) fails, so 4 (same group) is not run and is reported too;
    # 3 (customer-1) runs.
    assert out == {
        "batchItemFailures": [
            {"itemIdentifier": "22d6ee51-4cc7-4302-9e22-7cd8afdaadf5"},
            {"itemIdentifier": "44d6ee51-4cc7-4302-9e22-7cd8afdaadf5"},
        ]
    }
    assert [s[0][:2] for s in seen] == ["11", "22", "33"]


def test_fair_queue_groups_fail_alone() -> None:
    """A standard queue may carry MessageGroupId too (SQS fair queues, 2025: the group names a
    tenant, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-fair-queues.html).
    Only a FIFO queue orders a group, so here a failure must not fail its group's later
    messages unrun."""
    app, seen = make_app()
    batch = load("sqs_fifo.json")
    for record in batch["Records"]:
        record["eventSourceARN"] = record["eventSourceARN"].removesuffix(".fifo")
    out = lambda_handler(app, "work")(batch, CTX)
    failed = [item["itemIdentifier"] for item in out["batchItemFailures"]]
    assert failed == ["22d6ee51-4cc7-4302-9e22-7cd8afdaadf5"]
    assert [s[0][:2] for s in seen] == ["11", "22", "33", "44"]


def test_topic_via_sns_directly_raises_for_lambda_retry() -> None:
    app, seen = make_app()
    handler = lambda_handler(app, "news")
    assert handler(load("sam_sns.json"), CTX) is None
    event = load("sam_sns.json")
    event["Records"][0]["Sns"]["Message"] = "fail"
    with pytest.raises(ValueError, match="fail"):
        handler(event, CTX)
    assert seen == ["95df01b4-ee98-5cb9-9903-4c221d41eb5e"] * 2


def test_topic_via_sqs_gets_the_original_cloudevent() -> None:
    app, seen = make_app()
    out = lambda_handler(app, "news")(load("sqs_sns_cloudevent.json"), CTX)
    assert out == {"batchItemFailures": []} and seen == ["6f1c2a1e-5b7d-4c41-9a55-0f3e6b1d2c9a"]


@pytest.mark.parametrize(
    "fixture",
    ["sam_s3_put.json", "sns_s3.json", "sqs_s3.json", "eventbridge_s3_object_created.json"],
)
def test_storage_every_delivery_path(fixture: str) -> None:
    app, seen = make_app()
    lambda_handler(app, "upload")(load(fixture), CTX)
    assert len(seen) == 1 and seen[0]["bucket"] == "uploads" and seen[0]["action"] == "created"


@pytest.mark.parametrize(
    "fixture",
    [
        "sam_s3_delete.json",
        "eventbridge_s3_object_deleted.json",
        "eventbridge_s3_restore.json",
        "sqs_s3_test_event.json",
    ],
)
def test_storage_events_the_trigger_does_not_want_are_acknowledged(fixture: str) -> None:
    app, seen = make_app()
    out = lambda_handler(app, "upload")(load(fixture), CTX)
    assert seen == [] and out in (None, {"batchItemFailures": []})


def test_schedule_and_event_bus() -> None:
    app, seen = make_app()
    lambda_handler(app, "nightly")(load("sam_scheduled.json"), CTX)
    lambda_handler(app, "nightly")({}, CTX)  # EventBridge Scheduler with no input
    lambda_handler(app, "paid")(load("eventbridge_custom.json"), CTX)
    lambda_handler(app, "paid")(load("eventbridge_cloudevent.json"), CTX)
    assert seen[0] == {"expression": "rate(1 day)", "scheduled_time": "1970-01-01T00:00:00Z"}
    assert seen[1]["expression"] == "rate(1 day)"
    assert seen[2]["currency"] == "EUR" and seen[3] == {"invoice_id": "inv-9", "amount": 1250}


def test_streams_stop_at_the_first_failure() -> None:
    app, seen = make_app()
    handler = lambda_handler(app, "clicks")
    assert handler(load("sam_kinesis.json"), CTX) == {"batchItemFailures": []}
    out = handler(load("sam_dynamodb.json"), CTX)  # INSERT ok, MODIFY fails, REMOVE not run
    assert out == {"batchItemFailures": [{"itemIdentifier": "4421584500000000017450439092"}]}
    assert seen[1:] == ["c4ca4238a0b923820dcc509a6f75849b", "c81e728d9d4c2f636f067f89cc14862c"]


def test_stream_record_that_cannot_be_decoded_is_reported(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app, _ = make_app()
    batch = load("sam_kinesis.json")
    record = batch["Records"][0]
    record["kinesis"]["data"] = "@@@"
    out = lambda_handler(app, "clicks")(batch, CTX)
    sequence = record["kinesis"]["sequenceNumber"]
    assert out == {"batchItemFailures": [{"itemIdentifier": sequence}]}
    (line,) = _errors(capsys)  # where to find the record again
    assert line["sequence_number"] == sequence and line["event_id"] == record["eventID"]


def test_unknown_event_shape_fails_loudly() -> None:
    app, _ = make_app()
    with pytest.raises(EventDecodeError):
        lambda_handler(app, "work")({"hello": "world"}, CTX)


def test_publish_inside_a_handler_reaches_the_installed_publisher() -> None:
    from examples.shop.app import app as shop

    recorder = RecordingPublisher()
    shop.use_publisher(recorder)
    try:
        event = load("function_url.json")
        event.update(rawPath="/orders", rawQueryString="", body='{"sku": "book"}')
        event["requestContext"]["http"]["method"] = "POST"
        out = lambda_handler(shop, "create_order")(event, CTX)
    finally:
        shop.use_publisher(None)
    assert out["statusCode"] == 202
    (published,) = recorder.sent
    assert published.name == "order-events" and published.event.data["sku"] == "book"


def test_the_context_deadline_is_fixed_when_the_invocation_starts() -> None:
    """A context object without awslambdaric's stored deadline (another runtime, a test) gives
    a deadline from its remaining time, worked out once: reading it twice gives one answer."""
    import time

    from portable_fn_aws._handler import context_for

    class Remaining:
        aws_request_id = "r-1"

        def get_remaining_time_in_millis(self) -> int:
            return 3_000

    ctx = context_for("f", Remaining(), {})
    first = ctx.deadline
    time.sleep(0.01)
    assert first is not None and ctx.deadline == first and ctx.invocation_id == "r-1"
    assert context_for("f", None, {}).deadline is None


def test_cli_invoke_reports_an_async_event_whose_handler_raises(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``portable-fn invoke --provider aws`` on an SNS event whose handler fails: the adapter
    raises, as Lambda needs to retry the event; the command reports it as JSON, exit 1."""
    from portable_fn.cli import main

    app = tmp_path / "inv.py"
    app.write_text(
        "import portable_fn as pf\napp = pf.App('inv')\n"
        "@app.topic('orders')\ndef on_order(event):\n    raise ValueError('no stock')\n"
    )
    assert main(["invoke", str(app), "on_order", "--provider", "aws", "--event", "sns"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["raised"] == {"type": "ValueError", "message": "no stock"}


def test_a_tumbling_windows_final_invocation_runs_nothing_and_fails_nothing() -> None:
    """The documented Kinesis tumbling-window sample of the final invocation: no records, the
    window's state. Raising would make Lambda retry it; there is nothing to run. The response
    carries the state back: without one Lambda counts the invocation as failed and holds the
    shard until it succeeds (https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html)."""
    app, seen = make_app()
    final = {
        "Records": [],
        "window": {"start": "2020-07-30T17:00:00Z", "end": "2020-07-30T17:05:00Z"},
        "state": {"1": 282, "2": 715},
        "shardId": "shardId-000000000006",
        "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/lambda-stream",
        "isFinalInvokeForWindow": True,
        "isWindowTerminatedEarly": False,
    }
    assert lambda_handler(app, "clicks")(final, CTX) == {
        "batchItemFailures": [],
        "state": {"1": 282, "2": 715},
    }
    assert seen == []
    with pytest.raises(EventDecodeError):  # an empty batch that is no window still fails
        lambda_handler(app, "clicks")({"Records": []}, CTX)


@pytest.mark.parametrize("fixture", ["sam_kinesis.json", "sam_dynamodb.json"])
def test_a_tumbling_windows_batches_return_its_state(fixture: str) -> None:
    """Every invocation of a tumbling window (Kinesis, DynamoDB Streams) must return a ``state``,
    or Lambda counts it as failed and retries the batch
    (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-windows.html): the records run as
    in any batch, a failure is reported as in any batch, and the state goes back as it came
    (``{}`` when the window has none yet). A batch outside a window returns no state."""
    app, seen = make_app()
    handler = lambda_handler(app, "clicks")
    plain = load(fixture)
    expected = handler(copy.deepcopy(plain), CTX)
    ran = len(seen)
    window = {"start": "2020-12-09T07:04:00Z", "end": "2020-12-09T07:06:00Z"}
    first = {**copy.deepcopy(plain), "window": window, "state": {},
             "isFinalInvokeForWindow": False, "isWindowTerminatedEarly": False}
    assert handler(first, CTX) == {**expected, "state": {}}
    assert len(seen) == 2 * ran  # the records ran as in the plain batch
    later = {**first, "state": {"clicks": 12}}
    assert handler(later, CTX) == {**expected, "state": {"clicks": 12}}
    assert "state" not in expected


@pytest.mark.parametrize(("field", "value"), [("headers", ["x"]), ("cookies", 5), ("body", 5)])
def test_an_unforeseen_malformed_http_event_is_a_400_naming_no_internals(
    field: str, value: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A shape no codec check anticipated: Python's words about it ("'list' object has no
    attribute 'items'") go to the log, the client gets a plain 400."""
    app = pf.App("shapes")

    @app.http("/orders", methods=["GET"], auth="anonymous")
    def orders(req: pf.Request) -> dict[str, bool]:
        return {"ok": True}

    event = load("sam_apigw_v2.json")
    event[field] = value
    out = lambda_handler(app, "orders")(event, FakeLambdaContext())
    assert out["statusCode"] == 400
    assert json.loads(out["body"]) == {"error": {"status": 400, "message": "malformed HTTP event"}}
    assert "error_type" in capsys.readouterr().out  # the details are in the log line


def test_an_event_that_is_no_object_notification_fails_the_storage_function_for_good(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A storage function reads S3 object notifications, directly or through SNS / SQS
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
    An SQS message whose body is no S3 event (a queue wired to the wrong function) was
    acknowledged with no line at all, so a misconfigured deployment dropped messages without a
    trace: that message now fails for good (reported failed here, where no dead-letter queue
    is configured; dead-lettered at once where the template names one), with an ERROR line
    that names the function and the event, and the batch's S3 message still runs. S3's own
    other events (``Object Restore Completed`` on EventBridge) are skipped quietly, as
    documented."""
    import portable_fn as pf
    from portable_fn.events import to_json
    from portable_fn_aws import native
    from portable_fn_aws._handler import lambda_handler
    from portable_fn_aws.harness import offline

    app = pf.App("warn")
    seen: list[str] = []

    @app.storage("uploads", on=("created",))
    def on_upload(event: pf.CloudEvent) -> None:
        seen.append(event.data["key"])

    order = pf.CloudEvent.create(type="com.example.order.created", source="/shop", data={})
    s3_body = native.json_text(
        {"Records": [native.s3_record(bucket="b", key="k", size=1, etag="e", action="created")]}
    )
    misrouted = native.sqs_record(to_json(order).decode(), queue="q")
    # Shaped like storage data, but no S3 event: told apart by its source, not its fields.
    lookalike = native.sqs_record('{"action": "created", "key": "k2", "bucket": "x"}', queue="q")
    records = [misrouted, native.sqs_record(s3_body), lookalike]
    restore = native.eventbridge_event("Object Restore Completed", "aws.s3", {"bucket": {}})
    with offline(app):
        handler = lambda_handler(app, "on_upload")
        assert handler({"Records": records}, native.InvokeContext()) == {
            "batchItemFailures": [
                {"itemIdentifier": misrouted["messageId"]},
                {"itemIdentifier": lookalike["messageId"]},
            ]
        }
        handler(restore, native.InvokeContext())
    assert seen == ["k"]
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    errors = [x for x in lines if x.get("level") in ("WARNING", "ERROR")]
    assert len(errors) == 2, lines
    line = errors[0]
    assert line["function"] == "on_upload" and order.type in line["error"], line
    assert "not an S3 object notification" in line["error"], line


def test_a_bus_event_of_another_source_fails_a_storage_function_asynchronously() -> None:
    """The asynchronous path (EventBridge invoking the function directly): an event that is no
    S3 event is raised as a typed error, so Lambda sends it to the on-failure queue (or the
    function writes it there at once, where the template configured one), instead of the
    invocation succeeding with nothing run."""
    import portable_fn as pf
    from portable_fn.errors import EventDecodeError
    from portable_fn_aws import native
    from portable_fn_aws._handler import lambda_handler
    from portable_fn_aws.harness import offline

    app = pf.App("foreign")
    ran: list[object] = []
    app.storage("uploads")(ran.append)
    invoice = native.eventbridge_event("InvoicePaid", "com.example.billing", {"id": "i-1"})
    with offline(app), pytest.raises(EventDecodeError, match="not an S3 object notification"):
        lambda_handler(app, "append")(invoice, native.InvokeContext())
    assert ran == []


def test_the_harness_delivers_a_fifo_queues_messages_as_sqs_does() -> None:
    """A ``fifo=True`` queue's batch as SQS delivers it: a ``.fifo`` ARN and each message's
    group (the event's ``partitionkey``, as ``pf.send`` sets MessageGroupId), deduplication id
    (the event id) and sequence number, so a failure holds the rest of its group."""
    from portable_fn.adapter import load_adapter

    app = pf.App("ledger")
    ran: list[tuple[int, Any]] = []

    @app.queue("ledger", fifo=True)
    def ledger(event: pf.CloudEvent) -> None:
        ran.append((event.data["n"], event.extensions.get("partitionkey")))
        if event.data["n"] == 1:
            raise ValueError("bad")

    groups = ["a", "a", "a", "b", None]
    events = [
        pf.CloudEvent.create(
            type="t", source="s", data={"n": n}, extensions={"partitionkey": g} if g else {}
        )
        for n, g in enumerate(groups)
    ]
    assert load_adapter("aws").harness().deliver(app, "ledger", events) == [
        True, False, False, True, True
    ]
    assert ran == [(0, "a"), (1, "a"), (3, "b"), (4, None)]


def test_native_fifo_records_carry_what_sqs_sets() -> None:
    from portable_fn_aws import native

    first, second = (
        native.sqs_record("{}", queue="q.fifo", group="g", sequence=i, deduplication_id=f"d{i}")
        for i in (1, 2)
    )
    assert first["eventSourceARN"].endswith(":q.fifo")
    assert first["attributes"]["MessageDeduplicationId"] == "d1"
    assert int(first["attributes"]["SequenceNumber"]) < int(second["attributes"]["SequenceNumber"])
    assert len(first["attributes"]["SequenceNumber"]) == 20  # as SQS writes it


def test_a_batch_message_finds_its_record_in_ctx_native_by_its_id() -> None:
    """``ctx.native`` is the whole batch (the messages share a context per receive count, see
    ``_batches``); the README's recipe finds a foreign producer's message attributes there."""
    from portable_fn_aws import native

    app = pf.App("attrs")
    seen: list[Any] = []

    @app.queue("inbox")
    def inbox(event: pf.CloudEvent, ctx: pf.Context) -> None:
        record = next(r for r in ctx.native["Records"] if r["messageId"] == ctx.event.id)
        seen.append(record["messageAttributes"]["tenant"]["stringValue"])

    records = [native.sqs_record(f'{{"n": {i}}}', queue="inbox") for i in range(3)]
    for i, record in enumerate(records):
        record["messageAttributes"] = {"tenant": {"stringValue": f"t{i}", "dataType": "String"}}
    assert lambda_handler(app, "inbox")({"Records": records}, CTX) == {"batchItemFailures": []}
    assert seen == ["t0", "t1", "t2"]
