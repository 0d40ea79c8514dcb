# SPDX-License-Identifier: Apache-2.0
"""Inbound variants real AWS events take that the SAM samples do not show (audit findings).

Each fixture in events/ is an AWS documented sample, changed only where the variant differs;
the test's docstring names the page and the evidence for the variant.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

import portable_fn as pf
from portable_fn.errors import EventDecodeError
from portable_fn.idempotency.memory import MemoryStore
from portable_fn_aws import (
    alb,
    apigw_v1,
    apigw_v2,
    dynamodb,
    function_url,
    kinesis,
    lambda_handler,
    s3,
    sqs,
)

from aws_fixtures import FakeLambdaContext, load

CAFE = "/files/summer photos/café.jpg"


@pytest.mark.parametrize(
    ("fixture", "codec", "path"),
    [
        # REST API proxy: `path` arrives percent-encoded.
        ("rest_encoded_path.json", apigw_v1, CAFE),
        # ALB: path passed exactly as the client sent it.
        ("alb_encoded_path.json", alb, CAFE),
        # Function URL: rawPath percent-encoded.
        ("function_url_encoded_path.json", function_url, CAFE),
        # HTTP API (2.0 and 1.0): the path arrives decoded already; a literal "%41" (the client
        # sent %2541) must not be decoded a second time into "A".
        ("http_api_v2_decoded_path.json", apigw_v2, "/files/%41"),
        ("http_api_v1_decoded_path.json", apigw_v1, "/files/%41"),
        # HTTP API named stage: the stage's own root is "/".
        ("http_api_v2_stage_root.json", apigw_v2, "/"),
    ],
)
def test_request_path_is_decoded_exactly_once(fixture: str, codec: Any, path: str) -> None:
    """``Request.path`` is decoded (portable_fn.http.Request), whichever source sent it.

    Samples: https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format
    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
    https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html
    Which source decodes: REST keeps `path` encoded (localstack/localstack#7728, a parity fix
    against AWS); REST, function URLs and ALB preserve the encoding while HTTP API decodes
    `rawPath` and 1.0 `path` (live captures cited in middleapi/standard-server#93;
    honojs/hono#2156). A named HTTP API stage prefixes rawPath, its root being ``/<stage>``.
    """
    event = load(fixture)
    assert codec.matches(event)
    assert codec.to_request(event).path == path


def test_encoded_paths_route_the_same_through_every_source() -> None:
    """The same route answers the same request whether it came through REST, ALB or a URL."""
    app = pf.App("paths")

    @app.http("/files/{folder}/{name}")
    def show(req: pf.Request) -> dict[str, Any]:
        return dict(req.path_params)

    handler = lambda_handler(app, "show")
    for fixture in (
        "rest_encoded_path.json",
        "alb_encoded_path.json",
        "function_url_encoded_path.json",
    ):
        out = handler(load(fixture), FakeLambdaContext())
        assert out["statusCode"] == 200, fixture
        assert out["body"] == '{"folder":"summer photos","name":"café.jpg"}', fixture


def test_http_api_stage_root_routes_to_root() -> None:
    """https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
    with a named stage: GET https://<api>/prod arrives as rawPath ``/prod``."""
    app = pf.App("root")

    @app.http("/")
    def home(req: pf.Request) -> str:
        return "home"

    out = lambda_handler(app, "home")(load("http_api_v2_stage_root.json"), FakeLambdaContext())
    assert (out["statusCode"], out["body"]) == (200, "home")


def test_s3_multi_object_delete_records_have_distinct_ids() -> None:
    """One DeleteObjects request removing two keys: S3 sends a notification per key, each with
    the request's x-amz-request-id and x-amz-id-2 (the request ids name the request, not the
    object; localstack/localstack#12153 reports real S3 notifying every key of DeleteObjects).
    CloudEvents: source + id MUST be unique per distinct event, and the idempotency guard keys
    on them, so the two deletions must not share an id.
    Structure: https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
    """
    first, second = (s3.from_record(r) for r in load("s3_delete_objects.json")["Records"])
    assert first is not None and second is not None
    assert first.source == second.source == "aws:s3.us-east-1.uploads"
    assert first.id != second.id
    # The adapter's id still leads with the request ids, and a redelivery keeps its id.
    assert first.id.startswith("D82B88E5F771F645.vlR7PnpV2Ce81l0PRw6jlUpck7Jo5ZsQjryTjKlc5aLWGVH")
    again = s3.from_record(load("s3_delete_objects.json")["Records"][0])
    assert again is not None and again.id == first.id


def test_idempotent_storage_function_sees_every_key_of_a_multi_object_delete() -> None:
    """The silent drop the shared id caused: an ``idempotent`` storage function ran the first
    key of a DeleteObjects request and acknowledged the second as a duplicate."""
    app = pf.App("dedupe")
    app.use_idempotency_store(MemoryStore())
    seen: list[str] = []

    @app.storage("uploads", on=("deleted",), idempotent=True)
    def removed(event: pf.CloudEvent) -> None:
        seen.append(event.data["key"])

    handler = lambda_handler(app, "removed")
    for record in load("s3_delete_objects.json")["Records"]:
        handler({"Records": [record]}, FakeLambdaContext())
    handler({"Records": [load("s3_delete_objects.json")["Records"][0]]}, FakeLambdaContext())
    assert seen == ["reports/2026/q1.csv", "reports/2026/q2.csv"]


@pytest.mark.parametrize(
    "name", ["LifecycleExpiration:Delete", "LifecycleExpiration:DeleteMarkerCreated"]
)
def test_s3_lifecycle_expiration_is_a_deletion(name: str) -> None:
    """S3 Lifecycle deleting an object notifies ``LifecycleExpiration:*``, not
    ``ObjectRemoved:*`` (a separate event type to subscribe to), and it is a deletion as much
    as DeleteObject is: EventBridge sends both as ``Object Deleted``, and GCS and Blob Storage
    fire their deleted events for lifecycle deletions too. Acknowledging it unrun meant an
    ``on=("deleted",)`` function never heard of objects its bucket's lifecycle removed.
    Sample: https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-configure-notification.html
    """
    batch = load("s3_lifecycle_expiration.json")
    batch["Records"][0]["eventName"] = name
    event = s3.from_record(batch["Records"][0])
    assert event is not None and event.type == "com.amazonaws.s3." + name
    assert event.data == {
        "bucket": "uploads",
        "key": "expiration/delete",
        "size": None,
        "etag": None,
        "action": "deleted",
    }
    app = pf.App("expiry")
    seen: list[str] = []

    @app.storage("uploads", on=("deleted",))
    def removed(event: pf.CloudEvent) -> None:
        seen.append(event.data["key"])

    @app.storage("uploads", on=("created",))
    def added(event: pf.CloudEvent) -> None:
        seen.append("created?")

    lambda_handler(app, "removed")(batch, FakeLambdaContext())
    lambda_handler(app, "added")(batch, FakeLambdaContext())
    assert seen == ["expiration/delete"]


def test_kinesis_enhanced_fan_out_source_is_the_stream() -> None:
    """Read through an enhanced fan-out consumer, a record's ``eventSourceARN`` is the
    consumer's ARN (``<stream ARN>/consumer/<name>:<creation epoch>``). The event happened in
    the stream: ``source`` is the stream's ARN however the function reads it, so switching to
    fan-out (or re-registering the consumer, which changes its ARN) keeps ``source`` + ``id``,
    the idempotency key, the same for the same record.
    https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html (enhanced fan-out)
    """
    stream = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"
    record = load("sam_kinesis.json")["Records"][0]
    plain = kinesis.from_record({**record, "eventSourceARN": stream})
    fan_out = kinesis.from_record(
        {**record, "eventSourceARN": f"{stream}/consumer/clicks-fn:1700000000"}
    )
    assert [e.source for e in fan_out] == [e.source for e in plain] == [stream]
    assert fan_out == plain


def test_dynamodb_binary_key_subject_is_portable_json() -> None:
    """A table keyed by a Binary attribute: ``subject`` (the keys as compact sorted JSON) must
    be JSON another language can read, with the bytes as base64 text as DynamoDB's own JSON
    writes them, not Python's ``b'...'`` repr.
    Record: https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html#services-ddb-event-example
    B values: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_AttributeValue.html
    """
    (event,) = dynamodb.from_record(load("dynamodb_binary_key.json")["Records"][0])
    assert event.type == "com.amazonaws.dynamodb.REMOVE"
    assert event.subject == '{"Id":101,"Thumbprint":"dGhpcyB0ZXh0IGlzIGJhc2U2NC1lbmNvZGVk"}'
    assert event.data["keys"]["Thumbprint"] == b"this text is base64-encoded"
    assert event.data["old_image"]["Tags"] == ["a", "b"]
    assert event.data["old_image"]["Gone"] is None
    assert "new_image" not in event.data


@pytest.mark.parametrize(
    "value",
    [
        {"SS": "abc"},  # a string, not a list: read as ["a", "b", "c"] before
        {"NS": "12"},
        {"L": {"S": "x"}},
        {"M": ["x"]},
        {"S": 5},
        {"BOOL": "true"},
        {"NULL": False},
        {"B": "not base64!"},
        {"N": 1.5},  # a JSON number, not the API's string: truncated to 1 before
        {"N": True},  # read as 1 before
        {"NS": [7]},
        {"N": "NaN"},  # DynamoDB numbers are finite: these parsed as floats before
        {"N": "Infinity"},
        {"NS": ["-inf"]},
    ],
)
def test_dynamodb_malformed_attribute_values_are_typed_errors(value: dict[str, Any]) -> None:
    """Each AttributeValue type has one documented shape
    (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_AttributeValue.html);
    anything else is an EventDecodeError, never silently read as something else."""
    record = copy.deepcopy(load("dynamodb_binary_key.json")["Records"][0])
    record["dynamodb"]["OldImage"]["Broken"] = value
    with pytest.raises(EventDecodeError):
        dynamodb.from_record(record)


def test_alb_single_value_response_joins_repeated_headers() -> None:
    """A target group without multi-value headers keeps one value per header name ("the load
    balancer uses the last value",
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html#multi-value-headers).
    A list-valued header (Vary, Link, Cache-Control) is one field line joined by commas
    (RFC 9110 section 5.3), so joining keeps every value; Set-Cookie cannot be joined and keeps
    the ALB's own rule, the last."""
    response = pf.Response(
        status=200,
        headers=[
            ("vary", "accept"),
            ("vary", "cookie"),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
        ],
        body=b"ok",
    )
    out = alb.from_response(response, load("alb_encoded_path.json"))
    assert out["headers"] == {"vary": "accept, cookie", "set-cookie": "b=2"}


def _bus_app() -> tuple[pf.App, list[pf.CloudEvent]]:
    app = pf.App("bus")
    seen: list[pf.CloudEvent] = []

    @app.event("Object*", source="aws.s3")
    def s3_objects(event: pf.CloudEvent) -> None:
        seen.append(event)

    @app.event("AWS*", source="aws.s3")
    def s3_api_calls(event: pf.CloudEvent) -> None:
        seen.append(event)

    @app.queue("s3-events")
    def s3_queue(event: pf.CloudEvent) -> None:
        seen.append(event)

    return app, seen


def test_s3_bus_events_other_than_created_deleted_reach_event_functions() -> None:
    """S3 sends ``Object Restore Initiated/Completed/Expired``, ``Object Tags Added/Deleted``,
    ``Object ACL Updated``, ``Object Storage Class Changed``... to EventBridge beside
    ``Object Created``/``Object Deleted``
    (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-s3.html; sample:
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html). An ``@app.event``
    function routed to them by ``detail-type`` got the rule it asked for from the template,
    and every such event was acknowledged without running it; so was one a rule put on a queue.
    They are bus events by AWS's CloudEvents recipe; storage functions still skip them."""
    app, seen = _bus_app()
    native = load("eventbridge_s3_restore.json")
    assert lambda_handler(app, "s3_objects")(native, FakeLambdaContext()) is None
    (event,) = seen
    assert (event.id, event.source, event.type) == (
        "6924de0d-13e2-6bbf-c0c1-b903b753565e",
        "aws.s3",
        "Object Restore Initiated",
    )
    assert event.data == native["detail"] and event.time is not None

    seen.clear()  # EventBridge -> SQS (a rule targeting a queue): the body is the event
    record = load("sam_sqs.json")["Records"][0]
    record["body"] = json.dumps(native)
    out = lambda_handler(app, "s3_queue")({"Records": [record]}, FakeLambdaContext())
    assert out == {"batchItemFailures": []}
    assert [e.type for e in seen] == ["Object Restore Initiated"]


def test_s3_cloudtrail_api_calls_reach_event_functions() -> None:
    """With CloudTrail data events on, S3's API calls reach the default bus with
    ``source: aws.s3`` and ``detail-type: AWS API Call via CloudTrail``
    (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-s3.html#event-ref-s3-events-via-CT,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html).
    Its source sent it to the S3 storage decoder, which has no object to read there, and it
    was acknowledged unrun. The S3 sample's envelope, with CloudTrail's detail-type and record."""
    app, seen = _bus_app()
    native = load("eventbridge_s3_restore.json")
    native["detail-type"] = "AWS API Call via CloudTrail"
    native["detail"] = {
        "eventVersion": "1.08",
        "eventSource": "s3.amazonaws.com",
        "eventName": "PutObjectTagging",
        "awsRegion": "ca-central-1",
        "requestParameters": {"bucketName": "uploads", "key": "photos/archived.jpg"},
        "eventType": "AwsApiCall",
        "eventCategory": "Data",
    }
    lambda_handler(app, "s3_api_calls")(native, FakeLambdaContext())
    assert [(e.type, e.source, e.data) for e in seen] == [
        ("AWS API Call via CloudTrail", "aws.s3", native["detail"])
    ]


def test_storage_functions_still_skip_s3_bus_events_that_are_not_object_changes() -> None:
    """The other half of the two tests above: a storage function never runs for them."""
    app = pf.App("storage")
    seen: list[Any] = []

    @app.storage("uploads", on=("created", "deleted"))
    def changed(event: pf.CloudEvent) -> None:
        seen.append(event)

    for detail_type in ("Object Restore Completed", "Object Tags Added", "Object ACL Updated"):
        native = load("eventbridge_s3_restore.json")
        native["detail-type"] = detail_type
        assert lambda_handler(app, "changed")(native, FakeLambdaContext()) is None
    assert seen == []


XRAY_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
LAMBDA_TRACE = "Root=1-11111111-222222222222222222222222;Parent=3333333333333333;Sampled=0"


def test_sqs_message_continues_its_producers_xray_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A message sent by an X-Ray traced producer carries ``attributes.AWSTraceHeader``
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html, the header as
    https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader
    shows it): the handler runs in that trace, not the Lambda invocation's, unless the message
    carries a W3C traceparent of its own; a malformed header is ignored, never a failure."""
    from portable_fn_aws import native

    monkeypatch.setenv("_X_AMZN_TRACE_ID", LAMBDA_TRACE)
    app = pf.App("traced")
    seen: list[tuple[Any, str | None, str]] = []

    @app.queue("orders")
    def orders(event: pf.CloudEvent, ctx: pf.Context) -> None:
        from portable_fn._invocation import current

        invocation = current()
        assert invocation is not None
        seen.append((event.data, ctx.trace_id, invocation.traceparent))

    own = pf.CloudEvent.create(
        type="t", source="/s", data={"n": 2},
        extensions={"traceparent": "00-6e0c63257de34c92bf9efcd03927272e-00f067aa0ba902b7-01"},
    )
    headers: list[Any] = [XRAY_HEADER, XRAY_HEADER, "garbage", 12, None]
    bodies = ['{"n": 1}', pf.events.to_json(own).decode(), '{"n": 3}', '{"n": 4}', '{"n": 5}']
    records = []
    for body, header in zip(bodies, headers, strict=True):
        record = native.sqs_record(body, queue="orders")
        if header is not None:
            record["attributes"]["AWSTraceHeader"] = header
        records.append(record)
    result = lambda_handler(app, "orders")({"Records": records}, FakeLambdaContext())
    assert result == {"batchItemFailures": []}
    assert seen == [
        ({"n": 1}, "5759e988bd862e3fe1be46a994272793",
         "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"),
        ({"n": 2}, "6e0c63257de34c92bf9efcd03927272e",
         "00-6e0c63257de34c92bf9efcd03927272e-00f067aa0ba902b7-01"),
        ({"n": 3}, "11111111222222222222222222222222",
         "00-11111111222222222222222222222222-3333333333333333-00"),
        ({"n": 4}, "11111111222222222222222222222222",
         "00-11111111222222222222222222222222-3333333333333333-00"),
        ({"n": 5}, "11111111222222222222222222222222",
         "00-11111111222222222222222222222222-3333333333333333-00"),
    ]


def _pipes_kinesis_record() -> dict[str, Any]:
    """The sample's Kinesis record as EventBridge Pipes sends it: the ``kinesis`` fields at the
    top level beside the envelope's (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-kinesis.html)."""
    record = load("sam_kinesis.json")["Records"][0]
    flat = {key: value for key, value in record.items() if key != "kinesis"}
    flat.update(record["kinesis"])
    return flat


def test_eventbridge_pipes_batches_are_json_arrays_of_the_sources_records() -> None:
    """EventBridge Pipes invokes a Lambda target with the batch as a JSON array, even of one
    record, not ``{"Records": [...]}``
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-batching-concurrency.html);
    SQS and DynamoDB records are the event source mapping's
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-sqs.html,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-dynamodb.html), Kinesis
    records flattened (eb-pipes-kinesis.html). A Lambda target reports partial failures in
    ``batchItemFailures`` as an event source mapping does."""
    from portable_fn_aws import native

    app = pf.App("piped")
    seen: list[Any] = []

    @app.queue("orders")
    def orders(event: pf.CloudEvent) -> None:
        if event.data == {"n": 2}:
            raise ValueError("bad order")
        seen.append(event.data)

    @app.stream("clicks")
    def clicks(event: pf.CloudEvent) -> None:
        seen.append((event.type, event.id, event.extensions.get("partitionkey"), event.data))

    good, bad = (native.sqs_record(json.dumps({"n": n}), queue="orders") for n in (1, 2))
    result = lambda_handler(app, "orders")([good, bad], FakeLambdaContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}
    assert seen == [{"n": 1}]

    seen.clear()
    kinesis_record = _pipes_kinesis_record()
    dynamodb_record = load("sam_dynamodb.json")["Records"][0]
    assert lambda_handler(app, "clicks")([kinesis_record], FakeLambdaContext()) == {
        "batchItemFailures": []
    }
    assert lambda_handler(app, "clicks")([dynamodb_record], FakeLambdaContext()) == {
        "batchItemFailures": []
    }
    assert seen == [
        ("com.amazonaws.kinesis.record", kinesis_record["eventID"],
         kinesis_record["partitionKey"], "Hello, this is a test 123."),
        ("com.amazonaws.dynamodb.INSERT", dynamodb_record["eventID"], None,
         {"keys": {"Id": 101}, "new_image": {"Message": "New item!", "Id": 101}}),
    ]


def test_an_unknown_array_names_its_shape() -> None:
    """A Pipes target whose input transformer made something else: a typed error saying what
    arrived (an array, its items' keys), never a crash in the adapter."""
    app = pf.App("piped")

    @app.queue("orders")
    def orders(event: pf.CloudEvent) -> None: ...

    with pytest.raises(EventDecodeError, match=r"JSON array.*messageBody"):
        lambda_handler(app, "orders")([{"messageBody": "x"}], FakeLambdaContext())


def _authorizer_v1() -> dict[str, Any]:
    """A REST API REQUEST authorizer's input: the request's fields plus ``type`` and
    ``methodArn`` (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-lambda-authorizer-input.html)."""
    event = load("sam_apigw_v1.json")
    event.update(
        type="REQUEST", methodArn="arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/x"
    )
    return event


def _authorizer_v2() -> dict[str, Any]:
    """An HTTP API authorizer's input, payload 2.0: the request's fields plus ``type``,
    ``routeArn`` and ``identitySource``
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html)."""
    event = load("sam_apigw_v2.json")
    event.update(
        type="REQUEST",
        routeArn="arn:aws:execute-api:us-east-1:123456789012:abc/$default/GET/x",
        identitySource=["token"],
    )
    return event


@pytest.mark.parametrize("build", [_authorizer_v1, _authorizer_v2])
def test_an_authorizer_event_never_runs_the_http_handler(build: Any) -> None:
    """An HTTP function set as a Lambda authorizer gets the request it guards: answering it
    as the request would run the handler twice per call (the authorizer, then the route). A
    JSON 400 naming the shape, without running anything."""
    app = pf.App("guarded")
    ran: list[Any] = []

    @app.http("/{proxy+}", methods=["GET", "POST"])
    def route(request: pf.Request) -> dict[str, bool]:
        ran.append(request.path)
        return {"ok": True}

    result = lambda_handler(app, "route")(build(), FakeLambdaContext())
    assert ran == []
    assert result["statusCode"] == 400
    assert "authorizer" in json.loads(result["body"])["error"]["message"]


@pytest.mark.parametrize(
    "scheduler_input",
    [
        {"id": "nightly-report", "time": "02:00", "source": "billing"},
        {"id": 7, "detail-type": {"kind": "report"}, "resources": ["reports"]},
    ],
)
def test_scheduler_input_is_not_read_as_an_eventbridge_envelope(
    scheduler_input: dict[str, Any],
) -> None:
    """EventBridge Scheduler invokes its Lambda target with the schedule's input as it is, no
    envelope (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html;
    the input is the user's own JSON, at most with the context attributes substituted:
    https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html).
    Its ``id``/``time``/``source``/``detail-type`` were read as a rule's ``Scheduled Event``:
    every run had the input's one ``id`` (the same each time: CloudEvents' duplicate), its own
    ``source``, a ``type`` made of a dict, and a ``time`` that is no timestamp sent the run to
    the on-failure queue, never run. Only an event with EventBridge's envelope is read so.

    The id is the invocation's request id: one per run, and the same on Lambda's retries of an
    asynchronous invocation, which keep it (a new id per attempt defeated an idempotency guard
    keyed on the event id)."""
    app = pf.App("nightly")
    seen: list[pf.CloudEvent] = []

    @app.schedule("rate(1 day)")
    def nightly(event: pf.CloudEvent) -> None:
        seen.append(event)

    handler = lambda_handler(app, "nightly")
    tonight, retried, tomorrow = FakeLambdaContext(), FakeLambdaContext(), FakeLambdaContext()
    tomorrow.aws_request_id = "3f1c6a5e-0000-4000-8000-000000000002"
    for context in (tonight, retried, tomorrow):
        assert handler(copy.deepcopy(scheduler_input), context) is None
    first, retry, second = seen
    assert first.id == retry.id == FakeLambdaContext.aws_request_id  # Lambda's retry: one event
    assert second.id == tomorrow.aws_request_id  # the next run: another
    for event in seen:
        assert (event.source, event.type, event.subject) == ("aws.events", "Scheduled Event", None)
        assert event.time is not None and event.data["expression"] == "rate(1 day)"


def test_an_sqs_record_a_pipe_sent_on_to_a_queue_is_the_message_it_carries() -> None:
    """An EventBridge pipe from one queue to another, without an input transformer, sends each
    source record as it is (``messageId``, ``body``, ``attributes``..., ``eventSource``
    ``aws:sqs``: the event shape of https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-sqs.html)
    as the target message's body (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-event-target.html).
    The queue function got that record as the data of a message from the second queue: an event
    ``pf.publish`` sent did not arrive as itself (docs/event-mapping.md, rule 1), and a plain
    message arrived wrapped in the first queue's record. Fixture: sqs_cloudevent.json's record
    (published) and the SAM sample's (plain), each the body of the SAM sample."""
    app = pf.App("piped")
    seen: list[pf.CloudEvent] = []

    @app.queue("orders")
    def orders(event: pf.CloudEvent) -> None:
        seen.append(event)

    published = load("sqs_cloudevent.json")["Records"][0]
    plain = load("sam_sqs.json")["Records"][0]
    batch = []
    for n, inner in enumerate((published, plain)):
        outer = copy.deepcopy(load("sam_sqs.json")["Records"][0])
        outer["messageId"] = f"outer-{n}"
        outer["eventSourceARN"] = "arn:aws:sqs:us-east-1:123456789012:piped"
        outer["body"] = json.dumps(inner)
        batch.append(outer)
    out = lambda_handler(app, "orders")({"Records": batch}, FakeLambdaContext())
    assert out == {"batchItemFailures": []}
    first, second = seen
    assert (first.id, first.type, first.source) == (
        "6f1c2a1e-5b7d-4c41-9a55-0f3e6b1d2c9a",
        "com.example.order.created",
        "/portable-fn/shop/create_order",
    )
    assert first.data == {"order_id": "o-1", "sku": "book"}
    assert (second.id, second.source, second.data) == (
        plain["messageId"],
        plain["eventSourceARN"],
        "Hello from SQS!",
    )


def test_a_body_of_json_nested_past_the_parser_is_its_text_and_fails_nothing_else() -> None:
    """A body may be JSON nested deeper than Python's parser recurses (RFC 8259 section 9 lets
    a parser limit nesting; 40 kB of brackets fit SQS's 256 KiB). It is read as any body that
    does not parse, its text (as on Azure and GCP): the ``RecursionError`` escaped the batch,
    so no record was reported and the whole batch failed on every receive."""
    app = pf.App("deep")
    seen: list[Any] = []

    @app.queue("orders")
    def orders(event: pf.CloudEvent) -> None:
        seen.append(event.data)

    deep = "[" * 20_000 + "]" * 20_000
    records = []
    for n, body in enumerate((deep, json.dumps({"a": 1}))):
        record = copy.deepcopy(load("sam_sqs.json")["Records"][0])
        record["messageId"], record["body"] = f"m-{n}", body
        records.append(record)
    out = lambda_handler(app, "orders")({"Records": records}, FakeLambdaContext())
    assert out == {"batchItemFailures": []}
    assert seen == [deep, {"a": 1}]


def test_an_s3_restore_notification_through_sqs_runs_the_queue_function() -> None:
    """S3 notifies an SQS queue of a restore completing (the bucket's notification names the
    queue, https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html):
    the queue function gets it, where the batch was acknowledged without running anything. A
    storage function given the same record declines it with an INFO line (no ``action``)."""
    app = pf.App("restores")
    seen: list[pf.CloudEvent] = []

    @app.queue("restores")
    def restores(event: pf.CloudEvent) -> None:
        seen.append(event)

    @app.storage("archive")
    def archive(event: pf.CloudEvent) -> None:
        seen.append(event)

    record = load("sam_s3_put.json")["Records"][0]
    record["eventName"] = "ObjectRestore:Completed"
    message = copy.deepcopy(load("sqs_s3.json")["Records"][0])
    message["body"] = json.dumps({"Records": [record]})
    out = lambda_handler(app, "restores")({"Records": [message]}, FakeLambdaContext())
    assert out == {"batchItemFailures": []}
    (event,) = seen
    assert event.type == "com.amazonaws.s3.ObjectRestore:Completed"
    assert event.data["eventName"] == "ObjectRestore:Completed"
    lambda_handler(app, "archive")({"Records": [record]}, FakeLambdaContext())
    assert len(seen) == 1


_TOPIC = "arn:aws:sns:us-east-2:123456789012:MyTopic"
_TOKEN = "2336412f37fb687f5d51e6e2425c464de12884ef9cdbd56b1ab1b8c6ea2bb3ce"


def _sns_control(kind: str) -> dict[str, Any]:
    """An SNS control message as https://docs.aws.amazon.com/sns/latest/dg/http-subscription-confirmation-json.html
    and .../http-unsubscribe-confirmation-json.html show it (the URLs' host and path as there)."""
    return {
        "Type": kind,
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": _TOKEN,
        "TopicArn": _TOPIC,
        "Message": f"You have chosen to subscribe to the topic {_TOPIC}.\nTo confirm the "
        "subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": "https://sns.us-east-2.amazonaws.com/?Action=ConfirmSubscription"
        f"&TopicArn={_TOPIC}&Token={_TOKEN}",
        "Timestamp": "2012-04-26T20:45:04.751Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fU"
        "Qvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB"
        "6jI9b5+gLPoBc1Q=",
        "SigningCertURL": "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-"
        "f3ecfb7224c7233fe7bb5f59f96de52f.pem",
    }


def test_an_sns_subscription_confirmation_in_a_queue_is_logged_with_how_to_confirm_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A topic in another account subscribing a queue sends the queue a
    ``SubscriptionConfirmation`` (https://docs.aws.amazon.com/sns/latest/dg/sns-send-message-to-sqs-cross-account.html):
    nothing is delivered until its owner confirms it. It reached the queue function as the data
    of a plain message, which failed the handler until the message was dead-lettered and the
    subscription silently stayed unconfirmed. It is acknowledged without running the handler,
    with a WARNING line holding the topic and the command that confirms it; an
    ``UnsubscribeConfirmation`` likewise, at INFO. The batch's other messages run as ever."""
    app = pf.App("confirm")
    seen: list[Any] = []

    @app.queue("orders")
    def orders(event: pf.CloudEvent) -> None:
        seen.append(event.data)

    batch = []
    for n, body in enumerate((
        json.dumps(_sns_control("SubscriptionConfirmation")),
        json.dumps({"sku": "book"}),
        json.dumps(_sns_control("UnsubscribeConfirmation")),
    )):
        record = copy.deepcopy(load("sam_sqs.json")["Records"][0])
        record["messageId"] = f"m-{n}"
        record["body"] = body
        batch.append(record)
    out = lambda_handler(app, "orders")({"Records": batch}, FakeLambdaContext())
    assert out == {"batchItemFailures": []}
    assert seen == [{"sku": "book"}]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    confirm, unsubscribed = (line for line in lines if line.get("topic_arn") == _TOPIC)
    assert confirm["level"] == "WARNING" and "not confirmed" in confirm["message"]
    assert confirm["confirm_with"] == (
        f"aws sns confirm-subscription --topic-arn {_TOPIC} --token {_TOKEN}"
    )
    assert confirm["event_id"] == "m-0" and confirm["function"] == "orders"
    assert unsubscribed["level"] == "INFO" and unsubscribed["event_id"] == "m-2"


def test_an_sns_fifo_notification_in_a_fifo_queue_keeps_the_queues_order() -> None:
    """An SNS FIFO topic delivers to SQS FIFO queues only
    (https://docs.aws.amazon.com/sns/latest/dg/fifo-topic-subscription-types.html), wrapped in
    the JSON notification (https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html)
    unless raw delivery is on. The unwrapped event lost the record's MessageGroupId and
    SequenceNumber that a plain message of the same queue carries as ``partitionkey`` and
    ``sequence``. An event portable-fn published arrives as itself (mapping rule 1).
    Fixture: sqs_fifo.json's second record, its body the notification."""
    record = load("sqs_fifo.json")["Records"][1]
    notification = {
        "Type": "Notification",
        "MessageId": "c3a0d8c9-2ad6-5f8a-8d3c-6b0f8e4d2a11",
        "SequenceNumber": "10000000000000003000",
        "TopicArn": "arn:aws:sns:us-east-2:123456789012:orders.fifo",
        "Message": json.dumps({"sku": "book"}),
        "Timestamp": "2019-11-08T22:18:30.774Z",
        "UnsubscribeURL": "https://sns.us-east-2.amazonaws.com/?Action=Unsubscribe",
    }
    record["body"] = json.dumps(notification)
    (event,) = sqs.from_record(record)
    assert event.data == {"sku": "book"}
    assert dict(event.extensions) == {
        "partitionkey": "customer-2", "sequence": "18849496460467696129"
    }
    published = json.loads(load("sqs_cloudevent.json")["Records"][0]["body"])
    record["body"] = json.dumps({**notification, "Message": json.dumps(published)})
    (event,) = sqs.from_record(record)
    assert dict(event.extensions) == {"traceparent": published["traceparent"]}


def test_a_dynamodb_ttl_deletion_says_it_expired() -> None:
    """Items the Time to Live process deletes carry ``userIdentity`` ``{"type": "Service",
    "principalId": "dynamodb.amazonaws.com"}``
    (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Record.html):
    the REMOVE event was the same as a user's DeleteItem, and a handler reacting to expiry
    (the common TTL pattern) could not tell them apart. ``data["expired"]`` is True for it,
    absent otherwise. Fixture: the SAM sample's REMOVE record."""
    (removed,) = [r for r in load("sam_dynamodb.json")["Records"] if r["eventName"] == "REMOVE"]
    (by_user,) = dynamodb.from_record(removed)
    assert "expired" not in by_user.data
    ttl = {**removed, "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"}}
    (expired,) = dynamodb.from_record(ttl)
    assert expired.data == {**by_user.data, "expired": True}
    other = {**removed, "userIdentity": {"type": "Service", "principalId": "other.amazonaws.com"}}
    assert "expired" not in dynamodb.from_record(other)[0].data


def test_an_intelligent_tiering_notification_names_its_object_get_object() -> None:
    """S3 sends an ``IntelligentTiering`` notification with the object under ``s3.get_object``,
    not ``s3.object`` (a captured one: aws-powertools/powertools-lambda-python#7443; the event
    type: https://docs.aws.amazon.com/AmazonS3/latest/userguide/intelligent-tiering-managing.html).
    It failed to decode ("field 'object': is missing"): through SQS every such message went to
    the dead-letter queue as undecodable, and a storage function raised on it. Now the queue
    function gets it as any other non-storage S3 event (the record as data), and a storage
    function declines it with an INFO line, as it declines a restore."""
    app = pf.App("tiering")
    seen: list[pf.CloudEvent] = []

    @app.queue("tiering")
    def tiering(event: pf.CloudEvent) -> None:
        seen.append(event)

    @app.storage("uploads")
    def uploads(event: pf.CloudEvent) -> None:
        seen.append(event)

    native = load("s3_intelligent_tiering.json")
    message = copy.deepcopy(load("sqs_s3.json")["Records"][0])
    message["body"] = json.dumps(native)
    out = lambda_handler(app, "tiering")({"Records": [message]}, FakeLambdaContext())
    assert out == {"batchItemFailures": []}
    (event,) = seen
    assert event.type == "com.amazonaws.s3.IntelligentTiering"
    assert event.subject == "reports/2025/q4 summary.csv"  # decoded once, as any S3 key
    assert event.id.endswith("/reports/2025/q4+summary.csv/0067C3D8A1E2F3B4C5/IntelligentTiering")
    assert event.data["intelligentTieringEventData"] == {"destinationAccessTier": "ARCHIVE_ACCESS"}
    assert lambda_handler(app, "uploads")(native, FakeLambdaContext()) is None
    assert len(seen) == 1
