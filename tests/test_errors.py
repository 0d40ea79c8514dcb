"""HTTP errors a handler raises: their status must be one a response can have."""

from __future__ import annotations

import json

import pytest

import portable_fn as pf
from portable_fn.adapter import dispatch_http
from portable_fn.context import Context
from portable_fn.testing import http_request

CTX = Context(provider="test", function_name="http", invocation_id="i")


@pytest.mark.parametrize("status", [99, 600, 700, 0, -1])
def test_an_http_error_with_an_impossible_status_is_refused_when_raised(status: int) -> None:
    """RFC 9110 section 15: a status code is three digits, 100-599. Werkzeug's ``abort(700)``
    raises ``LookupError`` in the handler: here a ``ValueError``, so the handler's bug is a
    500, and ``dispatch_http`` keeps its promise never to raise."""
    with pytest.raises(ValueError, match="100-599"):
        pf.HTTPError("nope", status=status)

    app = pf.App("errors")

    @app.http("/fail")
    def fail(req: pf.Request) -> None:
        raise pf.HTTPError("nope", status=status)

    response = dispatch_http(app, http_request("GET", "/fail"), CTX)
    assert response.status == 500
    assert json.loads(response.body)["error"]["message"] == "internal server error"


def test_an_http_error_with_a_real_status_keeps_it() -> None:
    app = pf.App("errors")

    @app.http("/teapot")
    def teapot(req: pf.Request) -> None:
        raise pf.HTTPError("short and stout", status=418)

    response = dispatch_http(app, http_request("GET", "/teapot"), CTX)
    assert response.status == 418
    assert json.loads(response.body) == {"error": {"status": 418, "message": "short and stout"}}
