# SPDX-License-Identifier: Apache-2.0
"""``async def`` handlers on the generated Worker under real Pyodide: a handler that ends
cancelled fails its own message (the rest of the batch is settled), and a plain function that
returns a coroutine (a decorator that is not async-aware) has it awaited, not dropped."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import package_app
from pyodide_worker import PyodideWorker

from portable_fn.events import from_dict


@pytest.fixture(scope="module")
def async_worker(
    sdk_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PyodideWorker]:
    dist = package_app("cf_apps.async_app:app", tmp_path_factory.mktemp("asyncs") / "cloudflare")
    worker = PyodideWorker(sdk_dir, dist)
    yield worker
    worker.close()


def _message(id: str, body: Any) -> dict[str, Any]:
    return {"id": id, "timestamp": 1732370400000, "attempts": 1, "body": body}


def test_a_cancelled_async_handler_retries_its_message_only(async_worker: PyodideWorker) -> None:
    batch = async_worker.call(
        "queue",
        queue="waits",
        messages=[_message("a", {"n": 1}), _message("c", {"mode": "cancel"}),
                  _message("b", {"n": 2})],
    )
    assert batch["error"] is None, async_worker.logs()
    assert [(c["id"], c["op"]) for c in batch["calls"]] == [
        ("a", "ack"), ("c", "retry"), ("b", "ack")
    ]
    assert [from_dict(s["body"]).data for s in batch["sent"]] == [
        {"done": {"n": 1}}, {"done": {"n": 2}}
    ]


def test_a_cancelled_async_http_handler_is_a_json_500(async_worker: PyodideWorker) -> None:
    reply = async_worker.call("fetch", method="GET", url="https://a.example.workers.dev/cancelled")
    assert reply["status"] == 500
    body = json.loads(base64.b64decode(reply["body_b64"]))
    assert body["error"]["status"] == 500


def test_a_coroutine_a_plain_function_returns_is_awaited(async_worker: PyodideWorker) -> None:
    batch = async_worker.call("queue", queue="wrapped", messages=[_message("w", {"n": 3})])
    assert batch["calls"] == [{"id": "w", "op": "ack"}]
    assert [from_dict(s["body"]).data for s in batch["sent"]] == [{"wrapped": {"n": 3}}]
    assert "never awaited" not in async_worker.logs()
    reply = async_worker.call("fetch", method="GET", url="https://a.example.workers.dev/wrapped")
    assert reply["status"] == 200
    assert json.loads(base64.b64decode(reply["body_b64"])) == {"wrapped": True}
