# SPDX-License-Identifier: Apache-2.0
"""CORS on Cloud Run functions: an HTTP function gets every method, OPTIONS included, so the
browser's preflight reaches it and the core answers; proven on the real functions-framework
server (gunicorn + Flask) serving the generated main.py, over a socket.

functions-framework mounts an HTTP function on ``/`` and ``/<path:path>`` with no method list
(``_configure_app``: "create endpoints that route all methods"), and Google's own CORS sample
answers OPTIONS inside the function
(https://cloud.google.com/functions/docs/samples/functions-http-cors): there is no platform
CORS layer in front. The preflight is the Fetch standard's
(https://fetch.spec.whatwg.org/#cors-preflight-fetch).
"""

from __future__ import annotations

import http.client
import json
import textwrap
from pathlib import Path

from conftest import _package, _targets
from servers import start, stop, wait_ready

SITE = "https://app.example.com"
APP = f'''
import portable_fn as pf

app = pf.App("corsgcp", cors=pf.CORS(allow_origins=("{SITE}",), max_age=120))

@app.http("/orders/{{order_id}}", methods=["GET", "DELETE"], auth="anonymous")
def order(req):
    return {{"id": req.path_params["order_id"]}}
'''


def _call(port: int, method: str, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request(method, path, headers=headers)
    return conn.getresponse()


def test_preflight_and_actual_request_through_functions_framework(tmp_path: Path) -> None:
    source = tmp_path / "corsgcp.py"
    source.write_text(textwrap.dedent(APP))
    dist = _package(f"{source}:app", tmp_path / "dist")
    assert _targets(dist) == ["order"]
    server = start(dist, "order", {}, tmp_path)
    try:
        wait_ready(server)
        pre = _call(server.port, "OPTIONS", "/orders/7", {
            "Origin": SITE, "Access-Control-Request-Method": "DELETE"})
        assert pre.status == 204, server.output()
        pre.read()
        assert pre.headers["Access-Control-Allow-Origin"] == SITE
        assert pre.headers["Access-Control-Allow-Methods"] == "DELETE, GET"
        assert pre.headers["Access-Control-Max-Age"] == "120"
        actual = _call(server.port, "GET", "/orders/7", {"Origin": SITE})
        assert actual.status == 200
        assert json.loads(actual.read()) == {"id": "7"}
        assert actual.headers["Access-Control-Allow-Origin"] == SITE
        assert actual.headers["Vary"] == "Origin"
    finally:
        stop(server)
