# SPDX-License-Identifier: Apache-2.0
"""Outbound against moto's server on 127.0.0.1: pf.send / pf.publish / pf.emit from handlers
land in SQS, SNS and EventBridge as structured CloudEvents and come back in as themselves; a
queue configured as the generated template configures it dead-letters after max_retries."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

import portable_fn as pf
from portable_fn.errors import PublishError
from portable_fn.events import from_json
from portable_fn.testing import http_request
from portable_fn_aws import lambda_handler, native, sqs
from portable_fn_aws._redelivery import Redelivery
from portable_fn_aws.publisher import AwsPublisher

from aws_fixtures import FakeLambdaContext

CTX = FakeLambdaContext()


def _app() -> tuple[pf.App, list[pf.CloudEvent]]:
    app = pf.App("pub")
    seen: list[pf.CloudEvent] = []

    @app.http("/go", methods=["POST"])
    def go(req: pf.Request) -> dict[str, str]:
        sent = pf.send("work", {"n": 1}, type="com.example.work")
        published = pf.publish("news", {"n": 2}, type="com.example.news")
        emitted = pf.emit("com.example.invoice.paid", {"n": 3})
        return {"sent": sent.id, "published": published.id, "emitted": emitted.id}

    @app.queue("work")
    def work(event: pf.CloudEvent) -> None:
        seen.append(event)

    @app.topic("news")
    def news(event: pf.CloudEvent) -> None:
        seen.append(event)

    @app.event("com.example.invoice.paid")
    def paid(event: pf.CloudEvent) -> None:
        seen.append(event)

    return app, seen


def _receive(queue_url: str) -> list[dict[str, Any]]:
    client = boto3.client("sqs")
    messages = client.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=1
    )
    return list(messages.get("Messages", []))


def _as_lambda_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """SQS messages as the Lambda event source mapping hands them to the function."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def _queue(name: str, **attributes: str) -> tuple[str, str]:
    client = boto3.client("sqs")
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return url, arn["Attributes"]["QueueArn"]


def test_send_publish_emit_round_trip(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    work_url, work_arn = _queue("work")
    inbox_url, inbox_arn = _queue("news-inbox")
    bus_url, bus_arn = _queue("bus-target")
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="news")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)  # not raw: two envelopes
    events = boto3.client("events")
    events.put_rule(
        Name="paid", EventPattern=json.dumps({"detail-type": ["com.example.invoice.paid"]})
    )
    events.put_targets(Rule="paid", Targets=[{"Id": "q", "Arn": bus_arn}])
    # What the template passes: the queue URL and topic ARN in environment variables.
    monkeypatch.setenv("PF_QUEUE_WORK", work_url)
    monkeypatch.setenv("PF_TOPIC_NEWS", topic)

    app, seen = _app()
    app.use_publisher(AwsPublisher())
    out = lambda_handler(app, "go")(native.http_v2(http_request("POST", "/go")), CTX)
    assert out["statusCode"] == 200, out
    ids = json.loads(out["body"])

    work = _receive(work_url)
    assert len(work) == 1
    assert from_json(work[0]["Body"]).id == ids["sent"]  # structured mode on the wire
    assert lambda_handler(app, "work")(_as_lambda_event(work, work_arn), CTX) == {
        "batchItemFailures": []
    }
    inbox = _receive(inbox_url)
    assert json.loads(inbox[0]["Body"])["Type"] == "Notification"
    lambda_handler(app, "news")(_as_lambda_event(inbox, inbox_arn), CTX)
    bus = _receive(bus_url)
    assert len(bus) == 1
    lambda_handler(app, "paid")(json.loads(bus[0]["Body"]), CTX)  # the EventBridge event

    assert [(e.id, e.type, e.source, e.data) for e in seen] == [
        (ids["sent"], "com.example.work", "/portable-fn/pub/go", {"n": 1}),
        (ids["published"], "com.example.news", "/portable-fn/pub/go", {"n": 2}),
        (ids["emitted"], "com.example.invoice.paid", "/portable-fn/pub/go", {"n": 3}),
    ]


def test_names_resolve_without_environment(aws_env: dict[str, str]) -> None:
    _queue("work")
    publisher = AwsPublisher(environ={})
    event = pf.CloudEvent.create(type="t", source="/s", data={"a": 1})
    publisher.send("work", event, delay=1)
    publisher.publish("created-on-demand", event)
    with pytest.raises(PublishError, match="no queue 'missing'"):
        publisher.send("missing", event)
    with pytest.raises(PublishError, match="0-900"):
        publisher.send("work", event, delay=901)


def test_fifo_queue_gets_group_and_deduplication(aws_env: dict[str, str]) -> None:
    url, arn = _queue("orders.fifo", FifoQueue="true")
    publisher = AwsPublisher(environ={"PF_QUEUE_ORDERS": url})
    event = pf.CloudEvent.create(
        type="t", source="/s", data={"a": 1}, extensions={"partitionkey": "customer-7"}
    )
    publisher.send("orders", event)
    (message,) = _receive(url)
    assert message["Attributes"]["MessageGroupId"] == "customer-7"
    (decoded,) = sqs.from_record(_as_lambda_event([message], arn)["Records"][0])
    assert decoded.id == event.id and decoded.extensions["partitionkey"] == "customer-7"


def _template_queue(template: Path, logical_id: str) -> dict[str, Any]:
    doc = yaml.safe_load(template.read_text())
    return dict(doc["Resources"][logical_id]["Properties"])


def test_template_queue_dead_letters_after_max_retries(
    aws_env: dict[str, str], shop_package: Path
) -> None:
    from examples.shop.app import app

    props = _template_queue(shop_package / "template.yaml", "FulfilmentQueue")
    redrive = props["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["FulfilmentDlqQueue", "Arn"]}
    max_retries = app.function("fulfil").trigger.retry.max_retries  # type: ignore[union-attr]
    assert redrive["maxReceiveCount"] == max_retries + 1
    dlq_url, dlq_arn = _queue("fulfilment-dlq")
    # As the template configures it, with the visibility timeout at 0 so retries are immediate.
    url, arn = _queue(
        "fulfilment",
        VisibilityTimeout="0",
        RedrivePolicy=json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": redrive["maxReceiveCount"]}
        ),
    )
    publisher = AwsPublisher(environ={"PF_QUEUE_FULFILMENT": url})
    poison = pf.CloudEvent.create(type="t", source="/s", data={"id": "o-9", "sku": "poison"})
    good = pf.CloudEvent.create(type="t", source="/s", data={"id": "o-8", "sku": "book"})
    publisher.send("fulfilment", poison)
    publisher.send("fulfilment", good)

    handler = lambda_handler(app, "fulfil")
    client = boto3.client("sqs")
    attempts = 0
    for _ in range(20):  # the event source mapping's loop: receive, invoke, delete successes
        messages = _receive(url)
        if not messages:
            break
        failed = {
            f["itemIdentifier"]
            for f in handler(_as_lambda_event(messages, arn), CTX)["batchItemFailures"]
        }
        attempts += len(failed)
        for m in messages:
            if m["MessageId"] not in failed:
                client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert attempts == max_retries + 1
    (dead,) = _receive(dlq_url)
    assert from_json(dead["Body"]).id == poison.id


def test_non_retryable_failures_go_straight_to_the_dead_letter_queue(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dlq_url, _ = _queue("jobs-dlq")
    app = pf.App("dl")
    calls: list[int] = []

    @app.queue("jobs", max_retries=5)
    def job(event: pf.CloudEvent, ctx: pf.Context) -> None:
        calls.append(ctx.attempt)
        if event.data == "bad":
            raise pf.NonRetryable("order references a deleted customer")
        if event.data == "flaky":
            raise TimeoutError("try again")

    bad = native.sqs_record('"bad"', queue="jobs")
    bad["body"] = "bad"
    flaky = native.sqs_record("flaky", queue="jobs")
    undecodable = native.sqs_record('{"specversion": "1.0"}', queue="jobs")  # invalid event
    batch = {"Records": [bad, flaky, undecodable]}
    # Without a dead-letter queue configured, every failure is left to SQS's redrive.
    assert lambda_handler(app, "job")(batch, CTX) == {
        "batchItemFailures": [
            {"itemIdentifier": bad["messageId"]},
            {"itemIdentifier": flaky["messageId"]},
            {"itemIdentifier": undecodable["messageId"]},
        ]
    }
    monkeypatch.setenv("PF_DEAD_LETTER_URL", dlq_url)
    out = lambda_handler(app, "job")(batch, CTX)
    # Only the retryable failure is redelivered; the others are in the DLQ after one attempt.
    assert out == {"batchItemFailures": [{"itemIdentifier": flaky["messageId"]}]}
    client = boto3.client("sqs")
    dead = client.receive_message(
        QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    assert sorted(m["Body"] for m in dead) == sorted(["bad", '{"specversion": "1.0"}'])
    reasons = {m["Body"]: m["MessageAttributes"]["pf-failure-reason"]["StringValue"] for m in dead}
    assert "deleted customer" in reasons["bad"]


def test_failed_messages_come_back_after_the_retry_backoff(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A long visibility timeout, as the template sets; the backoff brings the retry forward.
    url, arn = _queue("slow", VisibilityTimeout="120")
    app = pf.App("bo")

    @app.queue("slow", retry=pf.Retry(max_retries=3, initial_backoff=1.0, jitter=False))
    def slow(event: pf.CloudEvent) -> None:
        raise TimeoutError("downstream busy")

    client = boto3.client("sqs")
    client.send_message(QueueUrl=url, MessageBody='{"n": 1}')
    (message,) = _receive(url)
    handler = lambda_handler(app, "slow")
    # Without the source queue's URL the adapter cannot change visibility: SQS's 120 s apply.
    assert handler(_as_lambda_event([message], arn), CTX)["batchItemFailures"]
    assert _receive(url) == []
    monkeypatch.setenv("PF_SOURCE_QUEUE_URL", url)
    client.change_message_visibility(
        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    (again,) = _receive(url)
    handler = lambda_handler(app, "slow")
    assert handler(_as_lambda_event([again], arn), CTX)["batchItemFailures"]
    # Retry.delay(2) = 2 s (second receive, no jitter): back within a few seconds, not 120.
    back = client.receive_message(QueueUrl=url, WaitTimeSeconds=5, AttributeNames=["All"])
    assert back.get("Messages"), "the retry did not come back after its backoff"


class _Recorder:
    """A client factory whose clients record calls and answer as AWS would: no network."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, service: str) -> Any:
        recorder = self

        class Client:
            def __getattr__(self, method: str) -> Any:
                def call(**params: Any) -> dict[str, Any]:
                    recorder.calls.append((service, method, params))
                    return {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}

                return call

        return Client()


def test_a_twelve_hour_backoff_leaves_what_sqs_counts_from_the_receive() -> None:
    """SQS refuses a visibility change past 12 hours from the message's receive
    (API_ChangeMessageVisibility), which moto does not enforce: a recording client stands in
    and the test checks what is asked for. The receive may be a batching window (300 s) before
    the invocation and the handler may run Lambda's 900 s."""
    recorder = _Recorder()
    redelivery = Redelivery(
        pf.Retry(max_retries=3, initial_backoff=43_200, max_backoff=43_200, jitter=False),
        environ={"PF_SOURCE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/work"},
    )
    redelivery._publisher = AwsPublisher(environ={}, client_factory=recorder)
    ctx = pf.Context(function_name="work", invocation_id="1", provider="aws")
    redelivery.back_off({"receiptHandle": "rh"}, 3, ctx)
    ((_, method, params),) = recorder.calls
    assert method == "change_message_visibility"
    assert params["VisibilityTimeout"] == 43_200 - 300 - 900


_ENV = {"PF_QUEUE_WORK": "https://sqs.us-east-1.amazonaws.com/1/work",
        "PF_QUEUE_ORDERS": "https://sqs.us-east-1.amazonaws.com/1/orders.fifo",
        "PF_TOPIC_NEWS": "arn:aws:sns:us-east-1:1:news"}


def test_oversized_events_are_refused_before_any_call() -> None:
    # 1 MiB is the most SQS, SNS (MaximumMessageSize) and EventBridge accept for one message;
    # smaller configured limits are the service's to report.
    recorder = _Recorder()
    publisher = AwsPublisher(environ=_ENV, client_factory=recorder)
    big = pf.CloudEvent.create(type="t", source="/s", data="x" * (1024 * 1024))
    for call in (lambda: publisher.send("work", big), lambda: publisher.publish("news", big),
                 lambda: publisher.emit(big)):
        with pytest.raises(PublishError, match=r"1048576 bytes"):
            call()
    assert recorder.calls == []
    fits = pf.CloudEvent.create(type="t", source="/s", data="x" * 1_000_000)
    publisher.send("work", fits)
    publisher.publish("news", fits)
    publisher.emit(fits)
    assert [c[1] for c in recorder.calls] == ["send_message", "publish", "put_events"]


_FIFO_ID = re.compile(r"[!-~]{1,128}")  # alphanumerics and punctuation, at most 128


@pytest.mark.parametrize(
    ("key", "event_id"),
    [("customer 7", "order 7"), ("Zoë", "é" * 10), ("k" * 200, "i" * 200), (7, "plain-id")],
)
def test_fifo_ids_are_what_sqs_accepts(key: Any, event_id: str) -> None:
    # SQS and SNS refuse a MessageGroupId / MessageDeduplicationId outside that set (moto does
    # not check): such values are hashed, so the same key still means the same group.
    recorder = _Recorder()
    publisher = AwsPublisher(environ=_ENV, client_factory=recorder)
    for _ in range(2):
        event = pf.CloudEvent.create(type="t", source="/s", data=1, id=event_id,
                                     extensions={"partitionkey": key})
        publisher.send("orders", event)
    first, second = (params for _, _, params in recorder.calls)
    for params in (first, second):
        assert _FIFO_ID.fullmatch(params["MessageGroupId"])
        assert _FIFO_ID.fullmatch(params["MessageDeduplicationId"])
    assert first["MessageGroupId"] == second["MessageGroupId"]
    assert first["MessageDeduplicationId"] == second["MessageDeduplicationId"]
    if _FIFO_ID.fullmatch(str(key)):
        assert first["MessageGroupId"] == str(key)  # valid values pass unchanged
    if _FIFO_ID.fullmatch(event_id):
        assert first["MessageDeduplicationId"] == event_id


def test_fifo_queue_refuses_a_per_message_delay_before_sending() -> None:
    recorder = _Recorder()
    publisher = AwsPublisher(environ=_ENV, client_factory=recorder)
    event = pf.CloudEvent.create(type="t", source="/s", data=1)
    with pytest.raises(PublishError, match="FIFO"):
        publisher.send("orders", event, delay=5)
    assert recorder.calls == []


def test_missing_boto3_is_an_import_error_with_the_install_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # what `import boto3` sees when absent
    event = pf.CloudEvent.create(type="t", source="/s", data=1)
    with pytest.raises(ImportError, match=r"portable-fn-aws\[publish\]"):
        AwsPublisher(environ=_ENV).send("work", event)
    with pytest.raises(ImportError, match=r"portable-fn-aws\[publish\]"):
        AwsPublisher(environ={}).send("work", event)  # the name lookup needs boto3 too


class _ThrottledOnce:
    """A real boto3 client (to moto) whose first ``put_events`` answers as EventBridge does
    when it throttles one entry: HTTP 200, ``FailedEntryCount`` 1, the entry's ErrorCode."""

    def __init__(self, code: str, failures: int = 1) -> None:
        self.code = code
        self.failures = failures
        self.calls = 0

    def __call__(self, service: str) -> Any:
        client = boto3.client(service)
        if service != "events":
            return client
        owner = self

        class Client:
            def put_events(self, **params: Any) -> dict[str, Any]:
                owner.calls += 1
                if owner.calls <= owner.failures:
                    return {"FailedEntryCount": 1, "Entries": [
                        {"ErrorCode": owner.code, "ErrorMessage": "Rate exceeded"}]}
                return dict(client.put_events(**params))

        return Client()


def test_emit_retries_an_entry_eventbridge_throttled(aws_env: dict[str, str]) -> None:
    # PutEvents answers 200 with FailedEntryCount for an entry it throttled; the retryable
    # ErrorCodes are ThrottlingException and InternalFailure (PutEventsResultEntry), and the
    # failed entries are to be sent again (eb-putevents.html "Handling failures").
    bus_url, bus_arn = _queue("bus-target")
    events = boto3.client("events")
    events.put_rule(Name="all", EventPattern=json.dumps({"detail-type": ["com.example.t"]}))
    events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": bus_arn}])
    factory = _ThrottledOnce("ThrottlingException")
    publisher = AwsPublisher(environ={"PF_EVENT_BUS": "default"}, client_factory=factory)
    event = pf.CloudEvent.create(type="com.example.t", source="/s", data={"n": 1})
    publisher.emit(event)
    assert factory.calls == 2
    (delivered,) = _receive(bus_url)
    assert json.loads(delivered["Body"])["detail"]["id"] == event.id


def test_emit_names_the_bus_when_eventbridge_keeps_refusing(aws_env: dict[str, str]) -> None:
    factory = _ThrottledOnce("InternalFailure", failures=100)
    publisher = AwsPublisher(environ={"PF_EVENT_BUS": "orders-bus"}, client_factory=factory)
    event = pf.CloudEvent.create(type="com.example.t", source="/s", data={"n": 1})
    with pytest.raises(PublishError, match=r"orders-bus.*InternalFailure") as info:
        publisher.emit(event)
    assert event.id in str(info.value)
    assert 1 < factory.calls < 10  # retried, boundedly
    denied = _ThrottledOnce("AccessDeniedException", failures=100)
    with pytest.raises(PublishError, match="AccessDeniedException"):
        AwsPublisher(environ={}, client_factory=denied).emit(event)
    assert denied.calls == 1  # not retryable: refused at once


# SendMessage: "The following Unicode characters are allowed: #x9 | #xA | #xD | #x20 to #xD7FF |
# #xE000 to #xFFFD | #x10000 to #x10FFFF. Any characters not included in this list will be
# rejected." JSON text may hold U+FFFE and U+FFFF as they are; moto does not check.
_SQS_ALLOWED = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")


def test_noncharacters_in_data_are_escaped_not_refused(aws_env: dict[str, str]) -> None:
    url, arn = _queue("odd")
    topic = boto3.client("sns").create_topic(Name="odd-news")["TopicArn"]
    recorder = _Recorder()
    publisher = AwsPublisher(environ={"PF_QUEUE_ODD": url, "PF_TOPIC_ODD": topic})
    event = pf.CloudEvent.create(type="t", source="/s", data={"k\uffff": "a\ufffeb\uffff"})
    publisher.send("odd", event)
    (message,) = _receive(url)
    assert _SQS_ALLOWED.fullmatch(message["Body"])
    (decoded,) = sqs.from_record(_as_lambda_event([message], arn)["Records"][0])
    assert decoded == event
    AwsPublisher(environ={"PF_TOPIC_ODD": topic}, client_factory=recorder).publish("odd", event)
    ((_, _, params),) = recorder.calls
    assert _SQS_ALLOWED.fullmatch(params["Message"])  # what SNS hands on to SQS subscribers
    assert from_json(params["Message"]) == event


def test_a_packaged_app_sends_and_publishes_to_existing_queue_and_topic(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """PORTABLE_FN_AWS_EXISTING: the queue and the topic exist before the app is packaged; the
    handler's pf.send / pf.publish, through the publisher with the environment the template
    gives its function, land in them (not in queues or topics of the stack's own)."""
    from portable_fn_aws.adapter import AwsAdapter

    url, queue_arn = _queue("work")
    watch_url, watch_arn = _queue("news-watch")  # stands for the topic's existing subscribers
    sns = boto3.client("sns")
    topic_arn = sns.create_topic(Name="news")["TopicArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=watch_arn)
    monkeypatch.setenv("PORTABLE_FN_AWS_EXISTING", f"work={queue_arn},news={topic_arn}")
    app, seen = _app()
    module = sys.modules[__name__]
    monkeypatch.setattr(module, "existing_app", app, raising=False)
    AwsAdapter().package(app, f"{__name__}:existing_app", tmp_path)

    template = yaml.safe_load((tmp_path / "template.yaml").read_text())
    variables = template["Resources"]["GoFunction"]["Properties"]["Environment"]["Variables"]
    environ = {k: v for k, v in variables.items() if isinstance(v, str)}  # what the stack owns
    assert {"PF_QUEUE_WORK", "PF_TOPIC_NEWS"} <= set(environ)  # literals, not Refs
    app.use_publisher(AwsPublisher(environ=environ))
    out = lambda_handler(app, "go")(native.http_v2(http_request("POST", "/go")), CTX)
    assert out["statusCode"] == 200, out
    ids = json.loads(out["body"])

    (sent,) = _receive(url)
    assert from_json(sent["Body"]).id == ids["sent"]
    (published,) = _receive(watch_url)
    assert from_json(json.loads(published["Body"])["Message"]).id == ids["published"]
    lambda_handler(app, "work")(_as_lambda_event([sent], queue_arn), CTX)
    assert [e.id for e in seen] == [ids["sent"]]
