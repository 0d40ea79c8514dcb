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
