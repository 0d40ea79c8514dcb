# SPDX-License-Identifier: Apache-2.0
"""The CLI through the Cloudflare adapter: ``inspect`` names the dead-letter queues
``wrangler.toml`` declares, and ``invoke --provider cloudflare`` exits 1 when the Worker would
``retry()`` a message or answer a 5xx.

A Cloudflare queue has one consumer, so a topic is a queue per subscriber, each with its own
``dead_letter_queue`` (https://developers.cloudflare.com/queues/configuration/dead-letter-queues/).
The samples are the adapter's own: a queue ``MessageBatch``
(https://developers.cloudflare.com/queues/configuration/javascript-apis/#messagebatch) and a
Workers ``Request`` (https://developers.cloudflare.com/workers/runtime-apis/request/).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portable_fn.cli import main
from portable_fn_cloudflare.adapter import adapter

SHOP = str(Path(__file__).resolve().parents[3] / "examples" / "shop" / "app.py")


def test_inspect_names_the_dead_letter_queue_of_each_consumer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["inspect", SHOP, "--json"]) == 0
    dead = json.loads(capsys.readouterr().out)["dead_letters"]
    assert dead["cloudflare"]["notify_customer"] == "shop--order-events--notify-customer-dlq"
    assert dead["cloudflare"]["fulfil"] == "fulfilment-dlq"  # a declared name is kept
    assert main(["inspect", SHOP]) == 0
    line = next(
        x for x in capsys.readouterr().out.splitlines()
        if x.strip().startswith("notify_customer") and "dlq" in x and "topic" not in x
    )
    assert "cloudflare shop--order-events--notify-customer-dlq" in line


@pytest.mark.parametrize(
    ("order", "code"), [({"id": "p0150n", "sku": "poison"}, 1), ({"id": "o-1", "sku": "b"}, 0)]
)
def test_invoke_exits_1_when_a_message_is_retried(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], order: dict[str, str], code: int
) -> None:
    sample = dict(adapter.sample_events()["queue"])
    sample["messages"] = [{**sample["messages"][0], "body": order}]
    path = tmp_path / "event.json"
    path.write_text(json.dumps(sample))
    argv = ["invoke", SHOP, "fulfil", "--provider", "cloudflare", "--event", str(path)]
    assert main(argv) == code
    report = json.loads(capsys.readouterr().out)
    assert bool(report.get("failed")) is bool(code), report


def test_invoke_exits_1_on_an_http_5xx(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app_file = tmp_path / "boom.py"
    app_file.write_text(
        "import portable_fn as pf\n"
        "app = pf.App('boom')\n"
        "@app.http('/orders', methods=['POST'])\n"
        "def create(req):\n"
        "    raise RuntimeError('database down')\n"
    )
    argv = ["invoke", str(app_file), "create", "--provider", "cloudflare", "--event", "fetch"]
    assert main(argv) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["result"]["status"] == 500 and "500" in report["failed"]


@pytest.mark.parametrize(
    ("function", "kind"),
    [("create_order", "queue"), ("create_order", "r2"), ("nightly_report", "queue")],
)
def test_a_queue_sample_for_a_function_that_consumes_no_queue_is_refused(
    capsys: pytest.CaptureFixture[str], function: str, kind: str
) -> None:
    """cli.md: on Cloudflare a sample that reaches another function is refused (exit 2). A
    queue or R2 sample named with an HTTP or schedule function ran the shop's fulfil (or
    on_upload) and reported its settlements as the named function's (exit 1, or 0)."""
    argv = ["invoke", SHOP, function, "--provider", "cloudflare", "--event", kind]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("portable-fn invoke: ") and function in err


@pytest.mark.parametrize("kind", ["queue", "r2", "scheduled", "fetch"])
def test_any_sample_for_a_stream_function_says_streams_do_not_run_on_workers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """Workers have no stream trigger (``inspect``: unsupported; Queues, Cron Triggers, R2
    notifications and fetch are a Worker's event sources:
    https://developers.cloudflare.com/workers/runtime-apis/handlers/): an ``@app.stream``
    function never runs there, whatever the sample. It was refused as consuming no queue,
    which sent the user looking for a queue sample."""
    app_file = tmp_path / "clicks.py"
    app_file.write_text(
        "import portable_fn as pf\n"
        "app = pf.App('clicks')\n"
        "@app.stream('clickstream')\n"
        "def clicks(event):\n"
        "    pass\n"
    )
    argv = ["invoke", str(app_file), "clicks", "--provider", "cloudflare", "--event", kind]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert "'clicks'" in err and "no stream trigger" in err and "queue" not in err, err
