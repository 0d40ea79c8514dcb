# SPDX-License-Identifier: Apache-2.0
"""The adapter object: found through the entry point, its samples run through ``invoke``."""

from __future__ import annotations

import base64
import importlib
import json

import pytest

import portable_fn as pf
from portable_fn.adapter import installed_adapters, load_adapter
from portable_fn.app import App
from portable_fn.errors import ConfigurationError


def shop() -> App:
    app: App = importlib.import_module("examples.shop.app").app
    return app


def test_registered_under_the_entry_point_group() -> None:
    assert "cloudflare" in installed_adapters()
    adapter = load_adapter("cloudflare")
    assert adapter.name == "cloudflare"
    assert set(adapter.sample_events()) == {
        "fetch",
        "queue",
        "queue_cloudevent",
        "r2",
        "scheduled",
    }


def test_invoke_fetch_sample_publishes_to_every_subscriber() -> None:
    adapter = load_adapter("cloudflare")
    result = adapter.invoke(shop(), "create_order", adapter.sample_events()["fetch"])
    assert result["status"] == 202
    assert json.loads(base64.b64decode(result["body_b64"]))["id"]


def test_invoke_queue_sample_settles_each_message() -> None:
    adapter = load_adapter("cloudflare")
    result = adapter.invoke(shop(), "fulfil", adapter.sample_events()["queue"])
    ops = [c["op"] for c in result["calls"]]
    # The second sample body is plain text, no order: the shop refuses it as NonRetryable, so
    # it goes to the dead-letter queue at once and is acked, not retried.
    assert ops == ["ack", "ack"]
    assert result["sent"] == [{"queue": "fulfilment-dlq", "body": "plain text body"}]


def test_invoke_r2_and_scheduled_samples() -> None:
    adapter = load_adapter("cloudflare")
    r2 = adapter.invoke(shop(), "on_upload", adapter.sample_events()["r2"])
    assert [c["op"] for c in r2["calls"]] == ["ack", "ack", "ack"]
    assert adapter.invoke(shop(), "nightly_report", adapter.sample_events()["scheduled"]) == {
        "ok": True
    }


def test_invoke_runs_the_function_named_or_refuses() -> None:
    # One Worker serves every route and every cron: a sample that would reach another function
    # is refused rather than reported as the named function's run.
    adapter = load_adapter("cloudflare")
    app = shop()
    fetch = adapter.sample_events()["fetch"]
    with pytest.raises(ConfigurationError, match="routes to 'create_order', not 'get_order'"):
        adapter.invoke(app, "get_order", fetch)
    with pytest.raises(ConfigurationError, match="not a schedule"):
        adapter.invoke(app, "fulfil", adapter.sample_events()["scheduled"])
    # The named schedule's own cron fires, whatever cron the sample carries.
    ran: list[str] = []
    timed = App("timed")

    @timed.schedule(cron="0 3 * * *")
    def nightly(event: pf.CloudEvent) -> None:
        ran.append(event.data["expression"])

    other_cron = {**adapter.sample_events()["scheduled"], "cron": "59 23 31 12 *"}
    assert adapter.invoke(timed, "nightly", other_cron) == {"ok": True}
    assert ran == ["0 3 * * *"]


@pytest.mark.parametrize(
    ("function", "sample", "says"),
    [
        ("create_order", {"url": "https://x.example/orders", "method": "POST",
                          "body_b64": "not base64!"}, "request sample is malformed"),
        ("fulfil", {"messages": [{"id": "1", "body": {}}]},
         "queue batch sample has no 'timestamp'"),
        ("nightly_report", {"cron": "0 0 * * *"}, "scheduled event sample has no 'scheduledTime'"),
    ],
)
def test_a_hand_written_sample_missing_a_field_is_a_usage_error(
    function: str, sample: dict[str, object], says: str
) -> None:
    """``invoke --event FILE`` with a hand-written sample: what it lacks is named (exit 2);
    a KeyError was reported as the function raising, and bad base64 ran on an empty body."""
    with pytest.raises(ConfigurationError, match=says):
        load_adapter("cloudflare").invoke(shop(), function, sample)


def test_handlers_read_vars_and_secrets_from_os_environ_and_bindings_from_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Workers give vars, secrets and bindings in ``env`` only
    (https://developers.cloudflare.com/workers/configuration/environment-variables/,
    .../configuration/secrets/): the string ones reach ``os.environ``, as on every provider,
    the portable settings are read from them, and ``portable_fn_cloudflare.env()`` is the
    invocation's ``env`` (KV, D1, R2...), in fetch and in scheduled alike."""
    import asyncio
    import os

    import portable_fn_cloudflare
    from portable_fn import log
    from portable_fn_cloudflare import native
    from portable_fn_cloudflare.runtime import WorkerRuntime

    monkeypatch.setenv("PF_CF_SECRET", "from-the-image")  # restored (removed) afterwards
    monkeypatch.setenv("PORTABLE_FN_LOG_LEVEL", "INFO")
    monkeypatch.setattr(log, "_threshold", None)
    seen: dict[str, object] = {}
    app = pf.App("env-app")

    @app.http("/v", auth="anonymous")
    def read(req: pf.Request) -> dict[str, object]:
        kv = portable_fn_cloudflare.env().KV
        return {"secret": os.environ.get("PF_CF_SECRET"), "kv": kv.get("k")}

    @app.schedule("rate(5 minutes)")
    def tick(event: pf.CloudEvent) -> None:
        seen["kv"] = portable_fn_cloudflare.env().KV.get("k")

    class Kv:
        def get(self, key: str) -> str:
            return f"value of {key}"

    env = native.EnvStandIn({})
    env.PF_CF_SECRET = "s3cret"  # a secret: a string
    env.PORTABLE_FN_LOG_LEVEL = "ERROR"
    env.CONFIG = {"nested": 1}  # a JSON var: not a string, not in os.environ
    env.KV = Kv()
    runtime = WorkerRuntime(app)
    request = native.JsRequestStandIn(method="GET", url="https://w.example.workers.dev/v")
    try:
        response = asyncio.run(runtime.fetch(request, env, None))
        assert response.status == 200
        assert json.loads(response.body) == {"secret": "s3cret", "kv": "value of k"}
        assert log.threshold() == log.LEVELS["ERROR"]
        assert "CONFIG" not in os.environ
        controller = native.ControllerStandIn(cron="*/5 * * * *", scheduledTime=0)
        asyncio.run(runtime.scheduled(controller, env, None))
        assert seen == {"kv": "value of k"}
    finally:
        monkeypatch.undo()
        log.set_level(None)
    with pytest.raises(RuntimeError, match="inside a handler"):
        portable_fn_cloudflare.env()


def test_a_cron_in_the_decorator_s_own_spelling_runs_its_schedule() -> None:
    """``wrangler dev --test-scheduled`` runs a schedule at ``/__scheduled?cron=<cron>``
    (https://developers.cloudflare.com/workers/configuration/cron-triggers/#test-cron-triggers-locally):
    a user types the cron as the decorator has it (``MON-FRI``), not as wrangler.toml writes it
    (weekdays renumbered, ``2-6``), and nothing ran. Cloudflare's own spelling still wins: where
    one schedule's decorator spelling is another's Cloudflare cron, the latter runs."""
    import asyncio

    from portable_fn_cloudflare import native
    from portable_fn_cloudflare.runtime import WorkerRuntime

    app = pf.App("crons")
    ran: list[str] = []

    @app.schedule("0 9 * * MON-FRI")
    def weekdays(event: pf.CloudEvent) -> None:
        ran.append("weekdays")

    @app.schedule("0 9 * * 0-4")  # Sunday to Thursday: Cloudflare's "1-5"
    def sunday_on(event: pf.CloudEvent) -> None:
        ran.append("sunday_on")

    @app.schedule("30 9 * * 1-5")  # Cloudflare's "2-6": its own spelling is free
    def late(event: pf.CloudEvent) -> None:
        ran.append("late")

    runtime = WorkerRuntime(app)
    env = native.EnvStandIn({})
    for cron in ("0 9 * * MON-FRI", "0 9 * * 2-6", "0  9 * * 1-5", "30 9 * * 1-5", "30 9 * * 2-6"):
        controller = native.ControllerStandIn(cron=cron, scheduledTime=0)
        asyncio.run(runtime.scheduled(controller, env, None))
    assert ran == ["weekdays", "weekdays", "sunday_on", "late", "late"]
