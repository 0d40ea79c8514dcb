"""CORS on AWS: the SAM template routes each CORS path's preflight to a function, and the
function answers it (the core's CORS, the same on every provider).

An HTTP API passes OPTIONS to the integration when the API has no CORS configuration of its own
("If you configure CORS for an API, API Gateway automatically sends a response to preflight
OPTIONS requests ... API Gateway ignores CORS headers returned from your backend integration":
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html), so the template
sets none and declares one ``OPTIONS`` route per CORS path. A browser's preflight carries no
credentials, so that route has no authorizer (re:Post, "JWT authorizers and CORS": a dedicated
OPTIONS route without authentication). The event is SAM's documented HTTP API sample
(``sam local generate-event apigateway http-api-proxy``, events/sam_apigw_v2.json).
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

from test_aws_target import _cfn_lint, _package, _template

import portable_fn as pf
from portable_fn_aws import lambda_handler
from portable_fn_aws.native import InvokeContext

EVENTS = Path(__file__).parent / "events"
SITE = "https://app.example.com"


def _app() -> pf.App:
    app = pf.App("corsshop", cors=pf.CORS(allow_origins=(SITE,), max_age=300))

    @app.http("/orders", methods=["GET"], cors=True)
    def list_orders(req: pf.Request) -> list[Any]:
        return []

    @app.http("/orders", methods=["POST"], cors=True, auth="anonymous")
    def create_order(req: pf.Request) -> dict[str, bool]:
        return {"ok": True}

    @app.http("/orders/{order_id}", methods=["GET", "DELETE"])  # the app's default: CORS
    def order(req: pf.Request) -> dict[str, str]:
        return {"id": req.path_params["order_id"]}

    @app.http("/health", cors=False)
    def health(req: pf.Request) -> str:
        return "ok"

    return app


def _options_events(resources: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Function logical id -> its OPTIONS route events' properties."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name, resource in resources.items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "HttpApi" and event["Properties"]["Method"] == "OPTIONS":
                found.setdefault(name, []).append(event["Properties"])
    return found


def test_one_options_route_per_cors_path_without_auth_and_lint_clean(tmp_path: Path) -> None:
    _package(_app(), "cors_app", tmp_path)
    result = _cfn_lint(tmp_path / "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    resources = _template(tmp_path)["Resources"]
    options = _options_events(resources)
    # One per path even though two functions share /orders: API Gateway refuses a duplicate
    # route key. None for /health, which has no CORS.
    assert {name: [p["Path"] for p in props] for name, props in options.items()} == {
        "ListOrdersFunction": ["/orders"],
        "OrderFunction": ["/orders/{order_id}"],
    }
    for props in (p for group in options.values() for p in group):
        assert "Auth" not in props  # a preflight carries no credentials
    # No CORS configuration on the API: it would answer preflight itself and drop ours.
    assert "CorsConfiguration" not in resources["HttpApi"]["Properties"]


def _preflight_event(path: str) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(json.loads((EVENTS / "sam_apigw_v2.json").read_text()))
    event.update(routeKey=f"OPTIONS {path}", rawPath=path, rawQueryString="", body=None,
                 isBase64Encoded=False, cookies=None, queryStringParameters=None)
    event["headers"] = {"origin": SITE, "access-control-request-method": "DELETE",
                        "access-control-request-headers": "content-type"}
    event["requestContext"]["http"].update(method="OPTIONS", path=path)
    event["requestContext"]["routeKey"] = f"OPTIONS {path}"
    return event


def test_the_function_owning_the_options_route_answers_the_preflight() -> None:
    app = _app()
    out = lambda_handler(app, "order")(_preflight_event("/orders/42"), InvokeContext())
    assert out["statusCode"] == 204
    headers = {k.lower(): v for k, v in out["headers"].items()}
    assert headers["access-control-allow-origin"] == SITE
    assert headers["access-control-allow-methods"] == "DELETE, GET"
    assert headers["access-control-max-age"] == "300"
    assert not out.get("body")


def test_actual_response_through_lambda_carries_the_headers() -> None:
    app = _app()
    event = _preflight_event("/orders/42")
    event["requestContext"]["http"]["method"] = "GET"
    out = lambda_handler(app, "order")(event, InvokeContext())
    assert out["statusCode"] == 200
    body = out["body"]
    raw = base64.b64decode(body) if out.get("isBase64Encoded") else body.encode()
    assert json.loads(raw) == {"id": "42"}
    headers = {k.lower(): v for k, v in out["headers"].items()}
    assert headers["access-control-allow-origin"] == SITE
    assert headers["vary"] == "Origin"
