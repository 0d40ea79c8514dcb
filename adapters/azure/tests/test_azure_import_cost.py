# SPDX-License-Identifier: Apache-2.0
"""What importing loads, checked in a fresh interpreter: the entry point object loads nothing
from Azure; the generated entry loads azure.functions (the host indexes it) but no SDK."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from portable_fn_azure.adapter import AzureAdapter

REPO = Path(__file__).resolve().parents[3]

PROBE = """
import json, sys
{setup}
{statement}
print(json.dumps(sorted(m for m in sys.modules if m.startswith("azure"))))
"""


def _loaded(statement: str, setup: str = "", cwd: Path = REPO) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(setup=setup, statement=statement)],
                          cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    found: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_entry_point_object_loads_nothing_from_azure() -> None:
    assert _loaded("import portable_fn_azure.adapter") == []


def test_generated_entry_loads_no_sdk(shop: Any, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = shop
    monkeypatch.chdir(REPO)
    out = tmp_path / "azure"
    AzureAdapter().package(app, "examples.shop.app:app", out)
    loaded = _loaded("import function_app", setup=f"sys.path.insert(0, {str(out)!r})", cwd=out)
    assert "azure.functions" in loaded
    sdks = [m for m in loaded if m.split(".")[1:2] in (["storage"], ["servicebus"], ["eventgrid"],
                                                     ["core"])]
    assert sdks == []


# What a cold start needs only once a function runs: the trigger codecs, the invocation
# plumbing and the publisher.
_FIRST_INVOCATION = [
    "portable_fn_azure._invoke", "portable_fn_azure._invoke_events",
    "portable_fn_azure._invoke_http", "portable_fn_azure._payload", "portable_fn_azure.blob_events",
    "portable_fn_azure.blob_trigger", "portable_fn_azure.eventgrid", "portable_fn_azure.eventhub",
    "portable_fn_azure.http", "portable_fn_azure.publisher", "portable_fn_azure.servicebus",
    "portable_fn_azure.storage_queue", "portable_fn_azure.timer",
]


def test_generated_entry_loads_codecs_on_first_invocation_only(
    shop: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = shop
    monkeypatch.chdir(REPO)
    out = tmp_path / "azure"
    AzureAdapter().package(app, "examples.shop.app:app", out)
    probe = f"""
import json, sys
sys.path.insert(0, {str(out)!r})
import function_app
loaded = [m for m in {_FIRST_INVOCATION!r} if m in sys.modules]
from portable_fn_azure import worker
worker.invoke(function_app.app, "fulfil", {{"binding": "queueTrigger",
    "data": {{"type": "string", "value": '{{"id": "o-1", "sku": "book"}}'}},
    "metadata": {{"Id": "m-1", "DequeueCount": 1}}}})
print(json.dumps([loaded, [m for m in {_FIRST_INVOCATION!r} if m in sys.modules]]))
"""
    done = subprocess.run([sys.executable, "-c", probe], cwd=out, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    at_import, after_queue = json.loads(done.stdout.strip().splitlines()[-1])
    assert at_import == []
    # The queue function's first run loads its codec and the plumbing, and nothing for the
    # other triggers (HTTP, Service Bus, Event Grid, blobs, timers, Event Hubs).
    assert "portable_fn_azure.storage_queue" in after_queue
    assert not {"portable_fn_azure.http", "portable_fn_azure.servicebus",
                "portable_fn_azure.eventgrid", "portable_fn_azure.timer"} & set(after_queue)


def test_entry_freezes_the_framework_and_collects_the_apps_garbage(tmp_path: Path) -> None:
    """Cold start: function_app.py imports the framework with the collector paused and freezes
    it with what the worker loaded (``gc.freeze``), so no collection scans those objects again.
    The app imports as usual: a cycle it drops while importing is still collected, and the
    collector ends as it was found. A fresh interpreter, azure.functions loaded first, as the
    Python worker loads it before indexing the entry."""
    import shutil

    from portable_fn._local.loader import load_app

    source = shutil.copy(REPO / "tests" / "fixtures" / "gc_probe_app.py", tmp_path)
    out = tmp_path / "azure"
    AzureAdapter().package(load_app(str(source)), str(source), out)
    probe = "import azure.functions, function_app, gc_probe_app; gc_probe_app.report()"
    for before, enabled in (("", "True"), ("import gc; gc.disable(); ", "False")):
        done = subprocess.run([sys.executable, "-c", before + probe], cwd=out,
                              capture_output=True, text=True, timeout=120)
        assert done.stdout.split() == [enabled, enabled, "True", "True"], done.stderr
