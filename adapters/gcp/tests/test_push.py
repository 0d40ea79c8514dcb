# SPDX-License-Identifier: Apache-2.0
"""Bare Pub/Sub push bodies after functions-framework's conversion (``push``)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import load
from portable_fn.events import CloudEvent

from portable_fn_gcp.pubsub import PUBLISHED, parse
from portable_fn_gcp.push import is_push_body, restore


def converted(source: str = "//pubsub.googleapis.com/") -> CloudEvent:
    """What functions-framework hands over for ``push_ordering_no_attributes.json``."""
    return CloudEvent(
        id="3390469820526936",
        source=source,
        type=PUBLISHED,
        time="2021-11-16T19:21:09.107Z",
        datacontenttype="application/json",
        data={"message": {"data": "ZGFzZmRzYWZkYXNm", "attributes": {}}},
    )


def test_push_body_becomes_the_data_and_the_subscription_the_source() -> None:
    """Body: https://github.com/GoogleCloudPlatform/functions-framework-python/issues/170"""
    body = {**load("push_ordering_no_attributes.json"), "deliveryAttempt": 2}
    event = restore(converted(), body)
    assert event.source == (
        "//pubsub.googleapis.com/projects/matts-clean-test-project/subscriptions/"
        "message-ordering-subscription"
    )
    message = parse(event, trigger="topic")
    assert (message.ordering_key, message.delivery_attempt, message.data) == (
        "2",
        2,
        b"dasfdsafdasf",
    )


def test_a_topic_source_is_kept() -> None:
    topic = "//pubsub.googleapis.com/projects/p/topics/t"
    event = restore(converted(topic), load("push_ordering_no_attributes.json"))
    assert event.source == topic


@pytest.mark.parametrize(
    "body",
    [
        None,
        [1],
        {"message": {"data": ""}},  # no subscription
        {"message": "x", "subscription": "s"},
        {"context": {}, "message": {}, "subscription": "s"},  # a legacy event
    ],
)
def test_other_bodies_leave_the_event_alone(body: Any) -> None:
    assert not is_push_body(body)
    event = converted()
    assert restore(event, body) is event
