"""Done-means 3 (azure): hypothesis damages the adapter's real invocation fixtures (events/:
documented Storage Queue, Service Bus, Event Grid, Event Hubs, blob, timer and HTTP payloads)
and runs them through the generated functions with the real ``azure.functions`` converters:
every single damage exhaustively first (all distinct failures listed at once), then hypothesis's
random draws.

What is damaged is what the host delivers: the message body (and, when it is JSON, the keys
inside it), the Event Grid event, the HTTP request and the trigger metadata. The worker's
envelope (binding name, TypedData kind) is left alone: damage there fails in the Python worker,
before any adapter code. A damaged message that the library's own converters refuse
(``worker.decode``) is not an adapter input and is skipped.

Properties (one message per invocation on Azure: returning acknowledges it, raising has the host
redeliver it or move it to the poison queue):
- only the project's typed errors (``PortableFnError``) escape;
- a queue or Service Bus message that is acknowledged was processed (the handler ran);
- HTTP answers with a valid status and a JSON error body, never a traceback.

Stand-in: ``worker.InvocationContext`` for the worker's own ``Context`` (worker.py says why).
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
from portable_fn.errors import PortableFnError
from portable_fn.log import set_level

from portable_fn_azure import AzureOptions, function_app, worker

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
ENVELOPE = {("binding",), ("data",), ("data", "type"), ("metadata",)}

app = pf.App("fuzz")
seen: list[pf.CloudEvent] = []


@app.queue("jobs")
def job(event: pf.CloudEvent) -> None:
    seen.append(event)


@app.topic("news")
def news(event: pf.CloudEvent) -> None:
    seen.append(event)


@app.event("com.")
def bus(event: pf.CloudEvent) -> None:
    seen.append(event)


@app.storage("uploads", on=("created", "deleted"))
def upload(event: pf.CloudEvent) -> None:
    seen.append(event)


@app.stream("telemetry")
def telemetry(event: pf.CloudEvent) -> None:
    seen.append(event)


@app.schedule("rate(5 minutes)")
def tick(event: pf.CloudEvent) -> None:
    seen.append(event)


@app.http("/{path+}", methods=["GET", "POST", "PUT", "DELETE"], auth="anonymous")
def web(req: pf.Request) -> dict[str, Any]:
    return {"path": req.path, "json": req.json() if req.body else None}


NATIVE = function_app(app)
BLOB_NATIVE = function_app(app, AzureOptions(storage_events="blob"))  # blobTrigger bindings


@pytest.fixture(autouse=True)
def quiet_logs(monkeypatch: pytest.MonkeyPatch) -> Any:
    set_level("CRITICAL")  # damaged payloads are logged in full: keep the output readable
    # No storage account: a message that can never succeed is raised for the host to move
    # (the Azurite tests cover moving it to the poison queue).
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    yield
    set_level(None)


def load(name: str) -> dict[str, Any]:
    return json.loads((HERE / "events" / f"{name}.json").read_text())  # type: ignore[no-any-return]


def damaged(doc: dict[str, Any]) -> Any:
    """Damage the delivered payload; for a JSON string body, also the keys inside it."""
    options = [mutations(doc, skip=lambda p: p in ENVELOPE)]
    value = doc["data"].get("value")
    if isinstance(value, str) and value.startswith("{"):
        def rebuild(case: tuple[str, Any]) -> tuple[str, Any]:
            copied = json.loads(json.dumps(doc))
            copied["data"]["value"] = json.dumps(case[1])
            return f"body: {case[0]}", copied

        options.append(mutations(json.loads(value)).map(rebuild))
    return st.one_of(options)


def every_damage(doc: dict[str, Any]) -> Any:
    """The exhaustive counterpart of ``damaged``: every single damage, in order."""
    yield from every_mutation(doc, skip=lambda p: p in ENVELOPE)
    value = doc["data"].get("value")
    if isinstance(value, str) and value.startswith("{"):
        for what, inner in every_mutation(json.loads(value)):
            copied = json.loads(json.dumps(doc))
            copied["data"]["value"] = json.dumps(inner)
            yield f"body: {what}", copied


def fuzz(doc: dict[str, Any], check: Any) -> None:
    """Every single damage first (all distinct failures reported at once), then hypothesis."""
    sweep(every_damage(doc), check)
    FUZZ(given(damaged(doc))(check))()


def run(function: str, doc: dict[str, Any]) -> tuple[Any, list[pf.CloudEvent]]:
    native_app = BLOB_NATIVE if doc["binding"] == "blobTrigger" else NATIVE
    try:
        native = worker.decode(doc)
    except Exception:
        undeliverable()  # the library's converter refuses it: the worker fails before the adapter
    seen.clear()
    try:
        result = worker.invoke(native_app, function, native)
    except PortableFnError as exc:
        return exc, list(seen)
    return result, list(seen)


@pytest.mark.parametrize(
    ("fixture", "function"),
    [
        ("queue_cloudevent", "job"),
        ("queue_plain_json", "job"),
        ("queue_plain_text", "job"),
        ("queue_bytes", "job"),
        ("servicebus_structured", "news"),
        ("servicebus_plain", "news"),
        ("servicebus_amqp_binary", "news"),
    ],
)
def test_an_acknowledged_message_was_processed(fixture: str, function: str) -> None:
    doc = load(fixture)

    def check(case: tuple[str, Any]) -> None:
        what, mutated = case
        result, events = run(function, mutated)
        if not isinstance(result, PortableFnError):
            assert len(events) == 1, f"acknowledged without processing: {what}"

    fuzz(doc, check)


@pytest.mark.parametrize(
    ("fixture", "function"),
    [
        ("eventgrid_custom", "bus"),
        ("cloudevents_custom", "bus"),
        ("eventgrid_blob_created", "upload"),
        ("cloudevents_blob_created", "upload"),
        ("blob_trigger", "upload"),
        ("eventhub_many", "telemetry"),
        ("timer", "tick"),
    ],
)
def test_event_sources_raise_only_typed_errors(fixture: str, function: str) -> None:
    doc = load(fixture)

    def check(case: tuple[str, Any]) -> None:
        run(function, case[1])  # anything but a PortableFnError escapes and fails the test

    fuzz(doc, check)


@pytest.mark.parametrize("fixture", ["http_get_route", "http_post_json"])
def test_http_answers_with_a_status_never_a_traceback(fixture: str) -> None:
    doc = load(fixture)

    def check(case: tuple[str, Any]) -> None:
        what, mutated = case
        result, _ = run("web", mutated)
        if isinstance(result, PortableFnError):
            return
        status = result.status_code
        assert isinstance(status, int) and 100 <= status <= 599, what
        body = result.get_body()
        assert b"Traceback" not in body, what
        if status >= 400:
            assert "error" in json.loads(body), what

    fuzz(doc, check)
