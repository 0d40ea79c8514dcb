# SPDX-License-Identifier: Apache-2.0
"""HTTP: ``HttpRequest`` built by the library's own converter from the host's RpcHttp, through
the generated function, to the ``HttpResponse`` the worker encodes for the host."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func
import pytest
from portable_fn import App, Response
from portable_fn.testing import RecordingPublisher

from portable_fn_azure import function_app, worker
from portable_fn_azure import http as http_codec
from portable_fn_azure._functionapp import FALLBACK


def test_request_fields(event: Any) -> None:
    req = worker.decode(event("http_post_json"))
    request = http_codec.to_request(req)
    assert request.method == "POST"
    assert request.path == "/orders"
    assert request.query.getall("tag") == ["a", "b"]  # from the URL, not the host's last-wins map
    assert request.headers["Content-Type"] == "application/json"
    assert request.cookies == {"session": "abc", "theme": "dark"}
    assert request.client_ip == "203.0.113.7"
    assert request.json() == {"sku": "blue-mug", "id": "o-1"}


@pytest.mark.parametrize(("forwarded", "ip"), [
    ("203.0.113.7:52314", "203.0.113.7"), ("203.0.113.7", "203.0.113.7"),
    ("[2001:db8::1]:443", "2001:db8::1"), ("2001:db8::1", "2001:db8::1"),
    ("", None),
    # The front end appends the address it saw to what the client sent: a client's own
    # X-Forwarded-For (forged or from its proxy) is never taken for the caller.
    ("6.6.6.6, 203.0.113.7:52314", "203.0.113.7"), ("198.51.100.2:1, 10.0.0.1", "10.0.0.1"),
    ("6.6.6.6,[2001:db8::1]:443", "2001:db8::1"),
])
def test_client_ip(forwarded: str, ip: str | None) -> None:
    from portable_fn.http import Headers

    assert http_codec.client_ip(Headers({"x-forwarded-for": forwarded})) == ip


def test_a_forwarded_for_header_the_client_sent_is_not_its_address(event: Any) -> None:
    """The host's request, as App Service's front end passes it on when the client sent its
    own ``X-Forwarded-For``: the front end's entry comes last, and is the one read."""
    native = event("http_post_json")
    native["data"]["value"]["headers"]["x-forwarded-for"] = "6.6.6.6, 203.0.113.7:52314"
    assert http_codec.to_request(worker.decode(native)).client_ip == "203.0.113.7"


def test_shop_create_then_get(shop: Any, event: Any) -> None:
    app, recorder = shop
    native = function_app(app)
    created = worker.invoke(native, "create_order", event("http_post_json"))
    assert isinstance(created, func.HttpResponse)
    assert created.status_code == 202
    body = json.loads(created.get_body())
    assert body["id"] == "o-1"
    [published] = recorder.sent
    assert (published.kind, published.name) == ("topic", "order-events")
    assert published.event.id == body["event_id"]
    assert published.event.source == "/portable-fn/shop/create_order"
    got = worker.invoke(native, "get_order", event("http_get_route"))
    assert got.status_code == 200
    assert json.loads(got.get_body()) == {"sku": "blue-mug", "id": "o-1"}
    datum = worker.encode_http_return(got)  # what goes back to the host
    assert datum.value["status_code"].value == "200"
    assert datum.value["headers"]["content-type"].value == "application/json"


def _request(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
             ) -> dict[str, Any]:
    import base64

    return {"binding": "httpTrigger", "data": {"type": "http", "value": {
        "method": method, "url": f"https://x.azurewebsites.net{path}",
        "headers": headers or {}, "query": {}, "params": {},
        "body": {"type": "bytes", "base64": base64.b64encode(body).decode()}}}}


def _app() -> tuple[App, Any]:
    app = App("web")
    app.use_publisher(RecordingPublisher())

    @app.http("/boom", methods=["GET"])
    def boom(req: Any) -> None:
        raise RuntimeError("secret detail")

    @app.http("/echo", methods=["POST"])
    def echo(req: Any) -> Any:
        return req.json()

    @app.http("/cookies", methods=["GET"])
    def cookies(req: Any) -> Response:
        return Response.binary(b"\x00\xff", content_type="image/png", headers=[
            ("set-cookie", "a=1; Path=/"), ("set-cookie", "b=2; HttpOnly")])

    @app.http("/slow", methods=["GET"])
    async def slow(req: Any) -> dict[str, str]:
        return {"async": "yes"}

    return app, function_app(app)


def test_handler_exception_is_a_json_500_without_traceback() -> None:
    _, native = _app()
    resp = worker.invoke(native, "boom", _request("GET", "/boom"))
    assert resp.status_code == 500
    text = resp.get_body().decode()
    assert json.loads(text)["error"]["status"] == 500
    assert "secret detail" not in text and "Traceback" not in text


def test_bad_json_is_a_400() -> None:
    _, native = _app()
    resp = worker.invoke(native, "echo", _request("POST", "/echo", b"{nope",
                                                   {"content-type": "application/json"}))
    assert resp.status_code == 400
    assert json.loads(resp.get_body())["error"]["status"] == 400


def test_unrouted_and_wrong_method_reach_the_fallback() -> None:
    _, native = _app()
    missing = worker.invoke(native, FALLBACK, _request("GET", "/nothing-here"))
    assert missing.status_code == 404
    assert json.loads(missing.get_body())["error"]["status"] == 404
    wrong = worker.invoke(native, FALLBACK, _request("DELETE", "/echo"))
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"


def test_the_catch_alls_route_value_is_not_a_static_routes_parameter() -> None:
    """The host hands `admin/...` and `/` to the catch-all function (route `{*path}`), whose
    route value is the path: a static route reached that way has no path parameters, as on
    every other provider."""
    app = App("web", auth="anonymous")
    seen: list[dict[str, str]] = []

    @app.http("/admin/stats", methods=["GET"])
    def stats(req: Any) -> None:
        seen.append(dict(req.path_params))

    invocation = _request("GET", "/admin/stats")
    invocation["data"]["value"]["params"] = {"path": "admin/stats"}
    assert worker.invoke(function_app(app), FALLBACK, invocation).status_code == 204
    assert seen == [{}]


def test_the_anonymous_catch_all_never_runs_a_function_that_takes_a_key() -> None:
    """The host sends the catch-all what it did not route to a function: a HEAD on a GET route
    registered without HEAD reached the handler of an ``auth="function"`` route with no key
    checked. GET routes now take HEAD themselves, and the catch-all answers 401 for any
    key-protected function it would otherwise run; 404, 405 and preflights are as before."""
    app = App("keys")
    ran: list[str] = []

    @app.http("/private", methods=["GET"], auth="function")
    def private(req: Any) -> dict[str, bool]:
        ran.append(req.method)
        return {"secret": True}

    @app.http("/public", methods=["GET"], auth="anonymous")
    def public(req: Any) -> dict[str, bool]:
        ran.append("public")
        return {"ok": True}

    routed = {  # the function.json the worker reports (an indexed app is indexed once)
        f.get_function_name(): json.loads(f.get_function_json())["bindings"][0]["methods"]
        for f in function_app(app).get_functions()
    }
    native = function_app(app)
    assert routed["private"] == ["GET", "HEAD"] and routed["public"] == ["GET", "HEAD"]
    for method in ("GET", "HEAD"):
        refused = worker.invoke(native, FALLBACK, _request(method, "/private"))
        assert refused.status_code == 401, method
        assert json.loads(refused.get_body())["error"]["status"] == 401
    assert ran == []
    assert worker.invoke(native, FALLBACK, _request("POST", "/private")).status_code == 405
    assert worker.invoke(native, FALLBACK, _request("GET", "/public")).status_code == 200
    assert worker.invoke(native, "private", _request("HEAD", "/private")).status_code == 200
    assert ran == ["public", "HEAD"]


def test_binary_body_and_several_cookies_reach_the_host() -> None:
    _, native = _app()
    resp = worker.invoke(native, "cookies", _request("GET", "/cookies"))
    assert resp.get_body() == b"\x00\xff"
    assert resp.mimetype == "image/png"
    datum = worker.encode_http_return(resp)
    cookies = [m.OutputString() for c in datum.value["cookies"] for m in c.values()]
    assert cookies == ["a=1; Path=/", "b=2; HttpOnly"]
    assert "set-cookie" not in {k.lower() for k in datum.value["headers"]}


def test_async_handler() -> None:
    _, native = _app()
    resp = worker.invoke(native, "slow", _request("GET", "/slow"))
    assert json.loads(resp.get_body()) == {"async": "yes"}


def test_an_adapter_failure_is_a_json_500_not_a_bare_host_500() -> None:
    _, native = _app()
    req = func.HttpRequest(method="POST", url="https://x.azurewebsites.net/echo",
                           headers={"content-type": "application/json"}, body=b"{}")
    object.__setattr__(req, "_HttpRequest__method", None)  # breaks the codec itself
    resp = worker.invoke(native, "echo", req)
    assert resp.status_code == 500
    assert json.loads(resp.get_body()) == {"error": {"status": 500, "message": "internal error"}}


def _host_request(path_and_query: str, route_params: dict[str, str]) -> dict[str, Any]:
    """An RpcHttp as the host builds it: ``Url`` is ``{scheme}://{Host}{Path}{QueryString}``,
    and ASP.NET Core's ``PathString`` prints percent-encoded, while route values are decoded
    (azure-functions-host src/WebJobs.Script.Grpc/MessageExtensions/
    GrpcMessageConversionExtensions.cs, ``ToRpcHttp``)."""
    return {"binding": "httpTrigger", "data": {"type": "http", "value": {
        "method": "GET", "url": f"https://shop.azurewebsites.net{path_and_query}",
        "headers": {"accept": "application/json"}, "query": {}, "params": route_params}}}


def test_percent_encoded_path_is_decoded_like_every_other_provider() -> None:
    """``Request.path`` is decoded (core contract; the AWS, GCP and Cloudflare adapters decode
    it): a path parameter with a space or a non-ASCII character reaches the handler as the
    character, not as ``%20`` / ``%E2%82%AC``.
    https://learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger"""
    app = App("files")
    app.use_publisher(RecordingPublisher())

    @app.http("/files/{name}", methods=["GET"])
    def files(req: Any) -> dict[str, str]:
        return {"path": req.path, "name": req.path_params["name"]}

    native = function_app(app)
    request = http_codec.to_request(worker.decode(
        _host_request("/files/hello%20w%C3%B6rld.txt?v=%E2%82%AC", {"name": "hello wörld.txt"})))
    assert request.path == "/files/hello wörld.txt"
    assert request.query["v"] == "€"
    resp = worker.invoke(native, "files", _host_request(
        "/files/hello%20w%C3%B6rld.txt", {"name": "hello wörld.txt"}))
    assert json.loads(resp.get_body()) == {"path": "/files/hello wörld.txt",
                                           "name": "hello wörld.txt"}



def _sent_to_host(event: Any, headers: list[tuple[str, str]]) -> tuple[dict[str, str], list[Any]]:
    """The header map and the cookie morsels the worker hands the host (RpcHttp ``headers`` and
    ``cookies``) when the handler of the documented GET request returns ``headers``."""
    app = App("headers")
    app.use_publisher(RecordingPublisher())

    @app.http("/orders/{order_id}", methods=["GET"])
    def get_order(req: Any) -> Response:
        return Response.json({"id": req.path_params["order_id"]}, headers=headers)

    resp = worker.invoke(function_app(app), "get_order", event("http_get_route"))
    assert resp.status_code == 200
    datum = worker.encode_http_return(resp).value
    morsels = [m for jar in datum["cookies"] or [] for m in jar.values()]
    return {k: v.value for k, v in datum["headers"].items()}, morsels


def test_repeated_response_headers_all_reach_the_host(event: Any) -> None:
    """A handler may repeat a list-valued field (``Vary``, ``Link``, ``Cache-Control``); the
    worker's reply to the host is a map of one string per name, so the values travel combined
    with ", ", which RFC 9110 section 5.3 makes equivalent, instead of all but the last being
    dropped. https://learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-output
    https://www.rfc-editor.org/rfc/rfc9110#section-5.3"""
    sent, _ = _sent_to_host(event, [
        ("vary", "Origin"), ("vary", "Accept-Encoding"),
        ("link", "</app.css>; rel=preload; as=style"),
        ("link", "</app.js>; rel=preload; as=script"),
        ("x-request-id", "r-1")])
    assert sent["vary"] == "Origin, Accept-Encoding"
    assert sent["link"] == "</app.css>; rel=preload; as=style, </app.js>; rel=preload; as=script"
    assert sent["x-request-id"] == "r-1"
    assert sent["content-type"] == "application/json"


def test_set_cookie_variants_each_reach_the_host_as_that_cookie(event: Any) -> None:
    """Real Set-Cookie values the library's SimpleCookie mangles before the worker builds the
    RpcHttpCookie list: ``Partitioned`` (CHIPS) dropped the whole cookie, ``Priority=High``
    became a second cookie named ``Priority``, an RFC 850 ``Expires`` (RFC 6265 section 5.1.1
    accepts it) dropped the cookie, and an unreadable one made the worker's date parser fail the
    invocation. https://www.rfc-editor.org/rfc/rfc6265#section-5.2 ,
    https://developer.mozilla.org/docs/Web/HTTP/Headers/Set-Cookie"""
    _, morsels = _sent_to_host(event, [
        ("set-cookie", "__Host-sid=abc; Path=/; Secure; HttpOnly; SameSite=None; Partitioned"),
        ("set-cookie", "pref=dark; Max-Age=3600; Priority=High"),
        ("set-cookie", "legacy=1; expires=Wednesday, 21-Oct-26 07:28:00 GMT; path=/"),
        ("set-cookie", "odd=1; Expires=never; Max-Age=soon"),
    ])
    assert [(m.key, m.value) for m in morsels] == [
        ("__Host-sid", "abc"), ("pref", "dark"), ("legacy", "1"), ("odd", "1")]
    sid, pref, legacy, odd = morsels
    assert (sid["path"], sid["secure"], sid["httponly"], sid["samesite"]) == ("/", True, True,
                                                                           "None")
    assert pref["max-age"] == "3600"
    assert (legacy["expires"], legacy["path"]) == ("Wed, 21 Oct 2026 07:28:00 GMT", "/")
    assert (odd["expires"], odd["max-age"]) == ("", "")  # ignored, as a user agent would


def _host_reply(response: Response) -> Any:
    """What the worker hands the host (RpcHttp) when a GET handler returns ``response``."""
    app = App("out")
    app.use_publisher(RecordingPublisher())
    app.http("/out", methods=["GET"], name="out")(lambda req: response)
    resp = worker.invoke(function_app(app), "out", _request("GET", "/out"))
    return worker.encode_http_return(resp).value


@pytest.mark.parametrize("status", [204, 205, 304])
def test_a_status_without_content_reaches_the_host_without_the_body(status: int) -> None:
    """RFC 9110 sections 15.3.5, 15.3.6, 15.4.5: no content in a 204, 205 or 304. The host's
    Kestrel throws on a body write for them ("Writing to the response body is invalid for
    responses with status code 204", aspnet/KestrelHttpServer#1818), so the client got a bare
    500 or a reset instead of the handler's status; the body is dropped, as elsewhere."""
    sent = _host_reply(Response(status=status, headers={"etag": '"v1"'}, body=b"stale"))
    assert sent["status_code"].value == str(status)
    assert sent["body"].value == b""
    assert sent["headers"]["etag"].value == '"v1"'


@pytest.mark.parametrize(
    "response",
    [
        Response(status=103, headers={"link": "</a.css>; rel=preload"}),
        Response(headers={"x-name": "café"}, body="ok"),  # Latin-1, not ASCII
        Response(headers={"x-name": "日本"}, body="ok"),
        Response(headers={"x-a": "v\x1b[2J"}, body="ok"),
        Response(headers={"x name": "v"}, body="ok"),
    ],
    ids=["1xx", "latin-1", "non-latin-1", "control", "bad-name"],
)
def test_a_response_the_host_cannot_send_is_a_json_500(response: Response) -> None:
    """A 1xx is interim (RFC 9110 section 15.2), not an answer. The host's Kestrel refuses a
    response header value outside ASCII or with a control character ("Invalid non-ASCII or
    control character in header", dotnet/aspnetcore#4727, #26334) and a name that is not a
    token: the client got a bare 500 with no body. Now the portable JSON 500, the reason
    logged."""
    sent = _host_reply(response)
    assert sent["status_code"].value == "500"
    assert json.loads(sent["body"].value) == {
        "error": {"status": 500, "message": "internal server error"}}
    assert set(sent["headers"]) == {"content-type"}


def test_a_chunked_body_the_host_dropped_is_a_411_not_an_empty_body() -> None:
    """The host copies a request body into the RpcHttp only when ``Content-Length`` is above
    zero (azure-functions-host GrpcMessageConversionExtensions.cs ``ToRpcHttp``), so a
    ``Transfer-Encoding: chunked`` POST reaches the worker without its body
    (https://github.com/Azure/azure-functions-host/issues/4926, #7930, open). The handler ran
    on ``b""`` and answered as if the client had sent nothing; now the client gets 411 Length
    Required (RFC 9110 section 15.5.12) and can resend with a length, and no handler runs."""
    _, native = _app()
    sent = _request("POST", "/echo", headers={"content-type": "application/json",
                                                "transfer-encoding": "chunked"})
    del sent["data"]["value"]["body"]  # what the host sends: no body at all
    resp = worker.invoke(native, "echo", sent)
    assert resp.status_code == 411
    assert json.loads(resp.get_body())["error"]["status"] == 411
    # A GET has no content to lose (RFC 9110 section 9.3.1): a proxy's empty chunked GET runs.
    chunked_get = _request("GET", "/slow", headers={"transfer-encoding": "chunked"})
    del chunked_get["data"]["value"]["body"]
    assert worker.invoke(native, "slow", chunked_get).status_code == 200
    uploads = App("uploads")
    uploads.use_publisher(RecordingPublisher())

    @uploads.http("/upload", methods=["PUT"])
    async def upload(req: Any) -> dict[str, int]:
        return {"size": len(req.body)}

    chunked_put = _request("PUT", "/upload", headers={"transfer-encoding": "chunked"})
    del chunked_put["data"]["value"]["body"]
    assert worker.invoke(function_app(uploads), "upload", chunked_put).status_code == 411
    # A chunked body that did arrive (a front end that buffered it) runs as usual.
    arrived = worker.invoke(native, "echo", _request(
        "POST", "/echo", b'{"a": 1}', {"content-type": "application/json",
                                       "transfer-encoding": "chunked"}))
    assert (arrived.status_code, json.loads(arrived.get_body())) == (200, {"a": 1})


def test_an_idempotency_key_is_scoped_to_the_callers_function_key() -> None:
    """Two clients with their own function keys (``x-functions-key`` or ``?code=``,
    learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger#api-key-authorization)
    that pick the same Idempotency-Key: the second runs as its own request, neither replayed the
    first one's response nor refused with a 422; a retry with the same key replays."""
    from portable_fn.http import Headers, QueryParams, Request
    from portable_fn.idempotency import store_from_url

    from portable_fn_azure.adapter import AzureAdapter

    app = App("azure-keys")
    app.use_idempotency_store(store_from_url("memory://"))
    runs: list[str] = []

    @app.http("/orders", methods=["POST"], idempotent=True)
    def create(req: Any) -> Response:
        runs.append(req.headers.get("x-functions-key") or req.query.get("code"))
        return Response.json({"run": len(runs)}, status=201)

    harness = AzureAdapter().harness()

    def post(query: str = "", **headers: str) -> Response:
        return harness.http(app, Request(
            method="POST", path="/orders", query=QueryParams.from_string(query), body=b"{}",
            headers=Headers({"idempotency-key": "k1", "content-type": "application/json",
                             **headers})))

    assert post(**{"x-functions-key": "alice"}).body == b'{"run":1}'
    bob = post(**{"x-functions-key": "bob"})
    assert (bob.status, bob.body, bob.headers.get("idempotent-replayed")) == (
        201, b'{"run":2}', None)
    assert post("code=carol").body == b'{"run":3}'
    dave = post("code=dave")
    assert (dave.status, dave.body) == (201, b'{"run":4}')
    retry = post("code=carol")
    assert (retry.body, retry.headers.get("idempotent-replayed")) == (b'{"run":3}', "true")
    assert runs == ["alice", "bob", "carol", "dave"]


def _bodiless_app() -> App:
    from portable_fn import CORS

    app = App("bodiless", cors=CORS(allow_origins=("https://app.example.com",)))

    @app.http("/things", methods=["POST"], cors=True, auth="anonymous")
    def things(req: Any) -> Response:
        kind = req.query.get("kind")
        if kind == "redirect":
            return Response(status=302, headers={"location": "/elsewhere"})
        if kind == "typed":  # a content type the handler set stays, body or none
            return Response(status=204, headers={"content-type": "application/json"})
        if kind == "bytes":  # a body without a type keeps the neutral type
            return Response(body=b"\x00")
        return Response(status=204)

    return app


@pytest.mark.parametrize(("method", "query", "status", "content_type"), [
    ("OPTIONS", "", 204, None),  # the core's CORS preflight answer
    ("POST", "", 204, None),
    ("POST", "?kind=redirect", 302, None),
    ("POST", "?kind=typed", 204, "application/json"),
    ("POST", "?kind=bytes", 200, "application/octet-stream"),
])
def test_a_bodiless_response_carries_no_content_type_it_was_not_given(
        method: str, query: str, status: int, content_type: str | None) -> None:
    """The worker's encoder (``azure.functions`` ``HttpResponseConverter.encode``) writes a
    ``content-type`` whenever the response has none; the host sets it as the response's
    ``ContentType`` (azure-functions-host ``RawScriptResult``), and ASP.NET Core removes the
    header for an empty value. So a response without a body or a content type of its own goes
    out with none, as on AWS, GCP and Cloudflare, instead of ``application/octet-stream``."""
    from portable_fn.testing import http_request

    from portable_fn_azure.adapter import AzureAdapter

    app = _bodiless_app()
    doc = _request(method, "/things" + query, headers={
        "origin": "https://app.example.com", "access-control-request-method": "POST"})
    resp = worker.invoke(function_app(app), "things", doc)
    sent = worker.encode_http_return(resp).value  # what the host receives
    assert int(sent["status_code"].value) == status
    assert sent["headers"]["content-type"].value == (content_type or "")
    harnessed = AzureAdapter().harness().http(app, http_request(
        method, "/things" + query, headers={"Origin": "https://app.example.com",
                                            "Access-Control-Request-Method": "POST"}))
    assert (harnessed.status, harnessed.headers.get("content-type")) == (status, content_type)
