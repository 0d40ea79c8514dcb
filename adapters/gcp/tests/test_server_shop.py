# SPDX-License-Identifier: Apache-2.0
"""The shop (examples/shop), packaged for gcp, every target under its own real functions-framework
server on 127.0.0.1, publishing through google-cloud-pubsub to the gRPC Publish endpoint
(``PUBSUB_EMULATOR_HOST``). What the endpoint receives is decoded with the inbound adapter and
pushed on to the subscribing functions as Eventarc would: the whole fan-out, over real wires."""

from __future__ import annotations

import base64
import json
from typing import Any

from conftest import Servers, binary_headers, raw
from portable_fn.events import CloudEvent
from pubsub_endpoint import PublishEndpoint, Received

from portable_fn_gcp.binding import from_message
from portable_fn_gcp.harness import published_envelope

TOPIC = "projects/test-project/topics/"


def push(server_call: Any, received: Received) -> int:
    """Deliver a received Pub/Sub message to a function as Eventarc does (binary mode)."""
    envelope = {
        "message": {
            "data": base64.b64encode(received.data).decode(),
            "attributes": received.attributes,
            "messageId": received.message_id,
            "publishTime": "2026-11-23T12:00:00.000Z",
        },
        "subscription": "projects/test-project/subscriptions/eventarc-sub",
    }
    headers = {
        "ce-specversion": "1.0",
        "ce-id": received.message_id,
        "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
        "ce-source": "//pubsub.googleapis.com/" + received.topic,
        "content-type": "application/json",
    }
    status: int = server_call.request(body=json.dumps(envelope).encode(), headers=headers)[0]
    return status


def logged(server: Any, message: str) -> list[dict[str, Any]]:
    lines = []
    for line in server.output().splitlines():
        if line.startswith("{") and f'"message":"{message}"' in line.replace(": ", ":"):
            lines.append(json.loads(line))
    return lines


def create(shop: Servers, order: dict[str, Any]) -> dict[str, Any]:
    status, headers, body = shop["create_order"].request(
        "/orders", body=json.dumps(order).encode(), headers={"content-type": "application/json"}
    )
    assert status == 202, body
    assert headers["content-type"] == ["application/json"]
    result: dict[str, Any] = json.loads(body)
    return result


def test_publish_reaches_pubsub_over_grpc_as_the_original_event(
    shop: Servers, pubsub_endpoint: PublishEndpoint
) -> None:
    created = create(shop, {"sku": "abc", "qty": 2})
    got = pubsub_endpoint.wait_for(lambda m: m.attributes.get("ce-id") == created["event_id"])
    assert got.topic == TOPIC + "order-events"
    # The binding's binary mode: ce-* attributes, content-type, the data as is.
    assert got.attributes["ce-specversion"] == "1.0"
    assert got.attributes["ce-type"] == "com.example.order.created"
    assert got.attributes["ce-source"] == "/portable-fn/shop/create_order"
    assert got.attributes["content-type"] == "application/json"
    assert json.loads(got.data) == {"sku": "abc", "qty": 2, "id": created["id"]}
    event = from_message(got.data, got.attributes)
    assert isinstance(event, CloudEvent)
    assert (event.id, event.type, event.source) == (
        created["event_id"],
        "com.example.order.created",
        "/portable-fn/shop/create_order",
    )
    assert event.data == {"sku": "abc", "qty": 2, "id": created["id"]}
    assert event.time is not None


def test_fan_out_to_fulfilment_and_dead_letter_signal(
    shop: Servers, pubsub_endpoint: PublishEndpoint
) -> None:
    for sku, expected in (("book", 200), ("poison", 500)):
        created = create(shop, {"sku": sku})
        published = pubsub_endpoint.wait_for(
            lambda m, e=created["event_id"]: m.attributes.get("ce-id") == e
        )
        assert push(shop["notify_customer"], published) == 200
        assert push(shop["request_fulfilment"], published) == 200
        sent = pubsub_endpoint.wait_for(
            lambda m, i=created["id"]: (
                m.topic == TOPIC + "fulfilment" and json.loads(m.data).get("id") == i
            )
        )
        assert sent.attributes["ce-type"] == "com.example.fulfilment.requested"
        assert sent.attributes["ce-source"] == "/portable-fn/shop/request_fulfilment"
        # A handler's exception is a non-2xx: Pub/Sub redelivers, then dead-letters.
        assert push(shop["fulfil"], sent) == expected
    confirmations = logged(shop["notify_customer"], "order confirmation sent")
    assert len(confirmations) >= 2
    assert logged(shop["fulfil"], "order fulfilled")


def test_http_errors_are_json_without_traceback(shop: Servers) -> None:
    status, headers, body = shop["create_order"].request(
        "/orders", body=b"{not json", headers={"content-type": "application/json"}
    )
    assert status == 400
    assert json.loads(body)["error"]["status"] == 400
    status, _, body = shop["get_order"].request("/orders/nope", method="GET")
    assert status == 404
    assert json.loads(body)["error"]["status"] == 404
    status, headers, _ = shop["get_order"].request("/orders/nope", method="DELETE")
    assert status == 405
    assert headers["allow"] == ["GET, HEAD"]  # a GET function answers HEAD too
    assert b"Traceback" not in body


def test_schedule_storage_and_event_bus(shop: Servers) -> None:
    status, _, _ = shop["nightly_report"].request(
        headers={
            "X-CloudScheduler": "true",
            "X-CloudScheduler-JobName": "shop-nightly-report",  # as deploy.sh names the job
            "X-CloudScheduler-ScheduleTime": "2026-11-24T00:00:00Z",
        }
    )
    assert status == 200
    [report] = logged(shop["nightly_report"], "nightly report")
    assert report["scheduled_time"] == "2026-11-24T00:00:00Z"

    status, _, _ = shop["on_upload"].request(
        body=raw("storage_simple_data.json"), headers=binary_headers("storage_simple_data.json")
    )
    assert status == 200
    [upload] = logged(shop["on_upload"], "upload received")
    assert (upload["key"], upload["size"], upload["etag"]) == (
        "folder/Test.cs",
        352,
        "CNHZkbuF/ugCEAE=",
    )

    paid = CloudEvent.create(type="com.example.invoice.paid", source="/billing", data={"n": 7})
    other = CloudEvent.create(type="com.example.invoice.voided", source="/billing", data={"n": 8})
    for event in (paid, other):
        headers, body = published_envelope(event, "shop-events")
        assert shop["invoice_paid"].request(body=body, headers=headers)[0] == 200
    [seen] = logged(shop["invoice_paid"], "invoice paid")
    assert seen["invoice"] == {"n": 7}
    assert seen["source"] == "/billing"
