# SPDX-License-Identifier: Apache-2.0
"""Queue names are per Cloudflare account, not per Worker, and a queue takes one consumer
Worker (a second ``wrangler deploy`` consuming it fails with ``consumer_exists``, code 11004,
workers-sdk#5347). Names: 1-63 characters, lowercase letters, digits and ``-``, a letter or
digit at both ends (the API's ``^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$``, workers-sdk#2522;
https://developers.cloudflare.com/queues/get-started/).

So the queues the adapter makes up for one function (a topic subscriber's, a storage function's,
an event function's, and their default dead-letter queues) name the app: two apps deployed to
one account never want the same one. The names an app declares (``@app.queue("jobs")``,
``dead_letter=``) are shared on purpose and kept as written."""

from __future__ import annotations

import re
from typing import Any

from pyodide_worker import tomllib

import portable_fn as pf
from portable_fn_cloudflare import native, plan, wrangler
from portable_fn_cloudflare.harness import CloudflareHarness
from portable_fn_cloudflare.runtime import WorkerRuntime
from portable_fn_cloudflare.target import deploy_script

_QUEUE_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def _app(name: str, *, dead_letter: str | None = None, seen: list[str] | None = None) -> pf.App:
    """The same functions under another app name: what two teams' apps in one account share."""
    app = pf.App(name)

    @app.topic("order-events", dead_letter=dead_letter)
    def notify_customer(event: pf.CloudEvent) -> None:
        if seen is not None:
            seen.append(event.id)

    @app.storage("uploads")
    def on_upload(event: pf.CloudEvent) -> None: ...

    @app.event("com.example.invoice.paid")
    def invoice_paid(event: pf.CloudEvent) -> None: ...

    @app.queue("jobs")
    def work(event: pf.CloudEvent) -> None: ...

    return app


def _package(app: pf.App) -> tuple[dict[str, Any], str]:
    """The two files of the package that name queues: ``wrangler.toml`` and ``deploy.sh``."""
    return tomllib.loads(wrangler.to_toml(wrangler.config(app))), deploy_script(app)


def _made_up(cfg: dict[str, Any], deploy: str) -> set[str]:
    """Every queue the package consumes, dead-letters to or creates, but the declared ones."""
    consumers = cfg["queues"]["consumers"]
    names = {c["queue"] for c in consumers} | {c["dead_letter_queue"] for c in consumers}
    names |= {p["queue"] for p in cfg["queues"]["producers"]}
    names |= set(re.findall(r"npx wrangler queues create (\S+)", deploy))
    names |= set(re.findall(r"--queue (\S+)", deploy))
    return names - {"jobs", "jobs-dlq"}


def test_two_apps_in_one_account_get_their_own_queues() -> None:
    shop_cfg, shop_deploy = _package(_app("shop"))
    billing_cfg, billing_deploy = _package(_app("billing"))
    shop, billing = _made_up(shop_cfg, shop_deploy), _made_up(billing_cfg, billing_deploy)
    assert shop and billing
    assert shop & billing == set()
    assert "shop--order-events--notify-customer" in shop
    assert "shop--order-events--notify-customer-dlq" in shop
    assert "shop--r2--uploads--on-upload" in shop
    assert "shop--events--invoice-paid" in shop
    # The declared queue is the one both apps mean: kept, with the core's DLQ name.
    for cfg in (shop_cfg, billing_cfg):
        jobs = next(c for c in cfg["queues"]["consumers"] if c["queue"] == "jobs")
        assert jobs["dead_letter_queue"] == "jobs-dlq"


def test_a_declared_dead_letter_name_is_kept() -> None:
    app = _app("shop", dead_letter="order-dlq")
    [topic] = [c for c in plan.consumers(app) if c.kind == "topic"]
    assert topic.queue == "shop--order-events--notify-customer"
    assert topic.dead_letter == "order-dlq"


def test_publish_fans_out_to_this_apps_queues_only() -> None:
    """What ``pf.publish`` sends to is what ``wrangler.toml`` binds and consumes."""
    shop = _app("shop")
    assert plan.topic_queues(shop, "order-events") == ["shop--order-events--notify-customer"]
    env = native.EnvStandIn({plan.binding_name(q): q for q in plan.producer_queues(shop)})
    assert plan.binding_name("shop--order-events--notify-customer") in env.producers
    assert CloudflareHarness().dead_letters(shop)["notify_customer"] == (
        "shop--order-events--notify-customer-dlq"
    )


def test_made_up_names_stay_within_cloudflares_rule() -> None:
    app = pf.App("a" * 40)
    topic, bucket = "t" * 63, "b" * 63

    @app.topic(topic)
    def some_function_with_a_rather_long_name_indeed(event: pf.CloudEvent) -> None: ...

    @app.storage(bucket)
    def another_function_with_a_rather_long_name(event: pf.CloudEvent) -> None: ...

    consumers = plan.consumers(app)
    names = [n for c in consumers for n in (c.queue, c.dead_letter) if n]
    assert len(names) == len(set(names)) == 4
    for name in names:
        assert _QUEUE_NAME.fullmatch(name), name
        assert name.startswith("a" * 40 + "--")
    # Stable: the same app gets the same names in every package.
    assert names == [n for c in plan.consumers(app) for n in (c.queue, c.dead_letter) if n]


def test_messages_left_on_a_queue_of_the_former_name_still_reach_their_function() -> None:
    """A Worker packaged before the names carried the app still has its consumer on the old
    queue (wrangler leaves a consumer it no longer finds in the config registered,
    workers-sdk#13923): what is left there is delivered to the function, not retried into the
    old dead-letter queue, so the old queue drains and can be deleted."""
    import asyncio

    seen: list[str] = []
    shop = _app("shop", seen=seen)
    runtime = WorkerRuntime(shop)
    assert runtime.consumers["order-events--notify-customer"].function == "notify_customer"
    assert runtime.consumers["r2--uploads--on-upload"].function == "on_upload"
    assert runtime.consumers["events--shop--invoice-paid"].function == "invoice_paid"
    batch = native.BatchStandIn(
        queue="order-events--notify-customer",
        messages=[native.MessageStandIn(id="m-1", body={"hello": "world"})],
    )
    env = native.EnvStandIn({plan.binding_name(q): q for q in plan.producer_queues(shop)})
    asyncio.run(runtime.queue(batch, env, None))
    assert [m.settled for m in batch.messages] == ["ack"]
    assert seen == ["m-1"]

