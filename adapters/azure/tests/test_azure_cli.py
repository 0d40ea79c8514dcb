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
