# SPDX-License-Identifier: Apache-2.0
"""Repeated request headers and several ``Set-Cookie`` through the local runtime's ASGI app.

An ASGI server hands the app every header line as its own ``[name, value]`` pair ("repeated
headers ... are not merged", https://asgi.readthedocs.io/en/latest/specs/www.html#http-connection-scope),
and takes the response's pairs the same way, so nothing is joined either way: the local run
keeps apart what the clouds that keep it apart do (AWS multi-value maps, GCP's and Cloudflare's
Set-Cookie lines).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import portable_fn as pf
from portable_fn._local.runtime import Options

from .asgi_client import request

COOKIES = [
    "sid=abc; Path=/; Secure; HttpOnly; SameSite=None; Partitioned",
    "theme=dark; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
    "sid=; Path=/old; Max-Age=0",
]


def _app() -> pf.App:
    app = pf.App("repeats")

    @app.http("/echo", methods=["GET"])
    def echo(req: pf.Request) -> pf.Response:
        seen = {"cookie": req.headers.getall("cookie"), "cookies": req.cookies,
                "x_tag": req.headers.getall("x-tag")}
        headers = [("set-cookie", c) for c in COOKIES]
        return pf.Response.json(seen, headers=[*headers, ("link", "<a>"), ("link", "<b>")])

    return app


def _get(tmp_path: Path, headers: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], Any]:
    start, body, _ = request(_app(), Options(state_dir=tmp_path / "state"), "GET", "/echo", headers)
    pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
    return pairs, json.loads(body)


def test_repeated_request_headers_stay_apart_and_set_cookies_go_out_in_order(
    tmp_path: Path,
) -> None:
    pairs, seen = _get(tmp_path, [("cookie", "sid=abc"), ("x-tag", "a"), ("Cookie", "theme=dark"),
                                  ("X-Tag", "b, c")])
    assert seen == {"cookie": ["sid=abc", "theme=dark"], "cookies": {"sid": "abc", "theme": "dark"},
                    "x_tag": ["a", "b, c"]}
    assert [v for k, v in pairs if k.lower() == "set-cookie"] == COOKIES
    assert [v for k, v in pairs if k.lower() == "link"] == ["<a>", "<b>"]
