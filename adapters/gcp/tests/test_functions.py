# SPDX-License-Identifier: Apache-2.0
"""The public entries: real, named functions that functions-framework accepts; config errors."""

from __future__ import annotations

import subprocess
import sys
import types
from datetime import datetime, timezone
from pathlib import Path

import functions_framework
import portable_fn as pf
import pytest
from functions_framework import _function_registry
from portable_fn.errors import ConfigurationError, FunctionNotFoundError
from portable_fn.events import CloudEvent

from portable_fn_gcp import cloud_event_function, http_function
from portable_fn_gcp.adapter import adapter


def _app() -> pf.App:
    app = pf.App("fx")

    @app.http("/hello", methods=["GET"], auth="anonymous")
    def hello(req: pf.Request) -> str:
        return "hi"

    @app.topic("fx-topic")
    def listen(event: pf.CloudEvent) -> None: ...

    return app


def test_entries_are_real_functions_named_after_the_handler() -> None:
    app = _app()
    for entry, name in (
        (http_function(app, "hello"), "hello"),
        (cloud_event_function(app, "listen"), "listen"),
    ):
        assert isinstance(entry, types.FunctionType)
        assert (entry.__name__, entry.__qualname__) == (name, name)
        if sys.version_info >= (3, 11):
            assert entry.__code__.co_qualname == name


def test_functions_framework_registers_the_signature_by_name() -> None:
    app = _app()
    functions_framework.http(http_function(app, "hello"))
    functions_framework.cloud_event(cloud_event_function(app, "listen"))
    assert _function_registry.REGISTRY_MAP["hello"] == "http"
    assert _function_registry.REGISTRY_MAP["listen"] == "cloudevent"


def test_wrong_entry_for_the_trigger_is_a_configuration_error() -> None:
    app = _app()
    with pytest.raises(ConfigurationError):
        http_function(app, "listen")
    with pytest.raises(ConfigurationError):
        cloud_event_function(app, "hello")
    with pytest.raises(FunctionNotFoundError):
        http_function(app, "missing")


def test_generated_main_imports_nothing_heavy(shop_dist: Path) -> None:
    """Cold start: main.py loads functions-framework (the runtime imports it anyway) and our
    codecs, never the Pub/Sub SDK or gRPC."""
    code = (
        "import sys, main, portable_fn, portable_fn_gcp\n"
        "bad = [m for m in ('google.cloud.pubsub_v1', 'grpc', 'google.auth') if m in sys.modules]\n"
        "print(bad)\n"
        "print(portable_fn.__file__)\n"
        "print(portable_fn_gcp.__file__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=shop_dist, capture_output=True, text=True, check=True
    )
    heavy, core, adapter_file = out.stdout.splitlines()
    assert heavy == "[]"
    # The vendored copies are what the deployed function runs (nothing else is installed there).
    assert Path(core).parent.parent == shop_dist
    assert Path(adapter_file).parent.parent == shop_dist


def test_event_codecs_load_at_the_first_delivery(shop_dist: Path) -> None:
    """Every function of an app imports the same main.py: one deployed for an HTTP route never
    reads an event, so the event codecs (and the Pub/Sub binding, used at the first publish)
    load when a delivery first needs them, not at its cold start."""
    code = (
        "import sys, main\n"
        "codecs = ('native', 'push', 'route', 'pubsub', 'storage', 'scheduler', 'binding')\n"
        "print([c for c in codecs if f'portable_fn_gcp.{c}' in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=shop_dist, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_adapter_entry_point_and_sample_invocation() -> None:
    from portable_fn.adapter import load_adapter

    assert load_adapter("gcp").name == "gcp"
    app = _app()
    samples = adapter.sample_events()
    assert {"pubsub", "storage", "scheduler"} <= set(samples)
    result = adapter.invoke(app, "listen", samples["pubsub"])
    assert result["status"] == 200
    result = adapter.invoke(app, "hello", {"method": "GET", "path": "/hello"})
    assert (result["status"], result["body"]) == (200, "hi")


def test_harness_round_trips() -> None:
    seen: list[CloudEvent] = []
    app = pf.App("hx")

    @app.queue("hx-jobs")
    def job(event: pf.CloudEvent) -> None:
        seen.append(event)
        if event.data == "bad":
            raise ValueError("bad")

    @app.schedule("rate(1 hour)")
    def hourly(event: pf.CloudEvent) -> None:
        seen.append(event)

    @app.storage("hx-bucket", on=("deleted",))
    def gone(event: pf.CloudEvent) -> None:
        seen.append(event)

    @app.topic("hx-async")
    async def later(event: pf.CloudEvent) -> None:
        seen.append(event)

    @app.http("/x/{id}", methods=["PUT"], auth="anonymous")
    def put(req: pf.Request) -> pf.Response:
        return pf.Response.json({"id": req.path_params["id"]}, headers=[("set-cookie", "a=1")])

    harness = adapter.harness()
    good = CloudEvent.create(type="t", source="/s", data="ok", datacontenttype="text/plain")
    bad = good.replace(id="other", data="bad")
    assert harness.deliver(app, "job", [good, bad]) == [True, False]
    assert seen[0] == good
    assert harness.deliver(app, "later", [good]) == [True]  # async handlers run too
    assert seen[-1] == good
    when = datetime(2026, 5, 6, 7, 0, tzinfo=timezone.utc)
    harness.schedule(app, "hourly", when)
    assert seen[-1].data == {"expression": "rate(1 hour)", "scheduled_time": "2026-05-06T07:00:00Z"}
    harness.storage(app, "gone", bucket="hx-bucket", key="a/b", size=3, etag="e", action="deleted")
    assert seen[-1].data == {
        "bucket": "hx-bucket",
        "key": "a/b",
        "size": 3,
        "etag": "e",
        "action": "deleted",
    }
    response = harness.http(app, pf.Request(method="PUT", path="/x/7"))
    assert (response.status, response.body) == (200, b'{"id":"7"}')
    assert response.headers.getall("set-cookie") == ["a=1"]
    assert harness.http(app, pf.Request(method="GET", path="/nope")).status == 404
    assert harness.http(app, pf.Request(method="GET", path="/x/7")).status == 405


class Broken(RuntimeError):
    """The handler's own exception, which a user's test names in ``pytest.raises``."""


def test_the_harness_raises_the_handlers_own_exception() -> None:
    """A failing schedule or storage handler raised ``AssertionError("delivery failed: 500
    ...")`` here while the AWS, Azure and Cloudflare harnesses raise the handler's exception,
    so ``pytest.raises(Broken)`` passed or failed by provider. The function runs in-process
    (Flask's test client), so its exception is raised, after the 500 that Eventarc and Cloud
    Scheduler would have retried; an answer with no handler exception behind it (a 400 for a
    malformed delivery) still raises ``AssertionError``."""
    app = pf.App("hf")

    @app.schedule("rate(1 hour)")
    def hourly(event: pf.CloudEvent) -> None:
        raise Broken("schedule")

    @app.storage("hf-bucket")
    def up(event: pf.CloudEvent) -> None:
        raise Broken("storage")

    harness = adapter.harness()
    with pytest.raises(Broken, match="schedule"):
        harness.schedule(app, "hourly", datetime(2026, 5, 6, 7, 0, tzinfo=timezone.utc))
    with pytest.raises(Broken, match="storage"):
        harness.storage(app, "up", bucket="hf-bucket", key="k", size=1, etag="e",
                        action="created")


def _logged(out: str) -> list[dict[str, object]]:
    import json

    return [json.loads(line) for line in out.splitlines() if line.startswith('{"level"')]


def test_a_delivery_not_for_the_function_is_acknowledged_with_a_log_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A delivery the function does not take is acknowledged without running the handler
    (``route``: redelivering it could never change that), but never silently. A Cloud
    Scheduler ``executed`` event (as the adapter's ``scheduler`` sample, after Google's
    ``SchedulerJobData`` samples) reaching a storage function is a misrouted trigger: a
    WARNING naming the function, the event type and why. An object outside the declared
    prefix is the function's own filter (Eventarc cannot filter on a prefix,
    https://cloud.google.com/eventarc/docs/reference/supported-events): an INFO line. Both
    were 200 OK with no line at all."""
    from portable_fn_gcp.harness import _client, storage_envelope

    app = pf.App("quiet")
    ran: list[CloudEvent] = []

    @app.storage("uploads", prefix="in/")
    def up(event: pf.CloudEvent) -> None:
        ran.append(event)

    client = _client(app, "up")
    capsys.readouterr()
    headers = {
        "ce-specversion": "1.0", "ce-id": "1", "ce-time": "2021-02-05T03:00:00Z",
        "ce-type": "google.cloud.scheduler.job.v1.executed",
        "ce-source": "//cloudscheduler.googleapis.com/projects/p/locations/l/jobs/nightly",
        "content-type": "application/json",
    }
    assert client.post("/", headers=headers, data=b'{"customData": ""}').status_code == 200
    [line] = _logged(capsys.readouterr().out)
    assert line["level"] == "WARNING" and line["function"] == "up"
    assert line["event_type"] == "google.cloud.scheduler.job.v1.executed"
    assert "Cloud Storage" in str(line["reason"])
    headers, body = storage_envelope(bucket="uploads", key="out/a", size=1, etag="e",
                                     action="created")
    assert client.post("/", headers=headers, data=body).status_code == 200
    [line] = _logged(capsys.readouterr().out)
    assert line["level"] == "INFO" and line["function"] == "up"
    assert line["event_type"] == "google.cloud.storage.object.v1.finalized"
    assert "prefix" in str(line["reason"])
    assert not ran
