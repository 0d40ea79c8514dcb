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
    assert "--retry" in deploy_line(commands, "retries-take-order")
    (line,) = dead_letter_line(commands, "retries-take-order")
    topic, attempts, low, high = line[2:]
    assert topic == "orders-dead"
    assert int(attempts) == ORDERS.max_retries + 1
    assert (low, high) == ("5s", "120s")


def test_what_pubsub_cannot_honour_is_reported_and_clamped(
    packaged: tuple[list[list[str]], list[Finding]],
) -> None:
    commands, findings = packaged
    (line,) = dead_letter_line(commands, "retries-read-news")
    _, attempts, low, high = line[2:]
    assert int(attempts) == 5  # Pub/Sub's minimum; 3 were declared
    assert (low, high) == ("2s", "600s")  # Pub/Sub's maximum backoff is 600 s
    mine = [f for f in findings if f.function == "read_news"]
    # 3 attempts declared: the function moves the message itself at its third when Pub/Sub
    # numbers deliveries (deliveryAttempt), else Pub/Sub's least, 5, applies: a warning.
    assert any(f.level == "warning" and "attempt 3" in f.message and "5" in f.message
               for f in mine)
    assert any("600" in f.message for f in mine)
    assert any("jitter" in f.message for f in mine)


def test_no_retries_still_dead_letters(
    packaged: tuple[list[list[str]], list[Finding]],
) -> None:
    """max_retries=0 deployed with --no-retry, so a failed message was dropped: it keeps
    --retry and a dead-letter topic, which the function moves a failed message to at once
    (Pub/Sub's own policy, at its least of 5 attempts, behind it)."""
    commands, findings = packaged
    assert "--retry" in deploy_line(commands, "retries-once-only")
    (line,) = dead_letter_line(commands, "retries-once-only")
    assert line[2:4] == ["fire-and-forget-dlq", "5"]
    assert any(f.function == "once_only" and f.level == "info" and "fire-and-forget-dlq"
               in f.message for f in findings)


# A stand-in for the gcloud CLI, which cannot run here (no Google Cloud account): it records
# each call's arguments as one JSON line and answers the describes the script reads values from;
# a describe that only checks existence answers "not found", so everything is created.
_FAKE_GCLOUD = """#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
with open(os.environ["GCLOUD_CALLS"], "a") as calls:
    calls.write(json.dumps(args) + "\\n")
fmt = next((a.split("=", 1)[1] for a in args if a.startswith("--format=")), "")
if fmt == "value(projectNumber)":
    print("123")
elif fmt == "value(eventTrigger.trigger)":
    print(f"trigger-of-{args[2]}")
elif fmt == "value(transport.pubsub.subscription)":
    print(f"subscription-of-{args[3]}")
elif fmt:
    print("value")
elif "describe" in args:
    sys.exit(1)
"""


def test_the_retry_policy_reaches_gcloud_as_declared(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """deploy.sh run by bash, gcloud a recording stand-in (see ``_FAKE_GCLOUD``): the
    subscription of each event function's trigger is updated with the declared policy under
    the right flags (parsing the script's lines alone could not tell ``--min-retry-delay``
    from ``--max-retry-delay``: the values travel through the script's positional arguments)."""
    import json
    import os
    import subprocess

    out = tmp_path_factory.mktemp("retries-run") / "gcp"
    adapter.package(app, f"{__name__}:app", out)
    bin_dir = out.parent / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "gcloud"
    fake.write_text(_FAKE_GCLOUD)
    fake.chmod(0o755)
    calls = out.parent / "calls.jsonl"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "GCLOUD_CALLS": str(calls), "PROJECT": "p", "REGION": "r"}
    subprocess.run(["bash", str(out / "deploy.sh")], env=env, check=True, capture_output=True)
    updates = {
        args[3]: args
        for args in map(json.loads, calls.read_text().splitlines())
        if args[:3] == ["pubsub", "subscriptions", "update"] and "--dead-letter-topic" in args
    }

    def flag(args: list[str], name: str) -> str:
        return args[args.index(name) + 1]

    orders = updates["subscription-of-trigger-of-retries-take-order"]
    assert flag(orders, "--dead-letter-topic") == "orders-dead"
    assert flag(orders, "--max-delivery-attempts") == str(ORDERS.max_retries + 1)
    assert flag(orders, "--min-retry-delay") == "5s"
    assert flag(orders, "--max-retry-delay") == "120s"
    news = updates["subscription-of-trigger-of-retries-read-news"]
    assert (flag(news, "--max-delivery-attempts"), flag(news, "--min-retry-delay"),
            flag(news, "--max-retry-delay")) == ("5", "2s", "600s")
    once = updates["subscription-of-trigger-of-retries-once-only"]
    assert flag(once, "--max-delivery-attempts") == "5"
