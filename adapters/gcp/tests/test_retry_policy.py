"""Done-means 2 (gcp): an app packaged with declared retry policies; ``deploy.sh`` deploys each
event function with ``--retry`` and sets its Pub/Sub subscription's dead-letter policy
(``--max-delivery-attempts`` = max_retries + 1, ``--min-retry-delay`` / ``--max-retry-delay``
from the backoff); what Pub/Sub cannot honour (fewer than 5 attempts, a backoff above 600 s,
jitter) is reported as a finding and the deployed value is the nearest allowed one. Real
packaging; the script is parsed with ``shlex`` as bash would split it.
"""

from __future__ import annotations

import shlex

import portable_fn as pf
import pytest
from portable_fn.adapter import Finding

from portable_fn_gcp.adapter import adapter

app = pf.App("retries")
ORDERS = pf.Retry(max_retries=7, initial_backoff=5.0, max_backoff=120.0, jitter=False)
NEWS = pf.Retry(max_retries=2, initial_backoff=2.0, max_backoff=900.0)


@app.queue("orders", retry=ORDERS, dead_letter="orders-dead")
def take_order(event: pf.CloudEvent) -> None: ...


@app.topic("news", retry=NEWS)
def read_news(event: pf.CloudEvent) -> None: ...


@app.queue("fire-and-forget", max_retries=0)
def once_only(event: pf.CloudEvent) -> None: ...


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[list[str]], list[Finding]]:
    out = tmp_path_factory.mktemp("retries") / "gcp"
    findings = adapter.package(app, f"{__name__}:app", out)
    script = (out / "deploy.sh").read_text().replace("\\\n", " ")
    commands = [
        shlex.split(line) for line in script.splitlines() if line.strip()
        and not line.lstrip().startswith("#")
    ]
    return commands, findings


def deploy_line(commands: list[list[str]], service: str) -> list[str]:
    (line,) = [c for c in commands if c[:2] == ["deploy", service]]
    return line


def dead_letter_line(commands: list[list[str]], service: str) -> list[str]:
    return [c for c in commands if c[:2] == ["dead_letter", f"$(function_trigger {service})"]]


def test_queue_function_retries_then_dead_letters(
    packaged: tuple[list[list[str]], list[Finding]],
) -> None:
    commands, _ = packaged
    assert "--retry" in deploy_line(commands, "take-order")
    (line,) = dead_letter_line(commands, "take-order")
    topic, attempts, low, high = line[2:]
    assert topic == "orders-dead"
    assert int(attempts) == ORDERS.max_retries + 1
    assert (low, high) == ("5s", "120s")


def test_what_pubsub_cannot_honour_is_reported_and_clamped(
    packaged: tuple[list[list[str]], list[Finding]],
) -> None:
    commands, findings = packaged
    (line,) = dead_letter_line(commands, "read-news")
    _, attempts, low, high = line[2:]
    assert int(attempts) == 5  # Pub/Sub's minimum; 3 were declared
    assert (low, high) == ("2s", "600s")  # Pub/Sub's maximum backoff is 600 s
    mine = [f for f in findings if f.function == "read_news"]
    assert any(f.level == "unsupported" and "5" in f.message for f in mine)
    assert any("600" in f.message for f in mine)
    assert any("jitter" in f.message for f in mine)


def test_no_retries_means_no_retry_flag(
    packaged: tuple[list[list[str]], list[Finding]],
) -> None:
    commands, _ = packaged
    assert "--retry" not in deploy_line(commands, "once-only")
