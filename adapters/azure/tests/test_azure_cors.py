# SPDX-License-Identifier: Apache-2.0
"""CORS on Azure: one function per CORS path takes OPTIONS, so the host routes the preflight to
it and the core answers; the platform's own CORS is reported, since it answers first.

The HTTP trigger's ``methods`` decide which requests reach a function, and a function-key
route's preflight carries no key, so where the anonymous catch-all exists it takes them
(https://learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger);
App Service CORS (``az functionapp cors``, https://learn.microsoft.com/cli/azure/functionapp/cors,
and ``Host.CORS`` in local.settings.json for Core Tools) answers preflight before any function
runs. The invocation is the documented RpcHttp shape of events/http_get_route.json, decoded by
the ``azure.functions`` library itself (``worker.invoke``).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import azure.functions as func
from portable_fn import CORS, App, Request

from portable_fn_azure import AzureOptions, function_app, worker
from portable_fn_azure._functionapp import FALLBACK
from portable_fn_azure.findings import findings

SITE = "https://app.example.com"


def _app() -> App:
    app = App("corsshop", cors=CORS(allow_origins=(SITE,)))

    @app.http("/orders", methods=["GET"], cors=True)
    def list_orders(req: Request) -> list[Any]:
        return []

    @app.http("/orders", methods=["POST"], cors=True)
    def create_order(req: Request) -> dict[str, bool]:
        return {"ok": True}

    @app.http("/orders/{order_id}", methods=["GET", "DELETE"], auth="anonymous")
    def order(req: Request) -> dict[str, str]:
        return {"id": req.path_params["order_id"]}

    @app.http("/health", cors=False)
    def health(req: Request) -> str:
        return "ok"

    return app


def _methods(app: App, options: AzureOptions | None = None) -> dict[str, list[str]]:
    out = {}
    for f in function_app(app, options).get_functions():
        meta = json.loads(f.get_function_json())
        trigger = next(b for b in meta["bindings"] if b["type"] == "httpTrigger")
        out[f.get_function_name()] = [m.upper() for m in trigger["methods"]]
    return out


def test_one_function_per_cors_path_takes_options() -> None:
    methods = _methods(_app())
    assert methods["order"] == ["GET", "DELETE", "HEAD", "OPTIONS"]
    # /orders needs a function key: its preflight, which carries none, is left to the anonymous
    # catch-all (every method), not to a function the host would answer 401 for.
    assert methods["list_orders"] == ["GET", "HEAD"] and methods["create_order"] == ["POST"]
    assert "OPTIONS" in methods[FALLBACK]
    assert methods["health"] == ["GET", "HEAD"]
    # Without the catch-all, the first CORS function of the path takes it (one per path).
    alone = _methods(_app(), AzureOptions(http_fallback=False))
    assert alone["list_orders"] == ["GET", "HEAD", "OPTIONS"]
    assert alone["create_order"] == ["POST"]
    assert FALLBACK not in alone


def _preflight(event: Any, path: str, params: dict[str, str]) -> dict[str, Any]:
    invocation: dict[str, Any] = copy.deepcopy(event("http_get_route"))
    value = invocation["data"]["value"]
    value.update(method="OPTIONS", url=f"https://shop.azurewebsites.net{path}", params=params)
    value["headers"] = {"origin": SITE, "access-control-request-method": "POST"}
    return invocation


def test_the_function_taking_options_answers_the_preflight(event: Any) -> None:
    native = function_app(_app())
    response = worker.invoke(native, FALLBACK, _preflight(event, "/orders", {"path": "orders"}))
    assert isinstance(response, func.HttpResponse)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == SITE
    assert response.headers["access-control-allow-methods"] == "GET, POST"
    other = worker.invoke(native, "order", _preflight(event, "/orders/o-1", {"order_id": "o-1"}))
    assert other.status_code == 204
    assert other.headers["access-control-allow-methods"] == "DELETE, GET"
    alone = function_app(_app(), AzureOptions(http_fallback=False))
    owner = worker.invoke(alone, "list_orders", _preflight(event, "/orders", {}))
    assert owner.status_code == 204


def test_findings_say_platform_cors_shadows_ours() -> None:
    found = [f for f in findings(_app()) if "CORS" in f.message]
    assert found and all(f.level == "info" for f in found)
    assert any("az functionapp cors" in f.message for f in found)
    # A function-key route's preflight carries no x-functions-key header.
    assert any(f.function == "list_orders" and "portable_fn_fallback" in f.message for f in found)
    assert not [f for f in found if f.function in ("order", "health")]
    alone = findings(_app(), AzureOptions(http_fallback=False))
    assert any(f.function == "list_orders" and "code=" in f.message for f in alone)
