"""Done-means 2 (aws): an app packaged with declared retry policies; the generated SAM template
carries them (SQS redrive ``maxReceiveCount`` = max_retries + 1 and a dead-letter queue,
visibility, per-message failures, the per-message backoff's queue URL and permission, the
dead-letter queue a poison message is sent to at once, Lambda's asynchronous retry cap), and
the package's findings say how the backoff is honoured and what was capped. Real packaging,
real YAML; nothing is mocked.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
import yaml

import portable_fn as pf
from portable_fn.adapter import Finding
from portable_fn_aws._resources import Settings
from portable_fn_aws._template import build
from portable_fn_aws.adapter import adapter

app = pf.App("retries")
ORDERS = pf.Retry(max_retries=7, initial_backoff=5.0, max_backoff=120.0, jitter=False)
NEWS = pf.Retry(max_retries=2, initial_backoff=2.0, max_backoff=60.0)


@app.queue("orders", retry=ORDERS, dead_letter="orders-dead")
def take_order(event: pf.CloudEvent) -> None: ...


@app.topic("news", retry=NEWS)
def read_news(event: pf.CloudEvent) -> None: ...


@app.storage("uploads", max_retries=1)
def on_upload(event: pf.CloudEvent) -> None: ...


@app.event("com.example.paid", max_retries=5)
def paid(event: pf.CloudEvent) -> None: ...


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[Finding]]:
    out = tmp_path_factory.mktemp("retries") / "aws"
    findings = adapter.package(app, f"{__name__}:app", out)
    assert sys.modules[__name__].app is app
    return yaml.safe_load((out / "template.yaml").read_text()), findings


def resources(packaged: tuple[dict[str, Any], list[Finding]]) -> dict[str, Any]:
    return packaged[0]["Resources"]  # type: ignore[no-any-return]


def test_queue_redrives_after_max_retries_plus_one_receives(
    packaged: tuple[dict[str, Any], list[Finding]],
) -> None:
    queue = resources(packaged)["OrdersQueue"]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["OrdersDeadQueue", "Arn"]},
        "maxReceiveCount": ORDERS.max_retries + 1,
    }
    assert resources(packaged)["OrdersDeadQueue"]["Type"] == "AWS::SQS::Queue"


def test_visibility_covers_the_function_timeout(
    packaged: tuple[dict[str, Any], list[Finding]],
) -> None:
    # Lambda refuses an SQS source whose visibility timeout is below the function timeout.
    timeout = packaged[0]["Globals"]["Function"]["Timeout"]
    for name in ("OrdersQueue", "ReadNewsInboxQueue"):
        assert resources(packaged)[name]["Properties"]["VisibilityTimeout"] >= timeout


def test_a_failed_message_is_retried_alone(
    packaged: tuple[dict[str, Any], list[Finding]],
) -> None:
    for function in ("TakeOrderFunction", "ReadNewsFunction"):
        (source,) = resources(packaged)[function]["Properties"]["Events"].values()
        assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_topic_subscriber_inbox_has_the_topic_policy(
    packaged: tuple[dict[str, Any], list[Finding]],
) -> None:
    inbox = resources(packaged)["ReadNewsInboxQueue"]["Properties"]["RedrivePolicy"]
    assert inbox["maxReceiveCount"] == NEWS.max_retries + 1


def test_asynchronous_sources_retry_then_dead_letter(
    packaged: tuple[dict[str, Any], list[Finding]],
) -> None:
    upload = resources(packaged)["OnUploadFunction"]["Properties"]["EventInvokeConfig"]
    assert upload["MaximumRetryAttempts"] == 1
    assert upload["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
    paid_config = resources(packaged)["PaidFunction"]["Properties"]["EventInvokeConfig"]
    assert paid_config["MaximumRetryAttempts"] == 2  # Lambda's cap for asynchronous events
    assert any(
        f.function == "paid" and f.level == "warning" and "2" in f.message for f in packaged[1]
    ), "max_retries=5 capped at 2 must be reported"


def test_backoff_is_honoured_per_message_and_said_so(
    packaged: tuple[dict[str, Any], list[Finding]],
) -> None:
    # SQS alone redelivers when the queue's visibility timeout ends; the function hides a failed
    # message for Retry.delay(attempt) itself (ChangeMessageVisibility on its source queue, which
    # SQSPollerPolicy allows), and the package says how the declared backoff is honoured.
    function = resources(packaged)["TakeOrderFunction"]["Properties"]
    variables = function["Environment"]["Variables"]
    assert variables["PF_SOURCE_QUEUE_URL"] == {"Ref": "OrdersQueue"}
    assert {"SQSPollerPolicy": {"QueueName": {"Fn::GetAtt": ["OrdersQueue", "QueueName"]}}} in (
        function["Policies"]
    )
    assert any(
        f.function == "take_order" and "backoff" in f.message.lower() for f in packaged[1]
    ), [str(f) for f in packaged[1]]


def test_poison_messages_can_go_to_the_dead_letter_queue_at_once(
    packaged: tuple[dict[str, Any], list[Finding]],
) -> None:
    # pf.NonRetryable / undecodable: sent to the DLQ by the function, retries unspent.
    function = resources(packaged)["TakeOrderFunction"]["Properties"]
    assert function["Environment"]["Variables"]["PF_DEAD_LETTER_URL"] == {
        "Ref": "OrdersDeadQueue"
    }
    send = {"SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": ["OrdersDeadQueue", "QueueName"]}}}
    assert send in function["Policies"]


def test_asynchronous_failures_retrying_cannot_fix_go_to_the_on_failure_queue_at_once(
    packaged: tuple[dict[str, Any], list[Finding]],
) -> None:
    # The function writes them where Lambda writes what fails every retry (its destination).
    for function in ("OnUploadFunction", "PaidFunction"):
        properties = resources(packaged)[function]["Properties"]
        destination = properties["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
        queue = destination["Destination"]["Fn::GetAtt"][0]
        assert properties["Environment"]["Variables"]["PF_DEAD_LETTER_URL"] == {"Ref": queue}
        send = {"SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": [queue, "QueueName"]}}}
        assert send in properties["Policies"]


def test_a_queue_keeps_messages_as_long_as_its_retries_may_take() -> None:
    """SQS deletes a message when its retention ends (4 days unless set), retries left or not,
    and it never reaches the dead-letter queue (API_SetQueueAttributes): 20 retries backing off
    to 12 hours took up to 8.5 days on a 4-day queue. The queue keeps it that long (with an
    hour's margin); past SQS's 14 days, a warning. The default policy leaves the default."""
    from portable_fn_aws._resources import worst_schedule

    slow = pf.Retry(max_retries=20, initial_backoff=3600, max_backoff=43_200, jitter=False)
    slower = pf.Retry(max_retries=40, initial_backoff=3600, max_backoff=43_200)
    kept = pf.App("kept")

    @kept.queue("slow", retry=slow)
    def patient(event: pf.CloudEvent) -> None: ...

    @kept.topic("news", retry=slower)
    def very_patient(event: pf.CloudEvent) -> None: ...

    @kept.queue("quick")
    def quick(event: pf.CloudEvent) -> None: ...

    template, findings = build(kept, Settings())
    queues = template["Resources"]
    # 21 runs of 30 s; retries wait 1, 2, 4, 8 hours, then 11 h 40 min (the cap) 16 times.
    assert worst_schedule(slow, 30, fifo=False) == 21 * 30 + 3600 * (1 + 2 + 4 + 8) + 16 * 42_000
    assert queues["SlowQueue"]["Properties"]["MessageRetentionPeriod"] == (
        worst_schedule(slow, 30, fifo=False) + 3600)
    assert queues["VeryPatientInboxQueue"]["Properties"]["MessageRetentionPeriod"] == 1_209_600
    assert "MessageRetentionPeriod" not in queues["QuickQueue"]["Properties"]
    warned = [f for f in findings if f.level == "warning" and "14" in f.message]
    assert [f.function for f in warned] == ["very_patient"], findings
