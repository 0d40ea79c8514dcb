"""Done-means 2 (aws): an app packaged with declared retry policies; the generated SAM template
carries them (SQS redrive ``maxReceiveCount`` = max_retries + 1 and a dead-letter queue,
visibility, per-message failures, Lambda's asynchronous retry cap) and what SQS cannot honour
(exponential backoff) is reported as a finding, not dropped. Real packaging, real YAML; nothing
is mocked.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
import yaml

import portable_fn as pf
from portable_fn.adapter import Finding
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


def test_backoff_sqs_cannot_honour_is_reported(
    packaged: tuple[dict[str, Any], list[Finding]],
) -> None:
    # SQS redelivers when the visibility timeout ends; the declared exponential backoff is
    # either honoured or said at package time (DESIGN section 4), never silently dropped.
    assert any(
        f.function == "take_order" and "backoff" in f.message.lower() for f in packaged[1]
    ), [str(f) for f in packaged[1]]
