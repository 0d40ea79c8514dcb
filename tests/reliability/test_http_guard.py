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
