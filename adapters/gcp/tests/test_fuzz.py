"""Done-means 3 (gcp): hypothesis damages Google's published sample events (events/: Pub/Sub
and Cloud Storage data in binary mode with the ``ce-*`` headers Eventarc sends, structured
Pub/Sub and Storage events) and delivers them over HTTP to the function the generated
``main.py`` serves (every single damage exhaustively first, all distinct failures listed at
once, then hypothesis's random draws), under functions-framework's real Flask app (its test
client: no socket).

Properties (one message per delivery: 2xx acknowledges it, anything else has Pub/Sub/Eventarc
redeliver it until the dead-letter policy moves it aside):
- every refusal is the adapter's own JSON error (400 malformed, 422 refused for good, 500
  handler failed), never functions-framework's crash page: no untyped error escaped;
- an acknowledged Pub/Sub message was processed (the handler ran);
- HTTP answers with a valid status and JSON error bodies, never a traceback.
A damaged delivery that functions-framework's own CloudEvents parsing (the ``cloudevents`` SDK)
refuses before calling any function is not an adapter input and is skipped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import portable_fn as pf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from portable_fn.log import set_level

from portable_fn_gcp.harness import _client

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tests.reliability.mutate import (  # noqa: E402
    every_mutation,
    mutations,
    sweep,
    undeliverable,
)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
    ],
)
HEADERS = json.loads((HERE / "events" / "binary_headers.json").read_text())

app = pf.App("fuzz")
seen: list[pf.CloudEvent] = []
entered: list[str] = []


@app.topic("my-topic")
def news(event: pf.CloudEvent) -> None:
    seen.append(event)


@app.storage("sample-bucket", on=("created", "deleted"))
def upload(event: pf.CloudEvent) -> None:
    seen.append(event)


@app.http("/{path+}", methods=["GET", "POST", "PUT"], auth="anonymous")
def web(req: pf.Request) -> dict[str, Any]:
    return {"path": req.path, "json": req.json() if req.body else None}


CLIENTS = {name: _client(app, name) for name in ("news", "upload", "web")}


@pytest.fixture(autouse=True)
def quiet_logs() -> Any:
    set_level("CRITICAL")  # damaged payloads are logged in full: keep the output readable
    yield
    set_level(None)


def load(name: str) -> Any:
    return json.loads((HERE / "events" / name).read_text())


def deliver(function: str, headers: dict[str, str], body: bytes) -> tuple[Any, list[Any]]:
    if function != "web":
        from cloudevents.http import from_http  # what functions-framework parses with

        try:
            from_http(headers, body)
        except Exception:
            undeliverable()  # functions-framework refuses it before any function runs
    seen.clear()
    response = CLIENTS[function].post("/", data=body, headers=headers)
    return response, list(seen)


def check_refusal(response: Any, what: str) -> None:
    status = response.status_code
    assert 100 <= status <= 599, what
    if status >= 400:
        body = response.get_data()
        assert b"Traceback" not in body, what
        try:
            error = json.loads(body)["error"]
        except (ValueError, KeyError, TypeError):
            raise AssertionError(f"not the adapter's JSON error ({status} {body[:120]!r}): "
                                 f"{what}") from None
        assert error["status"] == status, what


def binary_cases(fixture: str) -> Any:
    data = load(fixture)
    headers = HEADERS[fixture]
    as_data = mutations(data).map(lambda c: (f"data: {c[0]}", headers, json.dumps(c[1])))
    as_headers = mutations(headers, skip=lambda p: p == ("content-type",)).map(
        lambda c: (f"headers: {c[0]}", c[1], json.dumps(data))
    )
    return st.one_of(as_data, as_headers)


def every_binary_case(fixture: str) -> Any:
    data = load(fixture)
    headers = HEADERS[fixture]
    for what, damaged in every_mutation(data):
        yield f"data: {what}", headers, json.dumps(damaged)
    for what, damaged in every_mutation(headers, skip=lambda p: p == ("content-type",)):
        yield f"headers: {what}", damaged, json.dumps(data)


def fuzz(cases: Any, strategy: Any, check: Any) -> None:
    """Every single damage first (all distinct failures reported at once), then hypothesis."""
    sweep(cases, check)
    FUZZ(given(strategy)(check))()


def _usable(headers: Any) -> dict[str, str] | None:
    # Only what HTTP can carry: string names and values without NUL or line breaks.
    if not isinstance(headers, dict):
        return None
    out = {}
    for k, v in headers.items():
        if not isinstance(v, str) or any(c in v for c in "\r\n\x00") or not v.isprintable():
            return None
        out[k] = v
    return out


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.parametrize(
    ("fixture", "function"),
    [
        ("pubsub_text_data.json", "news"),
        ("pubsub_binary_data.json", "news"),
        ("pubsub_complex_data.json", "news"),
        ("storage_simple_data.json", "upload"),
        ("storage_complex_data.json", "upload"),
    ],
)
def test_binary_mode_deliveries(fixture: str, function: str) -> None:
    def check(case: tuple[str, Any, str]) -> None:
        what, raw_headers, body = case
        headers = _usable(raw_headers)
        if headers is None:
            undeliverable()
        response, events = deliver(function, headers, body.encode("utf-8", "surrogatepass"))
        check_refusal(response, what)
        if function == "news" and response.status_code < 300:
            assert len(events) == 1, f"acknowledged without processing: {what}"

    fuzz(every_binary_case(fixture), binary_cases(fixture), check)


@pytest.mark.parametrize(
    ("fixture", "function"),
    [("pubsub_structured.json", "news"), ("storage_structured_workflows.json", "upload")],
)
def test_structured_mode_deliveries(fixture: str, function: str) -> None:
    def check(case: tuple[str, Any]) -> None:
        what, event = case
        body = json.dumps(event).encode("utf-8", "surrogatepass")
        response, events = deliver(
            function, {"content-type": "application/cloudevents+json"}, body
        )
        check_refusal(response, what)
        if function == "news" and response.status_code < 300:
            assert len(events) == 1, f"acknowledged without processing: {what}"

    fuzz(every_mutation(load(fixture)), mutations(load(fixture)), check)


def test_http_requests() -> None:
    base = {"method": "POST", "path": "/orders/1", "query": "a=1&b=2",
            "headers": {"content-type": "application/json", "cookie": "s=1"},
            "body": json.dumps({"sku": "book", "qty": 2})}

    def fixed(p: Any) -> bool:
        return p in {("method",), ("path",)}

    def check(case: tuple[str, Any]) -> None:
        what, req = case
        headers = _usable(req.get("headers"))
        method, path, query = req.get("method"), req.get("path"), req.get("query")
        if headers is None or not all(
            isinstance(v, str) and v.isprintable() and _encodable(v) for v in (method, path, query)
        ):
            undeliverable()  # not an HTTP request any client could send
        body = req.get("body")
        raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else b""
        response = CLIENTS["web"].open(
            f"{path}?{query}", method=method or "GET", headers=headers, data=raw
        )
        check_refusal(response, what)

    fuzz(every_mutation(base, skip=fixed), mutations(base, skip=fixed), check)
