# SPDX-License-Identifier: Apache-2.0
"""Repeated request headers and several ``Set-Cookie`` through the library's own converters
(``HttpRequestConverter.decode`` from the host's RpcHttp, ``HttpResponseConverter.encode`` to
it), both ways.

In: the host's RpcHttp ``headers`` is a map of one string per name (azure-functions-host
``ToRpcHttp``), so a header a client sent twice arrives joined; ``getall`` gives that one value,
and ``Request.cookies`` splits two joined Cookie lines again.
Out: the worker's reply has the same one-string map plus a list of cookies
(``RpcHttp.cookies``): each Set-Cookie goes as one cookie, in order, which the host then writes
with ASP.NET Core's ``Response.Cookies.Append`` (azure-functions-host ``RawScriptResult``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from portable_fn import App, Response
from portable_fn.testing import RecordingPublisher

from portable_fn_azure import function_app, worker
from portable_fn_azure import http as http_codec


def _host_request(headers: dict[str, str]) -> dict[str, Any]:
    return {"binding": "httpTrigger", "data": {"type": "http", "value": {
        "method": "GET", "url": "https://shop.azurewebsites.net/echo",
        "headers": headers, "query": {}, "params": {}}}}


def test_a_header_the_host_joined_is_one_value_and_cookies_split_again() -> None:
    request = http_codec.to_request(worker.decode(_host_request(
        {"x-tag": "red, blue", "cookie": "sid=abc; theme=dark, lang=en"})))
    assert request.headers.getall("x-tag") == ["red, blue"]  # as the host joined it
    assert request.headers.getall("cookie") == ["sid=abc; theme=dark, lang=en"]
    assert request.cookies == {"sid": "abc", "theme": "dark", "lang": "en"}


def _reply(headers: list[tuple[str, str]]) -> tuple[dict[str, str], list[Any]]:
    """The header map and the cookie morsels, in order, the worker hands the host."""
    app = App("out")
    app.use_publisher(RecordingPublisher())
    app.http("/echo", methods=["GET"], name="out")(
        lambda req: Response.json({"ok": True}, headers=headers))
    resp = worker.invoke(function_app(app), "out", _host_request({}))
    assert resp.status_code == 200
    datum = worker.encode_http_return(resp).value
    morsels = [m for jar in datum["cookies"] or [] for m in jar.values()]
    return {k: v.value for k, v in datum["headers"].items()}, morsels


def test_set_cookies_reach_the_host_one_cookie_each_in_order() -> None:
    """Three cookies, two of one name (a new ``sid`` and the delete of an older path's): three
    RpcHttpCookies in the handler's order, none folded into another."""
    sent, morsels = _reply([
        ("set-cookie", "sid=new; Path=/; HttpOnly"),
        ("link", "</a.css>; rel=preload"), ("link", "</b.js>; rel=preload"),
        ("set-cookie", "theme=dark; Expires=Wed, 21 Oct 2026 07:28:00 GMT"),
        ("set-cookie", "sid=; Path=/old; Max-Age=0"),
    ])
    assert [(m.key, m.value, m["path"]) for m in morsels] == [
        ("sid", "new", "/"), ("theme", "dark", ""), ("sid", "", "/old")]
    assert sent["link"] == "</a.css>; rel=preload, </b.js>; rel=preload"
    assert "set-cookie" not in {name.lower() for name in sent}


def test_a_repeated_attribute_keeps_its_last_value_as_a_user_agent_reads_it() -> None:
    """The host writes each cookie's attributes in ASP.NET Core's own order and spelling
    (``name=value; expires=...; max-age=...; domain=...; path=...; secure; samesite=...;
    httponly``: ``SetCookieHeaderValue``), not the handler's. RFC 6265 section 5.2 reads both
    the same (names fold case; of one attribute given twice the last counts, section 5.3), which
    holds here too: the morsel keeps the last ``Path``."""
    _, [morsel] = _reply([("set-cookie", "a=1; path=/x; SECURE; Path=/y; samesite=strict")])
    assert (morsel["path"], morsel["secure"], morsel["samesite"]) == ("/y", True, "strict")


@pytest.mark.parametrize("cookie", [
    "version=2; Path=/",  # named like an attribute: SimpleCookie dropped it
    "prefs={\"a\":1}",  # a double quote inside the value: dropped
    "note=hello world",  # a space in the value: dropped
    "pair=1, other=2",  # a comma: split into two cookies
    "a/b=1",  # a separator in the name: CookieError in the encoder, a bare host 500
])
def test_a_cookie_the_worker_cannot_carry_is_left_out_and_named_in_a_warning(
    cookie: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, morsels = _reply([("set-cookie", "sid=abc"), ("set-cookie", cookie)])
    assert [(m.key, m.value) for m in morsels] == [("sid", "abc")]  # the response still goes
    written = capsys.readouterr()
    lines = [json.loads(line) for line in (written.out + written.err).splitlines() if line]
    [warning] = [line for line in lines if line.get("severity") == "WARNING"]
    assert warning["dropped"] == [cookie.partition("=")[0]]
