# SPDX-License-Identifier: Apache-2.0
"""The shop: every serverless pattern portable-fn covers, in one app (docs/core-api.md).

``POST /orders`` stores the order and publishes ``com.example.order.created`` to the topic
``order-events``; two subscribers fan out from it: one notifies the customer, one asks for
fulfilment on the ``fulfilment`` queue, whose worker retries up to 3 times and then
dead-letters to ``fulfilment-dlq`` (an order with sku "poison" always fails). A nightly report
runs on a schedule, uploads to the ``uploads`` bucket are handled, and ``invoice_paid`` takes
``com.example.invoice.paid`` events from the event bus.

Run it locally: ``portable-fn dev examples/shop/app.py`` (see README.md beside this file).
"""

from __future__ import annotations

import os
from typing import Any

import portable_fn as pf

app = pf.App("shop")

# Orders live in process memory: enough for a demo; a real shop keeps them in a database.
_orders: dict[str, dict[str, Any]] = {}


@app.http("/orders", methods=["POST"])
def create_order(req: pf.Request) -> pf.Response:
    order = req.json()
    if not isinstance(order, dict) or not isinstance(order.get("sku"), str):
        raise pf.BadRequest('an order is a JSON object with a string "sku"')
    # os.urandom, not uuid: importing uuid costs ~3 ms of every cold start.
    order = {**order, "id": str(order.get("id") or os.urandom(6).hex())}
    _orders[order["id"]] = order
    event = pf.publish("order-events", order, type="com.example.order.created")
    return pf.Response.json({"id": order["id"], "event_id": event.id}, status=202)


@app.http("/orders/{order_id}", methods=["GET"])
def get_order(req: pf.Request) -> dict[str, Any]:
    order = _orders.get(req.path_params["order_id"])
    if order is None:
        raise pf.NotFound(f"no order {req.path_params['order_id']!r}")
    return order


def _order(event: pf.CloudEvent) -> dict[str, Any]:
    """The order an event carries. Retrying cannot turn anything else into one: NonRetryable
    dead-letters such a message at once instead of spending its retries."""
    if not isinstance(event.data, dict) or not isinstance(event.data.get("id"), str):
        raise pf.NonRetryable(f"event {event.id} carries no order")
    return event.data


@app.topic("order-events")
def notify_customer(event: pf.CloudEvent, ctx: pf.Context) -> None:
    ctx.logger.info("order confirmation sent", order_id=_order(event)["id"])


@app.topic("order-events")
def request_fulfilment(event: pf.CloudEvent) -> None:
    pf.send("fulfilment", event.data, type="com.example.fulfilment.requested")


@app.queue("fulfilment", max_retries=3, dead_letter="fulfilment-dlq")
def fulfil(event: pf.CloudEvent, ctx: pf.Context) -> None:
    order = _order(event)
    if order.get("sku") == "poison":
        # An ordinary exception: retried with backoff, then dead-lettered.
        raise ValueError(
            f"cannot fulfil order {order['id']}: sku 'poison' (attempt {ctx.attempt})"
        )
    ctx.logger.info("order fulfilled", order_id=order["id"], attempt=ctx.attempt)


# A report runs longer and holds more than a request: its own timeout (s) and memory (MB).
@app.schedule("rate(1 day)", timeout=120, memory=512)
def nightly_report(event: pf.CloudEvent, ctx: pf.Context) -> None:
    ctx.logger.info(
        "nightly report", orders=len(_orders), scheduled_time=event.data["scheduled_time"]
    )


@app.storage("uploads", on=("created",))
def on_upload(event: pf.CloudEvent, ctx: pf.Context) -> None:
    ctx.logger.info(
        "upload received", key=event.data["key"], size=event.data["size"], etag=event.data["etag"]
    )


@app.event("com.example.invoice.paid")
def invoice_paid(event: pf.CloudEvent, ctx: pf.Context) -> None:
    ctx.logger.info("invoice paid", invoice=event.data, source=event.source)
