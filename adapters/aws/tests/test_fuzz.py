"""Done-means 3 (aws): the adapter's real native fixtures (SAM-generated and documented samples
in events/) are damaged one way at a time, every way (``every_mutation``: each key missing,
each value of each wrong type, bad base64, base64 of non-UTF-8, a lone surrogate, an oversized
string), then by hypothesis's random draws, and run through the real Lambda handler the
generated entry uses.

Properties:
- only the project's typed errors (``PortableFnError``) ever escape the handler;
- SQS: in a batch of two intact messages around one damaged one, exactly the damaged message
  may be reported failed, the intact ones are processed once each, and a message that is
  acknowledged (not in ``batchItemFailures``) was processed;
- Kinesis / DynamoDB Streams: the checkpoint is the damaged record or nothing, and records
  before it were processed;
- HTTP: a response is a dict with a valid status, its error body JSON, never a traceback.

The one stand-in is ``FakeLambdaContext`` (aws_fixtures.py): awslambdaric's real context needs
the runtime process; test_aws_runtime.py covers that path.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import portable_fn as pf
from portable_fn.errors import PortableFnError
from portable_fn.log import set_level
from portable_fn_aws._handler import lambda_handler

from aws_fixtures import FakeLambdaContext, load

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tests.reliability.mutate import every_mutation, mutations, sweep  # noqa: E402

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure is reproducible
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
Case = tuple[str, Any]

app = pf.App("fuzz")
seen: list[pf.CloudEvent] = []


@app.queue("jobs")
def take(event: pf.CloudEvent) -> None:
    seen.append(event)


@app.stream("clicks")
def read(event: pf.CloudEvent) -> None:
    seen.append(event)


@app.topic("news")
def news(event: pf.CloudEvent) -> None:
    seen.append(event)


@app.storage("uploads", on=("created", "deleted"))
def upload(event: pf.CloudEvent) -> None:
    seen.append(event)


@app.event("com.")
def bus(event: pf.CloudEvent) -> None:
    seen.append(event)


@app.http("/{path+}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
def web(req: pf.Request) -> dict[str, Any]:
    return {"path": req.path, "size": len(req.body), "json": req.json() if req.body else None}


@pytest.fixture(autouse=True)
def quiet_logs() -> Any:
    # Every damaged message is logged (with its payload, up to 300 KB): keep pytest's output
    # readable. The log lines themselves are not under test here.
    set_level("CRITICAL")
    yield
    set_level(None)


def run(function: str, native: Any) -> tuple[Any, list[pf.CloudEvent]]:
    """Invoke the real handler; return its result and the events the handler body got."""
    seen.clear()
    try:
        result = lambda_handler(app, function)(native, FakeLambdaContext())
    except PortableFnError as exc:  # typed: Lambda retries or fails the invocation
        return exc, list(seen)
    return result, list(seen)


def fuzz(native: Any, check: Any) -> None:
    """Every single damage first (all distinct failures reported at once), then hypothesis."""
    sweep(every_mutation(native), check)
    FUZZ(given(mutations(native))(check))()


# -- SQS ------------------------------------------------------------------------------------


def sqs_batch(template: dict[str, Any], damaged: Any) -> dict[str, Any]:
    goods = []
    for n in (1, 2):
        good = copy.deepcopy(template)
        good["messageId"] = f"intact-{n}"
        if "MessageGroupId" in good.get("attributes", {}):
            good["attributes"]["MessageGroupId"] = f"group-{n}"  # apart from the damaged one
        goods.append(good)
    return {"Records": [goods[0], damaged, goods[1]]}


@pytest.mark.parametrize(
    "fixture",
    [
        "sam_sqs.json",
        "sqs_cloudevent.json",
        "sqs_fifo.json",
        "sqs_s3.json",
        "sqs_sns_cloudevent.json",
    ],
)
def test_sqs_fails_exactly_the_damaged_message(fixture: str) -> None:
    template = load(fixture)["Records"][0]
    result, per_record = run("take", {"Records": [template]})
    assert result == {"batchItemFailures": []}

    def check(case: Case) -> None:
        what, damaged = case
        result, events = run("take", sqs_batch(template, damaged))
        if isinstance(result, PortableFnError):
            return  # the whole batch is retried: nothing acknowledged unprocessed
        failed = [f["itemIdentifier"] for f in result["batchItemFailures"]]
        assert "intact-1" not in failed and "intact-2" not in failed, what
        damaged_id = damaged.get("messageId") if isinstance(damaged, dict) else None
        intact = 2 * len(per_record)
        if isinstance(damaged_id, str) and damaged_id in failed:
            assert len(events) == intact, f"failed but its handler ran: {what}"
        else:
            # Acknowledged: it must have run (anything else is a message lost).
            assert failed == [], what
            assert len(events) > intact, f"acknowledged without processing: {what}"

    fuzz(template, check)


# -- Kinesis and DynamoDB Streams -------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["sam_kinesis.json", "sam_dynamodb.json"])
def test_streams_checkpoint_at_the_damaged_record(fixture: str) -> None:
    template = load(fixture)["Records"][0]
    key = "kinesis" if "kinesis" in template else "dynamodb"

    def batch(damaged: Any) -> dict[str, Any]:
        records = []
        for n in (1, 2):
            good = copy.deepcopy(template)
            good[key]["sequenceNumber"] = f"{n}000000000000000000000{n}"
            records.append(good)
        return {"Records": [records[0], damaged, records[1]]}

    def check(case: Case) -> None:
        what, damaged = case
        result, events = run("read", batch(damaged))
        if isinstance(result, PortableFnError):
            return
        failed = [f["itemIdentifier"] for f in result["batchItemFailures"]]
        if failed:
            assert len(failed) == 1 and len(events) == 1, f"not stopped at the damage: {what}"
            assert failed[0] != "1000000000000000000000001", f"checkpoint too early: {what}"
        else:
            assert len(events) == 3, f"acknowledged without processing: {what}"

    fuzz(template, check)


# -- asynchronous sources (SNS, S3, EventBridge) --------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "function"),
    [
        ("sam_sns.json", "news"),
        ("sns_s3.json", "upload"),
        ("sam_s3_put.json", "upload"),
        ("sam_s3_delete.json", "upload"),
        ("eventbridge_custom.json", "bus"),
        ("eventbridge_cloudevent.json", "bus"),
        ("eventbridge_s3_object_created.json", "upload"),
    ],
)
def test_asynchronous_sources_raise_only_typed_errors(fixture: str, function: str) -> None:
    def check(case: Case) -> None:
        run(function, case[1])  # anything but a PortableFnError escapes and fails the test

    fuzz(load(fixture), check)


# -- HTTP -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture",
    [
        "sam_apigw_v1.json",
        "sam_apigw_v2.json",
        "http_api_v1.json",
        "sam_alb.json",
        "alb_multi_value.json",
        "function_url.json",
        "vpc_lattice_v1.json",
        "vpc_lattice_v2.json",
    ],
)
def test_http_answers_with_a_status_never_a_traceback(fixture: str) -> None:
    def check(case: Case) -> None:
        what, damaged = case
        result, _ = run("web", damaged)
        if isinstance(result, PortableFnError):
            return
        assert isinstance(result, dict), f"not a response: {what}"
        status = result["statusCode"]
        assert isinstance(status, int) and 100 <= status <= 599, f"bad status: {what}"
        body = result.get("body") or ""
        assert "Traceback" not in body, f"traceback in the body: {what}"
        if status >= 400 and not result.get("isBase64Encoded"):
            assert "error" in json.loads(body), f"error body not JSON: {what}"

    fuzz(load(fixture), check)
