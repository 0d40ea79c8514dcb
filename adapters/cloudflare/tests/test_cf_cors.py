# SPDX-License-Identifier: Apache-2.0
"""CORS on Cloudflare Workers: a Worker's ``fetch`` receives every method, OPTIONS included (no
platform CORS layer: Cloudflare's own example answers preflight in the Worker,
https://developers.cloudflare.com/workers/examples/cors-header-proxy/), so the core answers it.
Proven on the generated Worker running on real Pyodide with the real ``workers`` SDK, fed real
JS ``Request`` objects (``pyodide_worker.py``); the preflight is the Fetch standard's
(https://fetch.spec.whatwg.org/#cors-preflight-fetch).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cf_apps.cors_app import SITE
from conftest import package_app
from pyodide_worker import PyodideWorker

URL = "https://corscf.example.workers.dev/orders/"


@pytest.fixture(scope="module")
def cors_worker(sdk_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PyodideWorker]:
    dist = package_app("cf_apps.cors_app:app", tmp_path_factory.mktemp("cors") / "cloudflare")
    worker = PyodideWorker(sdk_dir, dist)
    yield worker
    worker.close()


def test_preflight_reaches_the_worker_and_is_answered(cors_worker: PyodideWorker) -> None:
    reply = cors_worker.call("fetch", method="OPTIONS", url=URL + "7", headers=[
        ["origin", SITE], ["access-control-request-method", "PUT"],
        ["access-control-request-headers", "content-type"]])
    assert reply["status"] == 204
    headers = dict(reply["headers"])
    assert headers["access-control-allow-origin"] == SITE
    assert headers["access-control-allow-methods"] == "GET, PUT"
    assert "content-type" in headers["access-control-allow-headers"].lower()


def test_actual_and_error_responses_carry_the_headers(cors_worker: PyodideWorker) -> None:
    ok = cors_worker.call("fetch", method="GET", url=URL + "7", headers=[["origin", SITE]])
    assert ok["status"] == 200
    assert json.loads(base64.b64decode(ok["body_b64"])) == {"id": "7"}
    headers = dict(ok["headers"])
    assert headers["access-control-allow-origin"] == SITE
    assert headers["access-control-expose-headers"] == "X-Order-Id"
    assert headers["vary"] == "Origin"
    missing = cors_worker.call("fetch", method="GET", url=URL + "missing",
                               headers=[["origin", SITE]])
    assert missing["status"] == 404
    assert dict(missing["headers"])["access-control-allow-origin"] == SITE
