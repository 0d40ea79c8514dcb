# SPDX-License-Identifier: Apache-2.0
"""The CLI through the AWS adapter: ``inspect`` names the dead-letter queues ``template.yaml``
creates, ``invoke --provider aws`` exits 1 when the batch reports the message failed, and bad
input is one line.

Each topic subscriber reads its own SQS inbox with a redrive policy
(https://docs.aws.amazon.com/sns/latest/dg/sns-sqs-as-subscriber.html). The sample is the
adapter's SQS batch (``sam local generate-event sqs receive-message``); a failed message is
listed in ``batchItemFailures``
(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portable_fn.cli import main
from portable_fn_aws.adapter import adapter

SHOP = str(Path(__file__).resolve().parents[3] / "examples" / "shop" / "app.py")


def test_inspect_names_each_subscribers_inbox_dead_letters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["inspect", SHOP, "--json"]) == 0
    dead = json.loads(capsys.readouterr().out)["dead_letters"]
    assert dead["aws"]["notify_customer"] == "notify_customer-inbox-dlq"
    assert dead["aws"]["fulfil"] == "fulfilment-dlq"  # a declared name is kept


@pytest.mark.parametrize(
    ("order", "code"), [({"id": "p0150n", "sku": "poison"}, 1), ({"id": "o-1", "sku": "b"}, 0)]
)
def test_invoke_exits_1_when_the_batch_reports_a_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], order: dict[str, str], code: int
) -> None:
    sample = json.loads(json.dumps(adapter.sample_events()["sqs"]))
    sample["Records"][0]["body"] = json.dumps(order)
    path = tmp_path / "event.json"
    path.write_text(json.dumps(sample))
    assert main(["invoke", SHOP, "fulfil", "--provider", "aws", "--event", str(path)]) == code
    report = json.loads(capsys.readouterr().out)
    assert bool(report.get("failed")) is bool(code), report


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["invoke", SHOP, "fulfil", "--provider", "aws", "--event", "no-such-sample"], "sample"),
        (["events", "aws", "no-such-kind"], "sqs"),
    ],
)
def test_bad_input_is_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"portable-fn {argv[0]}: ") and says in err and "\n" not in err


# Each sample kind, and the shop function whose trigger it is (kinesis: the shop has no stream).
SHOP_FUNCTION = {
    "http": "create_order", "http-v1": "get_order", "alb": "get_order",
    "function-url": "get_order", "vpc-lattice": "get_order", "sqs": "fulfil", "sqs-fifo": "fulfil",
    "sns": "notify_customer", "sns-sqs": "notify_customer", "s3": "on_upload",
    "s3-delete": "on_upload", "eventbridge": "invoice_paid", "eventbridge-s3": "on_upload",
    "schedule": "nightly_report", "kinesis": None, "dynamodb": None,
}


def test_the_stream_samples_run_a_stream_function() -> None:
    """The shop has no stream: ``kinesis`` and ``dynamodb`` run on a function of its own, each
    record the CloudEvent of its source (a DynamoDB change: its type names the change)."""
    import portable_fn as pf

    app = pf.App("streams")
    seen: list[tuple[str, object]] = []

    @app.stream("changes")
    def changes(event: pf.CloudEvent) -> None:
        seen.append((event.type, event.data))

    for kind in ("kinesis", "dynamodb"):
        result = adapter.invoke(app, "changes", adapter.sample_events()[kind])
        assert result == {"batchItemFailures": []}, (kind, result)
    assert seen[0][0] == "com.amazonaws.kinesis.record"
    assert seen[1][0] == "com.amazonaws.dynamodb.INSERT"
    order = {"id": "o-1", "sku": "book", "qty": 2}
    assert seen[1][1] == {"keys": {"id": "o-1"}, "new_image": order}


def test_every_sample_runs_on_the_shop_function_of_its_trigger(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`portable-fn events aws` lists a kind, `invoke examples/shop/app.py FUNCTION --provider aws
    --event KIND` runs it and succeeds: the sqs-fifo sample's order had no "id", and the shop's
    fulfil failed on it (KeyError, exit 1)."""
    assert set(adapter.sample_events()) == set(SHOP_FUNCTION)
    for kind, function in SHOP_FUNCTION.items():
        if function is None:
            continue
        code = main(["invoke", SHOP, function, "--provider", "aws", "--event", kind])
        out = capsys.readouterr().out
        assert code == 0, (kind, out)


@pytest.mark.parametrize(
    ("function", "kind", "fitting"),
    [
        ("nightly_report", "sqs", "schedule"),
        ("nightly_report", "alb", "schedule"),
        ("nightly_report", "kinesis", "schedule"),
        # The other HTTP samples are requests for get_order's route (GET /orders/o-1).
        ("create_order", "dynamodb", "http"),
        ("create_order", "schedule", "http"),
        ("get_order", "schedule", "http-v1, alb, function-url, vpc-lattice"),
        ("fulfil", "alb", "sqs, sqs-fifo, sns-sqs"),
    ],
)
def test_a_sample_of_another_trigger_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], function: str, kind: str, fitting: str
) -> None:
    """As on Azure: a sample no deployment would send the function is a one-line usage error
    (exit 2) naming the samples that fit. A schedule function ran on an SQS, ALB or Kinesis
    sample (exit 0), an HTTP function answered a DynamoDB one with a 400 (exit 0)."""
    argv = ["invoke", SHOP, function, "--provider", "aws", "--event", kind]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("portable-fn invoke: ") and "\n" not in err, err
    assert repr(function) in err and f"samples for it: {fitting})" in err, err


def test_a_custom_payload_still_runs_a_schedule_by_hand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``aws lambda invoke --payload '{}'`` runs a scheduled function by hand (EventBridge
    Scheduler sends such a payload too: https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html):
    a payload of no known source shape is no mismatch."""
    path = tmp_path / "manual.json"
    path.write_text("{}")
    argv = ["invoke", SHOP, "nightly_report", "--provider", "aws", "--event", str(path)]
    assert main(argv) == 0, capsys.readouterr()


def test_package_does_not_warn_of_what_the_lambda_runtime_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """boto3 is in the Lambda Python runtime, so app.zip leaves it out
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html): an app importing it
    without listing it in requirements.txt gets no warning; one importing pydantic does."""
    app = tmp_path / "app.py"
    app.write_text(
        "import boto3\nimport pydantic\nimport portable_fn as pf\n\napp = pf.App('zipped')\n\n"
        "@app.http('/')\ndef home(req):\n    return {}\n"
    )
    assert main(["package", str(app), "--provider", "aws", "--out", str(tmp_path / "out")]) == 0
    warnings = [x for x in capsys.readouterr().out.splitlines() if "the app imports" in x]
    assert [("boto3" in line, "pydantic" in line) for line in warnings] == [(False, True)]


@pytest.mark.parametrize(
    ("function", "kind", "request_line", "route"),
    [
        ("get_order", "http", "POST /orders", "GET /orders/{order_id}"),
        ("create_order", "http-v1", "GET /orders/o-1", "POST /orders"),
        ("create_order", "alb", "GET /orders/o-1", "POST /orders"),
        ("create_order", "function-url", "GET /orders/o-1", "POST /orders"),
        ("create_order", "vpc-lattice", "GET /orders/o-1", "POST /orders"),
    ],
)
def test_a_request_for_another_route_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], function: str, kind: str, request_line: str, route: str
) -> None:
    """The template gives each HTTP function its own API Gateway route (``Events`` of type
    ``HttpApi``, https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-httpapi.html),
    so the ``http`` sample's ``POST /orders`` is only ever sent to ``create_order``: given to
    ``get_order`` it answered 404 "no route for /orders" with exit 0. It is refused as the
    Cloudflare adapter refuses it (exit 2), whatever the request's shape; a HEAD still
    reaches a GET route, as the HTTP API sends it."""
    argv = ["invoke", SHOP, function, "--provider", "aws", "--event", kind]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("portable-fn invoke: ") and "\n" not in err, err
    assert f"{request_line} is not a request for {function!r} ({route})" in err, err


def test_a_head_request_reaches_a_get_route(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = adapter.sample_events()["http-v1"]
    path = tmp_path / "head.json"
    path.write_text(json.dumps({**event, "httpMethod": "HEAD"}))
    argv = ["invoke", SHOP, "get_order", "--provider", "aws", "--event", str(path)]
    assert main(argv) == 0, capsys.readouterr()


def test_an_unknown_sample_name_lists_the_provider_s_samples(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """docs/cli.md: a sample kind the installed adapters lack is refused with the kinds that
    exist (``events aws nope`` lists them; ``invoke --event nope`` named none)."""
    assert main(["invoke", SHOP, "fulfil", "--provider", "aws", "--event", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no sample of that name" in err and "sqs" in err and "http" in err
