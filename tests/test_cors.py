"""CORS for HTTP routes (``pf.CORS``, ``App(cors=)``, ``@app.http(cors=)``), the same on every
provider because the core answers it.

What a browser sends and expects is the Fetch standard's CORS protocol:
https://fetch.spec.whatwg.org/#http-cors-protocol (a preflight is an OPTIONS request with
``Origin`` and ``Access-Control-Request-Method``; section 3.2.3 says which headers answer it and
an actual request; section 3.2.5 when ``Vary: Origin`` is needed). The headers below are the
ones MDN's "Cross-Origin Resource Sharing" examples show
(https://developer.mozilla.org/docs/Web/HTTP/CORS).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

import portable_fn as pf
from portable_fn.adapter import dispatch_http, dispatch_http_async
from portable_fn.context import Context
from portable_fn.testing import http_request

SITE = "https://app.example.com"
OTHER = "https://evil.example.net"
CTX = Context(provider="test", function_name="http", invocation_id="i")


def _preflight(path: str, method: str = "POST", origin: str = SITE,
               request_headers: str | None = "content-type") -> pf.Request:
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if request_headers:
        headers["Access-Control-Request-Headers"] = request_headers
    return http_request("OPTIONS", path, headers=headers)


def _shop(cors: Any = True, app_cors: pf.CORS | None = None) -> tuple[pf.App, list[str]]:
    app = pf.App("shop", cors=app_cors)
    called: list[str] = []

    @app.http("/orders", methods=["GET"], cors=cors)
    def list_orders(req: pf.Request) -> list[Any]:
        called.append("list")
        return []

    @app.http("/orders", methods=["POST", "DELETE"], cors=cors)
    def create_order(req: pf.Request) -> pf.Response:
        called.append("create")
        return pf.Response.json({"ok": True}, status=201, headers={"X-Order-Id": "7"})

    @app.http("/orders/{order_id}", cors=cors)
    def get_order(req: pf.Request) -> dict[str, str]:
        called.append("get")
        if req.path_params["order_id"] == "missing":
            raise pf.NotFound("no such order")
        if req.path_params["order_id"] == "boom":
            raise RuntimeError("secret detail")
        return {"id": req.path_params["order_id"]}

    @app.http("/health")
    def health(req: pf.Request) -> str:
        return "ok"

    return app, called


# -- preflight --------------------------------------------------------------------------------


def test_preflight_is_answered_204_by_the_core_with_every_method_on_the_path() -> None:
    app, called = _shop()
    response = dispatch_http(app, _preflight("/orders"), CTX)
    assert response.status == 204
    assert response.body == b""
    headers = response.headers
    assert headers["access-control-allow-origin"] == "*"
    methods = {m.strip() for m in headers["access-control-allow-methods"].split(",")}
    assert methods == {"GET", "POST", "DELETE"}
    allowed = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    # What Chalice's and Powertools' CORSConfig always allow ("required headers"): a browser
    # that signs with SigV4 (IAM auth, the AWS default) sends X-Amz-Date and
    # X-Amz-Security-Token, and an API key X-Api-Key; a narrower list failed their preflight.
    assert {"content-type", "authorization", "x-amz-date", "x-api-key",
            "x-amz-security-token"} <= allowed
    assert "access-control-allow-credentials" not in headers
    assert "access-control-max-age" not in headers
    assert called == []  # never reaches a handler


def test_preflight_on_a_patterned_path_and_through_a_named_function() -> None:
    """AWS and Azure route a preflight to one function of the path (by name): same answer."""
    app, called = _shop()
    by_route = dispatch_http(app, _preflight("/orders/42", "GET"), CTX)
    by_name = dispatch_http(app, _preflight("/orders", "DELETE"), CTX, "list_orders")
    assert by_route.status == by_name.status == 204
    assert by_route.headers["access-control-allow-methods"] == "GET"
    assert "DELETE" in by_name.headers["access-control-allow-methods"]
    assert called == []


def test_plain_options_and_paths_without_cors_keep_todays_405() -> None:
    app, _ = _shop()
    plain = dispatch_http(app, http_request("OPTIONS", "/orders"), CTX)
    no_method = dispatch_http(app, http_request("OPTIONS", "/orders",
                                                headers={"Origin": SITE}), CTX)
    no_cors = dispatch_http(app, _preflight("/health", "GET"), CTX)
    for response in (plain, no_method, no_cors):
        assert response.status == 405
        assert json.loads(response.body)["error"]["status"] == 405
    # Not a preflight, so no 204; but a CORS path's 405 is readable by the page, as a
    # handler's own error is. A path without CORS stays as it was.
    assert no_method.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-origin" not in no_cors.headers
    assert dispatch_http(app, _preflight("/nowhere"), CTX).status == 404


def test_routing_errors_carry_the_cors_headers_a_page_needs_to_read_them() -> None:
    # A page on an allowed origin that calls a wrong method or a wrong path gets the JSON error
    # it can read, not an opaque CORS failure (Powertools adds them to its 404 too).
    app, _ = _shop(cors=None, app_cors=pf.CORS(allow_origins=(SITE,)))
    wrong_method = dispatch_http(app, http_request("PUT", "/orders/7", headers={"Origin": SITE}),
                                 CTX)
    wrong_path = dispatch_http(app, http_request("GET", "/ordres", headers={"Origin": SITE}), CTX)
    other = dispatch_http(app, http_request("GET", "/ordres", headers={"Origin": OTHER}), CTX)
    assert (wrong_method.status, wrong_path.status) == (405, 404)
    for response in (wrong_method, wrong_path):
        assert response.headers["access-control-allow-origin"] == SITE
        assert response.headers["vary"] == "Origin"
        assert json.loads(response.body)["error"]["status"] == response.status
    assert "access-control-allow-origin" not in other.headers
    # An app without CORS answers its 404 as before.
    plain, _ = _shop(cors=False)
    lost = dispatch_http(plain, http_request("GET", "/ordres", headers={"Origin": SITE}), CTX)
    assert lost.status == 404 and "access-control-allow-origin" not in lost.headers


def test_preflight_from_an_origin_not_allowed_gets_no_cors_headers() -> None:
    app, _ = _shop(cors=pf.CORS(allow_origins=(SITE,)))
    response = dispatch_http(app, _preflight("/orders", origin=OTHER), CTX)
    assert response.status == 204  # not an error: the browser refuses on the missing headers
    assert not [n for n in response.headers if n.startswith("access-control-")]
    assert response.headers["vary"] == "Origin"


def test_preflight_with_credentials_max_age_and_extra_headers() -> None:
    cors = pf.CORS(allow_origins=(SITE, "http://localhost:3000"), allow_headers=("X-Api-Key",),
                   max_age=600, allow_credentials=True)
    app, _ = _shop(cors=cors)
    response = dispatch_http(app, _preflight("/orders", origin="http://localhost:3000"), CTX)
    assert response.status == 204
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-max-age"] == "600"
    assert response.headers["vary"] == "Origin"
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"]
               .split(",")}
    assert {"x-api-key", "content-type", "authorization"} <= allowed


# -- actual requests --------------------------------------------------------------------------


def test_actual_response_carries_allow_origin_and_expose_headers() -> None:
    app, called = _shop(cors=pf.CORS(expose_headers=("X-Order-Id",)))
    response = dispatch_http(
        app, http_request("POST", "/orders", json={}, headers={"Origin": SITE}), CTX
    )
    assert response.status == 201 and called == ["create"]
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-expose-headers"] == "X-Order-Id"
    assert response.headers["x-order-id"] == "7"
    # A wildcard answer is the same for every origin: no Vary (Fetch section 3.2.5).
    assert "vary" not in response.headers


def test_allowed_origin_is_echoed_with_vary_and_credentials() -> None:
    app, _ = _shop(cors=pf.CORS(allow_origins=(SITE,), allow_credentials=True))
    response = dispatch_http(app, http_request("GET", "/orders", headers={"Origin": SITE}), CTX)
    assert response.status == 200
    assert response.headers["access-control-allow-origin"] == SITE
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["vary"] == "Origin"


def test_disallowed_or_missing_origin_gets_no_cors_headers_but_vary() -> None:
    app, called = _shop(cors=pf.CORS(allow_origins=(SITE,)))
    for headers in ({"Origin": OTHER}, {}):
        response = dispatch_http(app, http_request("GET", "/orders", headers=headers), CTX)
        assert response.status == 200
        assert "access-control-allow-origin" not in response.headers
        # Section 3.2.5: a response that depends on Origin says so to caches, CORS or not.
        assert response.headers["vary"] == "Origin"
    assert called == ["list", "list"]


@pytest.mark.parametrize(
    ("path", "status"), [("/orders/missing", 404), ("/orders/boom", 500)]
)
def test_error_responses_of_a_cors_route_carry_the_headers(path: str, status: int) -> None:
    app, _ = _shop(cors=pf.CORS(allow_origins=(SITE,)))
    response = dispatch_http(app, http_request("GET", path, headers={"Origin": SITE}), CTX)
    assert response.status == status
    assert json.loads(response.body)["error"]["status"] == status
    assert b"secret detail" not in response.body
    assert response.headers["access-control-allow-origin"] == SITE


def test_validation_422_carries_the_headers() -> None:
    app = pf.App("shop", cors=pf.CORS())

    @app.http("/orders", methods=["POST"], cors=True)
    def create(req: pf.Request) -> None:
        raise pf.errors.UnprocessableEntity("bad order", errors=[{"loc": ["sku"]}])

    response = dispatch_http(
        app, http_request("POST", "/orders", json={}, headers={"Origin": SITE}), CTX
    )
    assert response.status == 422
    assert response.headers["access-control-allow-origin"] == "*"


def test_a_handlers_own_vary_and_allow_origin_are_kept() -> None:
    app = pf.App("shop", cors=pf.CORS(allow_origins=(SITE,)))

    @app.http("/a", cors=True)
    def a(req: pf.Request) -> pf.Response:
        return pf.Response.text("a", headers={"Vary": "Accept-Encoding"})

    @app.http("/b", cors=True)
    def b(req: pf.Request) -> pf.Response:
        return pf.Response.text("b", headers={"Access-Control-Allow-Origin": "https://x.test"})

    first = dispatch_http(app, http_request("GET", "/a", headers={"Origin": SITE}), CTX)
    assert first.headers.getall("vary") == ["Accept-Encoding, Origin"]
    second = dispatch_http(app, http_request("GET", "/b", headers={"Origin": SITE}), CTX)
    assert second.headers.getall("access-control-allow-origin") == ["https://x.test"]


def test_async_dispatch_answers_the_same() -> None:
    app, called = _shop(cors=pf.CORS(allow_origins=(SITE,)))

    async def run() -> tuple[pf.Response, pf.Response]:
        pre = await dispatch_http_async(app, _preflight("/orders"), CTX)
        actual = await dispatch_http_async(
            app, http_request("GET", "/orders/9", headers={"Origin": SITE}), CTX
        )
        return pre, actual

    pre, actual = asyncio.run(run())
    assert pre.status == 204 and pre.headers["access-control-allow-origin"] == SITE
    assert actual.status == 200 and actual.headers["access-control-allow-origin"] == SITE
    assert called == ["get"]


# -- per-route settings -----------------------------------------------------------------------


def test_app_default_and_per_route_overrides() -> None:
    app = pf.App("shop", cors=pf.CORS(allow_origins=(SITE,)))

    @app.http("/default")
    def default(req: pf.Request) -> str:
        return "d"

    @app.http("/off", cors=False)
    def off(req: pf.Request) -> str:
        return "o"

    @app.http("/own", cors=pf.CORS(allow_origins=(OTHER,)))
    def own(req: pf.Request) -> str:
        return "w"

    def origin_for(path: str, origin: str) -> str | None:
        request = http_request("GET", path, headers={"Origin": origin})
        return dispatch_http(app, request, CTX).headers.get("access-control-allow-origin")

    assert origin_for("/default", SITE) == SITE
    assert origin_for("/off", SITE) is None
    assert origin_for("/own", OTHER) == OTHER and origin_for("/own", SITE) is None
    assert dispatch_http(app, _preflight("/off", "GET"), CTX).status == 405
    assert app.function("off").cors is None
    assert app.function("default").cors == pf.CORS(allow_origins=(SITE,))


def test_cors_true_without_an_app_default_is_the_permissive_default() -> None:
    app = pf.App("shop")

    @app.http("/x", cors=True)
    def x(req: pf.Request) -> str:
        return "x"

    @app.http("/y")
    def y(req: pf.Request) -> str:
        return "y"

    assert app.function("x").cors == pf.CORS()
    assert app.function("y").cors is None
    plain = dispatch_http(app, http_request("GET", "/y", headers={"Origin": SITE}), CTX)
    assert not [n for n in plain.headers if n.startswith("access-control-") or n == "vary"]


# -- validation at construction and decoration -------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"allow_credentials": True},  # "*" with credentials: Fetch forbids it
        {"allow_origins": ()},
        {"allow_origins": ("*", SITE)},
        {"allow_origins": ("https://app.example.com/",)},  # an Origin never has a path or '/'
        {"allow_origins": ("app.example.com",)},
        {"allow_origins": ("null",)},
        # Origins are compared exactly, so a pattern never matched any: every page of the
        # user's subdomains was refused without a word (Starlette takes a regex for this).
        {"allow_origins": ("https://*.example.com",)},
        {"allow_origins": ("https://app.example.*",)},
        {"allow_headers": ("bad header",)},
        {"expose_headers": ("x:y",)},
        {"allow_origins": (SITE,), "allow_credentials": True, "expose_headers": ("*",)},
        {"max_age": -1},
        {"max_age": True},
        {"allow_credentials": "yes"},
    ],
)
def test_bad_cors_settings_raise_configuration_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(pf.ConfigurationError):
        pf.CORS(**kwargs)


def test_cors_values_are_frozen_and_normalised() -> None:
    cors = pf.CORS(allow_origins=["HTTPS://App.Example.com"], allow_headers=["X-A"])  # type: ignore[arg-type]
    assert cors.allow_origins == (SITE,)
    assert cors.allow_headers == ("X-A",)
    with pytest.raises(AttributeError):
        cors.max_age = 5  # type: ignore[misc]
    assert pf.CORS(allow_origins=SITE) == pf.CORS(allow_origins=(SITE,))  # type: ignore[arg-type]


def test_bad_cors_at_decoration_is_a_configuration_error() -> None:
    app = pf.App("shop")
    with pytest.raises(pf.ConfigurationError):
        app.http("/x", cors="yes")  # type: ignore[arg-type]
    with pytest.raises(pf.ConfigurationError):
        pf.App("shop", cors=True)  # type: ignore[arg-type]
    # The core answers a CORS route's preflight: an OPTIONS handler there would never run.
    with pytest.raises(pf.ConfigurationError, match="OPTIONS"):
        app.http("/x", methods=["GET", "OPTIONS"], cors=True)
    assert app.http("/x", methods=["OPTIONS"], cors=False)


# -- the local runtime, through a real HTTP client ---------------------------------------------


LOCAL_APP = '''
import portable_fn as pf

app = pf.App("corsdev", cors=pf.CORS(allow_origins=("{site}",), max_age=60))

@app.http("/orders", methods=["GET", "POST"], cors=True, auth="anonymous")
def orders(req):
    return {{"n": 1}}
'''


def test_local_dev_server_answers_preflight_over_http(tmp_path: Path) -> None:
    """``portable-fn dev`` (the real CLI, a real socket): preflight, then the actual request."""
    from tests.local.devserver import DevServer

    source = tmp_path / "corsapp.py"
    source.write_text(textwrap.dedent(LOCAL_APP.format(site=SITE)))
    server = DevServer(str(source), tmp_path / "state")
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("OPTIONS", "/orders", headers={
            "Origin": SITE, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        pre = conn.getresponse()
        pre.read()
        assert pre.status == 204
        assert pre.getheader("access-control-allow-origin") == SITE
        assert set(pre.getheader("access-control-allow-methods", "").replace(" ", "")
                   .split(",")) == {"GET", "POST"}
        assert pre.getheader("access-control-max-age") == "60"
        conn.request("POST", "/orders", body=b"{}", headers={
            "Origin": SITE, "Content-Type": "application/json"})
        actual = conn.getresponse()
        assert json.loads(actual.read()) == {"n": 1}
        assert actual.getheader("access-control-allow-origin") == SITE
        assert actual.getheader("vary") == "Origin"
        conn.close()
    finally:
        server.stop()
