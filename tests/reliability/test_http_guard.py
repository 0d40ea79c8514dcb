"""The HTTP Idempotency-Key guard in-process, on the real stores: what a replay carries, what
counts as the same request, and when a key is given back."""

from __future__ import annotations

import pytest

import portable_fn as pf
from portable_fn.http import Headers, QueryParams, Request, Response
from portable_fn.idempotency import store_from_url
from portable_fn.testing import invoke


def post(app: pf.App, query: str = "", body: bytes = b"", key: str = "k") -> Response:
    request = Request(
        method="POST",
        path="/things",
        query=QueryParams.from_string(query),
        body=body,
        headers=Headers({"idempotency-key": key}),
    )
    response = invoke(app, "things", request)
    assert isinstance(response, Response)
    return response


def test_a_binary_response_replays_status_headers_and_bytes(store_url: str) -> None:
    app = pf.App("binary")
    app.use_idempotency_store(store_from_url(store_url))
    runs: list[bytes] = []

    @app.http("/things", methods=["POST"], idempotent=True)
    def things(req: pf.Request) -> pf.Response:
        runs.append(req.body)
        return pf.Response.binary(
            bytes(range(256)),
            content_type="image/png",
            status=201,
            headers=[("set-cookie", "a=1"), ("set-cookie", "b=2"), ("x-id", "7")],
        )

    first = post(app, body=b"\x00\xff")
    again = post(app, body=b"\x00\xff")
    assert runs == [b"\x00\xff"]
    assert (again.status, again.body) == (201, bytes(range(256)))
    assert again.headers.getall("set-cookie") == ["a=1", "b=2"]
    assert again.headers.items() == [*first.headers.items(), ("idempotent-replayed", "true")]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("a=1&b=2", "a=1%26b%3D2"),  # one parameter whose value holds "&b=2"
        ("a%3Db=c", "a=b%3Dc"),  # "a=b" is "c", or "a" is "b=c"
        ("sort=name&sort=date", "sort=date&sort=name"),  # getall("sort") differs: ordered
    ],
)
def test_another_query_under_the_same_key_is_not_the_same_request(
    first: str, second: str
) -> None:
    app = pf.App("queries")
    app.use_idempotency_store(store_from_url("memory://"))
    seen: list[list[tuple[str, str]]] = []

    @app.http("/things", methods=["POST"], idempotent=True)
    def things(req: pf.Request) -> dict[str, int]:
        seen.append(req.query.items())
        return {"n": len(seen)}

    assert post(app, first).status == 200
    reused = post(app, second)
    assert reused.status == 422, reused.body  # not a replay of the first request's response
    assert len(seen) == 1


def test_a_return_value_that_is_no_response_gives_the_key_back() -> None:
    app = pf.App("bad-return")
    app.use_idempotency_store(store_from_url("memory://?lease=600"))
    results: list[object] = [{1, 2}, {"ok": True}]  # a set is no response: a 500 first

    @app.http("/things", methods=["POST"], idempotent=True)
    def things(req: pf.Request) -> object:
        return results.pop(0)

    assert post(app).status == 500
    # The failed attempt released its key: the retry runs now, not after the lease.
    retried = post(app)
    assert (retried.status, retried.body) == (200, b'{"ok":true}')


def test_the_order_of_different_query_names_is_not_a_different_request() -> None:
    app = pf.App("query-order")
    app.use_idempotency_store(store_from_url("memory://"))
    runs: list[str] = []

    @app.http("/things", methods=["POST"], idempotent=True)
    def things(req: pf.Request) -> dict[str, int]:
        runs.append(req.query.get("a") or "")
        return {"n": len(runs)}

    first = post(app, "a=1&b=2")
    again = post(app, "b=2&a=1")  # the same parameters, listed in another order
    assert (again.status, again.body) == (first.status, first.body)
    assert again.headers.get("idempotent-replayed") == "true"
    assert runs == ["1"]


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_a_safe_method_is_never_replayed(method: str) -> None:
    """RFC 9110 section 9.2.1: GET, HEAD, OPTIONS are safe, so idempotent already; the
    Idempotency-Key draft is for the methods that are not ("POST or PATCH",
    https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/), and Stripe
    says a key on a GET "has no effect" (https://docs.stripe.com/api/idempotent_requests).
    A client library that sends a key on every request must read the current state, not the
    one stored by its first read, and a HEAD is not a GET reusing the key (no 422)."""
    app = pf.App("safe")
    app.use_idempotency_store(store_from_url("memory://"))
    balance = [10]

    @app.http("/things", methods=["GET", "POST", "OPTIONS"], idempotent=True)
    def things(req: pf.Request) -> dict[str, int]:
        return {"balance": balance[0]}

    def read(method: str) -> Response:
        request = Request(method=method, path="/things",
                          headers=Headers({"idempotency-key": "every-request"}))
        response = invoke(app, "things", request)
        assert isinstance(response, Response)
        return response

    assert read("GET").status == 200
    balance[0] = 20
    again = read(method)
    assert again.status == 200, again.body
    assert "idempotent-replayed" not in again.headers
    if method != "HEAD":
        assert again.body == b'{"balance":20}'


@pytest.mark.parametrize("status", [408, 425, 429])
def test_a_response_that_asks_for_a_retry_gives_the_key_back(status: int) -> None:
    """408 Request Timeout and 429 Too Many Requests tell the client to repeat the request
    (RFC 9110 section 15.5.9, RFC 6585 section 4, with Retry-After), 425 Too Early likewise
    (RFC 8470 section 5.2): as with a 5xx, the retry must run, not replay the refusal. Stripe
    saves no result for a request that did not execute
    (https://docs.stripe.com/api/idempotent_requests)."""
    app = pf.App("retry-later")
    app.use_idempotency_store(store_from_url("memory://?lease=600"))
    answers = [pf.Response.json({"error": "slow down"}, status=status,
                                headers={"retry-after": "1"}),
               pf.Response.json({"id": 1}, status=201)]

    @app.http("/things", methods=["POST"], idempotent=True)
    def things(req: pf.Request) -> pf.Response:
        return answers.pop(0)

    assert post(app).status == status
    retried = post(app)
    assert (retried.status, retried.body) == (201, b'{"id":1}')
    assert "idempotent-replayed" not in retried.headers
    assert post(app).headers.get("idempotent-replayed") == "true"  # the 201 is the result


def test_an_azure_function_key_scopes_the_key_to_its_caller() -> None:
    """Azure's per-caller credential is the function (or host) key, in ``x-functions-key`` or the
    ``code`` query parameter (functions-bindings-http-webhook-trigger#api-key-authorization):
    another key is another caller, never replayed the first one's response nor refused with a
    422; the same caller's retry still replays."""
    app = pf.App("azure-keys")
    app.use_idempotency_store(store_from_url("memory://"))
    runs: list[str] = []

    @app.http("/things", methods=["POST"], idempotent=True)
    def things(req: pf.Request) -> dict[str, int]:
        runs.append(req.headers.get("x-functions-key") or req.query.get("code") or "")
        return {"run": len(runs)}

    def call(key: str, query: str = "", provider: str = "azure", **headers: str) -> Response:
        request = Request(method="POST", path="/things", query=QueryParams.from_string(query),
                          headers=Headers({"idempotency-key": key, **headers}))
        return invoke(app, "things", request, provider=provider)

    assert call("h", **{"x-functions-key": "alice"}).body == b'{"run":1}'
    bob = call("h", **{"x-functions-key": "bob"})
    assert (bob.body, bob.headers.get("idempotent-replayed")) == (b'{"run":2}', None)
    assert call("q", "code=alice").body == b'{"run":3}'
    assert call("q", "code=bob").body == b'{"run":4}'  # not a 422: another caller
    again = call("q", "code=alice")
    assert (again.body, again.headers.get("idempotent-replayed")) == (b'{"run":3}', "true")
    assert runs == ["alice", "bob", "alice", "bob"]
    # Elsewhere ``code`` is an ordinary parameter (an OAuth redirect's): the same key with
    # another one is another request under that key.
    assert call("o", "code=1", provider="test").status == 200
    assert call("o", "code=2", provider="test").status == 422


def json_post(app: pf.App, body: bytes, content_type: str = "application/json") -> Response:
    request = Request(method="POST", path="/things", body=body,
                      headers=Headers({"idempotency-key": "j", "content-type": content_type}))
    response = invoke(app, "things", request)
    assert isinstance(response, Response)
    return response


def test_a_json_body_rebuilt_on_retry_replays(store_url: str) -> None:
    """Powertools hashes the parsed JSON, sorted
    (https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/): a client that
    serialises its request anew on a retry (other key order, other spacing) sends the same
    request. Any other body is compared as bytes."""
    app = pf.App("json-body")
    app.use_idempotency_store(store_from_url(store_url))
    runs: list[bytes] = []

    @app.http("/things", methods=["POST"], idempotent=True)
    def things(req: pf.Request) -> dict[str, int]:
        runs.append(req.body)
        return {"n": len(runs)}

    assert json_post(app, b'{"payment_id":"p1","amount":5}').status == 200
    again = json_post(app, b'{"amount": 5, "payment_id": "p1"}', "application/json; charset=utf-8")
    assert (again.body, again.headers.get("idempotent-replayed")) == (b'{"n":1}', "true")
    assert json_post(app, b'{"amount": 6, "payment_id": "p1"}').status == 422
    assert len(runs) == 1


def test_a_text_body_stays_compared_as_bytes() -> None:
    app = pf.App("text-body")
    app.use_idempotency_store(store_from_url("memory://"))

    @app.http("/things", methods=["POST"], idempotent=True)
    def things(req: pf.Request) -> dict[str, bool]:
        return {"ok": True}

    assert json_post(app, b'{"a":1,"b":2}', "text/plain").status == 200
    assert json_post(app, b'{"b":2,"a":1}', "text/plain").status == 422


def test_a_record_with_the_byte_fingerprint_still_replays() -> None:
    """A retry across an upgrade: the response stored under the fingerprint of the body's
    bytes (the previous version's) replays for those same bytes."""
    from portable_fn.idempotency import http_guard
    from portable_fn.idempotency.guard import digest

    store = store_from_url("memory://")
    app = pf.App("upgrade")
    app.use_idempotency_store(store)
    runs: list[int] = []

    @app.http("/things", methods=["POST"], idempotent=True)
    def things(req: pf.Request) -> dict[str, int]:
        runs.append(1)
        return {"n": len(runs)}

    body = b'{"b": 2, "a": 1}'
    json_post(app, body)  # find the key this request claims, then rewrite its record
    (key,) = store._records  # type: ignore[attr-defined]
    old = digest('["POST", "/things", []]', body.decode("latin-1"))
    saved = http_guard._encode(pf.Response.json({"n": 99}), old)
    store.delete(key)
    now = __import__("time").time()
    assert store.acquire(key, "old", now + 60, now) is None
    store.complete(key, "old", saved, now + 3600, now)
    again = json_post(app, body)
    assert (again.status, again.body) == (200, b'{"n":99}')
    assert again.headers.get("idempotent-replayed") == "true"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_required_key_refuses_a_request_without_one(method: str) -> None:
    """draft-ietf-httpapi-idempotency-key-header section 2.7: "If the Idempotency-Key request
    header is missing for a documented idempotent operation requiring this header, the resource
    server SHOULD reply with an HTTP 400"; Powertools' ``raise_on_no_idempotency_key``."""
    app = pf.App("required")
    app.use_idempotency_store(store_from_url("memory://"))
    runs: list[str] = []

    @app.http("/things", methods=[method, "GET"], idempotent="required")
    def things(req: pf.Request) -> dict[str, int]:
        runs.append(req.method)
        return {"n": len(runs)}

    def call(method: str, **headers: str) -> Response:
        response = invoke(app, "things", Request(method=method, path="/things",
                                                 headers=Headers(headers)))
        assert isinstance(response, Response)
        return response

    refused = call(method)
    assert refused.status == 400 and refused.headers.get("content-type") == "application/json"
    assert "Idempotency-Key" in __import__("json").loads(refused.body)["error"]["message"]
    assert runs == []
    assert call("GET").status == 200  # a safe method needs none
    assert call(method, **{"idempotency-key": "k"}).status == 200
    assert call(method, **{"idempotency-key": "k"}).headers.get("idempotent-replayed") == "true"
    assert runs == ["GET", method]


@pytest.mark.parametrize("value", ["Required", "yes", 1, lambda req: "k"])
def test_an_http_idempotent_value_is_checked_when_decorated(value: object) -> None:
    app = pf.App("checked")
    with pytest.raises(pf.ConfigurationError, match="required"):

        @app.http("/things", methods=["POST"], idempotent=value)  # type: ignore[arg-type]
        def things(req: pf.Request) -> None: ...


def test_an_event_trigger_refuses_required() -> None:
    app = pf.App("event-required")
    with pytest.raises(pf.ConfigurationError):

        @app.queue("jobs", idempotent="required")  # type: ignore[arg-type]
        def job(event: pf.CloudEvent) -> None: ...


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_one_entry_for_every_route_keys_each_function_apart(mode: str) -> None:
    """A Worker and ``portable-fn dev`` serve every route from one entry, whose context is
    built before routing, with no function name: every idempotent route shared one key space,
    so a key used on /payments was refused on /refunds (422), and handlers saw
    ``ctx.function_name == ""``. Routed, the context names the function, as on AWS."""
    import asyncio

    from portable_fn._dispatch_http import dispatch_http, dispatch_http_async
    from portable_fn.context import Context
    from portable_fn.idempotency import MemoryStore

    app = pf.App("one-entry")
    app.use_idempotency_store(MemoryStore())
    seen: list[str] = []

    @app.http("/payments", methods=["POST"], idempotent=True)
    def payments(req: pf.Request, ctx: pf.Context) -> dict[str, str]:
        seen.append(ctx.function_name)
        return {"function": ctx.function_name}

    @app.http("/refunds", methods=["POST"], idempotent=True)
    def refunds(req: pf.Request, ctx: pf.Context) -> dict[str, str]:
        seen.append(ctx.function_name)
        return {"function": ctx.function_name}

    statuses = []
    for path in ("/payments", "/refunds"):
        request = Request(method="POST", path=path, body=b"{}",
                          headers=Headers({"idempotency-key": "same"}))
        ctx = Context(provider="cloudflare", function_name="", invocation_id=path)
        response = (dispatch_http(app, request, ctx) if mode == "sync"
                    else asyncio.run(dispatch_http_async(app, request, ctx)))
        statuses.append(response.status)
    assert statuses == [200, 200]
    assert seen == ["payments", "refunds"]
