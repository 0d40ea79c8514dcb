# SPDX-License-Identifier: Apache-2.0
"""The real runtime, delivery variants found in an audit of the inbound side: documented shapes
other than Eventarc's own samples (1st-gen legacy bodies, bare push-subscription bodies) and
requests functions-framework itself refuses before the portable function runs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Recorder, Servers, binary_headers, load, raw

JSON = {"content-type": "application/json"}


def only(recorder: Recorder, function: str) -> dict[str, Any]:
    records = [r for r in recorder.records() if r["function"] == function]
    assert len(records) == 1, records
    return records[0]


def test_legacy_object_change_for_a_deleted_object_is_a_delete(
    probe: Servers, recorder: Recorder
) -> None:
    """1st-gen ``providers/cloud.storage/eventTypes/object.change`` covers every change; a
    deletion says ``resourceState: not_exists``. functions-framework maps the type to
    ``finalized`` whatever the state, so the adapter must read the state.

    Fixture: https://github.com/GoogleCloudPlatform/functions-framework-conformance/blob/main/events/generate/data/legacy_storage_change-legacy-input.json
    State: https://cloud.google.com/functions/1stgendocs/calling/storage#legacy_cloud_storage_triggers
    """
    status, _, _ = probe["on_object"].request(body=raw("legacy_storage_change.json"), headers=JSON)
    assert status == 200
    event = only(recorder, "on_object")["event"]
    assert event["data"]["action"] == "deleted"
    assert event["type"] == "google.cloud.storage.object.v1.deleted"
    assert (event["subject"], event["data"]["key"]) == ("MyFile", "MyFile")


def test_legacy_object_change_for_a_deleted_object_skips_created_only_functions(
    probe: Servers, recorder: Recorder
) -> None:
    """The same deletion is not for a function that asked for ``created`` only.

    Fixture: https://github.com/GoogleCloudPlatform/functions-framework-conformance/blob/main/events/generate/data/legacy_storage_change-legacy-input.json
    """
    body = load("legacy_storage_change.json")
    body["data"]["name"] = body["data"]["id"] = "images/MyFile"  # inside on_image's prefix
    status, _, _ = probe["on_image"].request(body=json.dumps(body).encode(), headers=JSON)
    assert status == 200
    assert recorder.records() == []


def test_legacy_object_change_of_metadata_only_runs_no_handler(
    probe: Servers, recorder: Recorder
) -> None:
    """An ``object.change`` with ``resourceState: exists`` and ``metageneration`` above 1 is a
    metadata update of an existing object (the 1st-gen page: pair the two fields; a new object
    has metageneration 1), not a write: acknowledged, no handler run.

    Fixture: https://github.com/GoogleCloudPlatform/functions-framework-conformance/blob/main/events/generate/data/legacy_storage_change-legacy-input.json
    changed per https://cloud.google.com/functions/1stgendocs/calling/storage#legacy_cloud_storage_triggers
    """
    body = load("legacy_storage_change.json")
    body["data"]["resourceState"] = "exists"
    body["data"]["metageneration"] = "3"
    del body["data"]["timeDeleted"]
    status, _, _ = probe["on_object"].request(body=json.dumps(body).encode(), headers=JSON)
    assert status == 200
    assert recorder.records() == []


def test_bare_push_body_keeps_ordering_key_and_delivery_attempt(
    probe: Servers, recorder: Recorder
) -> None:
    """A push subscription pointed straight at the function sends the bare wrapper;
    functions-framework rebuilds it as ``messagePublished`` keeping only data, attributes,
    messageId and publishTime. ``orderingKey`` and ``deliveryAttempt`` must survive, and with no
    topic in the URL the subscription names the source.

    Body: https://github.com/GoogleCloudPlatform/functions-framework-python/issues/170
    (a real Pub/Sub push, no ``attributes``); ``deliveryAttempt``:
    https://cloud.google.com/pubsub/docs/push#receive_push
    """
    body = load("push_ordering_no_attributes.json")
    body["deliveryAttempt"] = 4
    status, _, _ = probe["on_message"].request(body=json.dumps(body).encode(), headers=JSON)
    assert status == 200
    record = only(recorder, "on_message")
    event = record["event"]
    assert (event["id"], event["data"]) == ("3390469820526936", "dasfdsafdasf")
    assert event["partitionkey"] == "2"
    assert event["time"] == "2021-11-16T19:21:09.107000Z"
    assert event["source"] == (
        "//pubsub.googleapis.com/projects/matts-clean-test-project/subscriptions/"
        "message-ordering-subscription"
    )
    assert record["attempt"] == 4


def test_bare_push_body_with_topic_in_the_path_keeps_the_topic_source(
    probe: Servers, recorder: Recorder
) -> None:
    """functions-framework reads the topic from a push endpoint URL ending in
    ``projects/P/topics/T``; that stays the source.

    Body: https://github.com/GoogleCloudPlatform/functions-framework-python/issues/170
    """
    status, _, _ = probe["on_message"].request(
        "/projects/p/topics/t", body=raw("push_ordering_no_attributes.json"), headers=JSON
    )
    assert status == 200
    event = only(recorder, "on_message")["event"]
    assert event["source"] == "//pubsub.googleapis.com/projects/p/topics/t"
    assert event["partitionkey"] == "2"


_AUDIT = binary_headers("audit_pubsub_create_topic_data.json")


@pytest.mark.parametrize(
    ("method", "body", "headers"),
    [
        # Neither a CloudEvent nor a legacy event: functions-framework answers 400 HTML that
        # echoes the request headers and body back.
        ("POST", b'{"hello": "world"}', JSON),
        # A binary-mode event without ce-id (cloudevents: MissingRequiredFields).
        ("POST", b"{}", {k: v for k, v in _AUDIT.items() if k != "ce-id"}),
        # Structured mode that is not JSON at all (werkzeug BadRequest).
        ("POST", b"{not json", {"content-type": "application/cloudevents+json"}),
        # JSON that is not an object: functions-framework's conversion raises TypeError (500).
        ("POST", b"[1, 2]", JSON),
        # No content type: get_json refuses (415).
        ("POST", b"", {}),
        # Event functions take POST only (405).
        ("GET", b"", {}),
    ],
)
def test_requests_refused_by_the_framework_answer_json(
    probe: Servers, recorder: Recorder, method: str, body: bytes, headers: dict[str, str]
) -> None:
    """Every refusal is JSON ``{"error": {"status", "message"}}``, never an HTML page, a
    traceback, or the request echoed back.

    Error handlers: https://github.com/GoogleCloudPlatform/functions-framework-python#error-handling
    """
    status, resp_headers, resp = probe["on_audit"].request(
        method=method, body=body, headers={**headers, "x-secret": "s3cr3t-header"}
    )
    assert 400 <= status < 600
    assert resp_headers["content-type"] == ["application/json"]
    error = json.loads(resp)["error"]
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    assert b"s3cr3t-header" not in resp and b"Traceback" not in resp
    assert recorder.records() == []
