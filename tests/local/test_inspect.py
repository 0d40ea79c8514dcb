# SPDX-License-Identifier: Apache-2.0
"""``portable-fn inspect``: the dead-letter queues and topics each provider really creates.

A topic's subscribers fail on their own on every cloud, so each gets its own dead letters
there: Pub/Sub sets a dead-letter topic per subscription
(https://cloud.google.com/pubsub/docs/handling-failures), and a Cloudflare queue has one
consumer, so a topic is a queue per subscriber, each with its ``dead_letter_queue``
(https://developers.cloudflare.com/queues/reference/how-queues-works/,
https://developers.cloudflare.com/queues/configuration/dead-letter-queues/); on AWS each
subscriber reads its own SQS inbox with a redrive policy
(https://docs.aws.amazon.com/sns/latest/dg/sns-sqs-as-subscriber.html). The names asserted
are the ones the packagers write (``deploy.sh``, ``wrangler.toml``, ``template.yaml``): each
adapter's tests assert its own (``test_*_cli.py``); here, with no adapter installed, the local
runtime's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portable_fn.cli import main

SHOP = str(Path(__file__).resolve().parents[2] / "examples" / "shop" / "app.py")


def test_topic_dead_letters_are_named_as_each_provider_creates_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["inspect", SHOP, "--json"]) == 0
    dead = json.loads(capsys.readouterr().out)["dead_letters"]
    assert dead["local"]["notify_customer"] == "order-events-dlq"
    assert dead["local"]["fulfil"] == "fulfilment-dlq"  # a declared name is kept


def test_the_text_report_names_the_per_function_topic_dead_letters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["inspect", SHOP]) == 0
    text = capsys.readouterr().out
    line = next(
        x
        for x in text.splitlines()
        if x.strip().startswith("notify_customer") and "dlq" in x and "topic" not in x
    )
    assert "local order-events-dlq" in line


def test_settings_show_env_values_and_whether_each_secret_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A secret's value is never printed: only whether this shell would give it to ``dev``."""
    (tmp_path / "configured.py").write_text(
        "import portable_fn as pf\n"
        "app = pf.App('configured', env={'CURRENCY': 'EUR'}, secrets=['API_KEY', 'DB_PASSWORD'])\n"
    )
    monkeypatch.setenv("API_KEY", "hunter2")
    monkeypatch.delenv("DB_PASSWORD", raising=False)
    monkeypatch.setenv("CURRENCY", "x")  # the App sets it: absent again after the test
    monkeypatch.delenv("CURRENCY")
    monkeypatch.chdir(tmp_path)
    assert main(["inspect", "configured.py", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["settings"]
    assert report == {
        "env": {"CURRENCY": "EUR"},
        "secrets": [{"name": "API_KEY", "set": True}, {"name": "DB_PASSWORD", "set": False}],
    }
    assert main(["inspect", "configured.py"]) == 0
    text = capsys.readouterr().out
    assert "env    CURRENCY='EUR'" in text
    assert "secret API_KEY\n" in text and "secret DB_PASSWORD (not set in this shell)" in text
    assert "hunter2" not in text
