"""Routing when more than one route matches a path: the method decides, as in Werkzeug
(a rule that matches the path but not the method is skipped; 405 only when no rule takes the
method, ``Allow`` the union of every matching rule's methods) and Starlette (a partial match is
used only when no route matches fully), and as API Gateway and the Azure host do, which route
by method and path to one function each (so ``dispatch_http(..., function=)`` finds it)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import portable_fn as pf
from portable_fn.adapter import dispatch_http
from portable_fn.context import Context
from portable_fn.testing import http_request

CTX = Context(provider="test", function_name="http", invocation_id="i")


def _app() -> pf.App:
    app = pf.App("users")

    @app.http("/users/me", cors=pf.CORS(allow_origins=("https://app.example.com",)))
    def me(req: pf.Request) -> dict[str, Any]:
        return {"me": True}

    @app.http("/users/{user_id}", methods=["PUT", "DELETE"],
              cors=pf.CORS(allow_origins=("https://app.example.com",)))
    def change_user(req: pf.Request) -> dict[str, Any]:
        return {"changed": req.path_params["user_id"]}

    @app.http("/files/{path+}", methods=["POST"])
    def upload(req: pf.Request) -> dict[str, Any]:
        return {"upload": req.path_params["path"]}

    @app.http("/files/{folder}/{name}")
    def read(req: pf.Request) -> dict[str, Any]:
        return dict(req.path_params)

    return app


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/users/me", {"me": True}),
        ("HEAD", "/users/me", {"me": True}),
        ("PUT", "/users/me", {"changed": "me"}),  # the static route lacks PUT: the pattern has it
        ("DELETE", "/users/7", {"changed": "7"}),
        ("POST", "/files/a/b", {"upload": "a/b"}),
        ("GET", "/files/a/b", {"folder": "a", "name": "b"}),  # past the greedy route's POST
        ("HEAD", "/files/a/b", {"folder": "a", "name": "b"}),
    ],
)
def test_a_route_that_lacks_the_method_does_not_hide_one_that_has_it(
    method: str, path: str, expected: dict[str, Any]
) -> None:
    response = dispatch_http(_app(), http_request(method, path), CTX)
    assert response.status == 200
    if method == "HEAD":  # the GET route's answer without its content (RFC 9110 9.3.2)
        assert response.body == b""
        length = response.headers.get("content-length")
        response = dispatch_http(_app(), http_request("GET", path), CTX)
        assert length == str(len(response.body))  # the GET content's (RFC 9110 8.6)
    assert json.loads(response.body) == expected


def test_405_allows_every_method_of_every_route_matching_the_path() -> None:
    app = _app()
    response = dispatch_http(app, http_request("POST", "/users/me"), CTX)
    assert response.status == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD, PUT"
    response = dispatch_http(app, http_request("PATCH", "/files/a/b"), CTX)
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert dispatch_http(app, http_request("GET", "/nowhere"), CTX).status == 404


def test_local_routing_agrees_with_routing_by_function() -> None:
    """On AWS the HTTP API routes PUT /users/me to change_user's function: same answer."""
    app = _app()
    by_path = dispatch_http(app, http_request("PUT", "/users/me"), CTX)
    by_name = dispatch_http(app, http_request("PUT", "/users/me"), CTX, "change_user")
    assert (by_path.status, by_path.body) == (by_name.status, by_name.body)


def test_a_preflight_sees_the_methods_of_every_route_matching_the_path() -> None:
    request = http_request("OPTIONS", "/users/me", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT"})
    response = dispatch_http(_app(), request, CTX)
    assert response.status == 204
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert methods == {"GET", "PUT", "DELETE"}
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"


def test_a_greedy_route_yields_to_a_full_match_registered_after_it() -> None:
    """API Gateway HTTP API ("Routing API requests"): a full match for route and method comes
    before a match through a greedy ``{proxy+}`` variable, whatever the order routes were made
    in; Werkzeug tries its ``path`` converter last and ASP.NET (Azure) its catch-all last."""
    app = pf.App("files")

    @app.http("/files/{path+}")
    def anything(req: pf.Request) -> dict[str, Any]:
        return {"greedy": req.path_params["path"]}

    @app.http("/files/{folder}/{name}")
    def one(req: pf.Request) -> dict[str, Any]:
        return dict(req.path_params)

    def get(path: str) -> Any:
        return json.loads(dispatch_http(app, http_request("GET", path), CTX).body)

    assert get("/files/a/b") == {"folder": "a", "name": "b"}
    assert get("/files/a/b/c") == {"greedy": "a/b/c"}
    assert get("/files/a") == {"greedy": "a"}


@pytest.mark.parametrize(
    ("route", "says"),
    [
        ("/files/{*rest}", "write {rest+}"),
        ("/items/{id:int}", "write {id}"),
        ("/items/{id?}", "write {id} (a portable route has no optional parameter)"),
        ("/items/{id:int?}", "write {id} (a portable route has no optional parameter)"),
    ],
)
def test_a_segment_in_azures_route_syntax_names_the_portable_spelling(
    route: str, says: str
) -> None:
    """Azure Functions routes spell a catch-all ``{*rest}``, a constraint ``{id:int}`` and an
    optional parameter ``{id?}`` (Microsoft Learn, "Azure Functions HTTP trigger", Customize
    the HTTP endpoint): refused as a bare "malformed segment", with nothing of what to write."""
    app = pf.App("routes")
    with pytest.raises(pf.ConfigurationError, match="malformed segment") as refused:
        app.http(route)(lambda request: None)
    assert str(refused.value).endswith(f": {says}")
