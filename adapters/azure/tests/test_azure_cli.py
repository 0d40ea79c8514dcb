# SPDX-License-Identifier: Apache-2.0
"""``portable-fn inspect`` through the Azure adapter names the poison queue the Functions host
moves a message to after its last attempt: ``<queue>-poison`` on Storage Queues, the default
(https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#poison-messages)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from portable_fn.cli import main

SHOP = str(Path(__file__).resolve().parents[3] / "examples" / "shop" / "app.py")


def test_inspect_names_the_poison_queue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", SHOP, "--json"]) == 0
    dead = json.loads(capsys.readouterr().out)["dead_letters"]
    assert dead["azure"]["fulfil"] == "fulfilment-poison"


def test_invoke_with_another_triggers_sample_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The worker would hand a queue trigger a ServiceBusMessage and the handler's first read
    # would raise AttributeError, reported as the function's failure (exit 1).
    argv = ["invoke", SHOP, "fulfil", "--provider", "azure", "--event", "servicebus"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("portable-fn invoke: ") and "queueTrigger" in err
    assert "samples for it: queue" in err
