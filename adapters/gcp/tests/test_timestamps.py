# SPDX-License-Identifier: Apache-2.0
"""Google's RFC 3339 timestamps, 0-9 fraction digits, on every supported Python."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from portable_fn.errors import InvalidCloudEventError

from portable_fn_gcp.native import from_request
from portable_fn_gcp.timestamps import parse


@pytest.mark.parametrize(
    ("text", "micro"),
    [
        ("2019-10-12T07:20:50.52Z", 520000),  # Cloud Scheduler's reference example
        ("2019-10-12T07:20:50.5Z", 500000),
        ("2019-10-12T07:20:50.109Z", 109000),
        ("2019-10-12T07:20:50.653866570Z", 653866),  # Eventarc audit logs: nanoseconds
        ("2019-10-12T07:20:50Z", 0),
        ("2019-10-12T09:20:50.1+02:00", 100000),
    ],
)
def test_fraction_digits(text: str, micro: int) -> None:
    assert parse(text) == datetime(2019, 10, 12, 7, 20, 50, micro, tzinfo=timezone.utc)


def test_not_a_timestamp() -> None:
    with pytest.raises(InvalidCloudEventError):
        parse("yesterday")


def test_binary_ce_time_with_two_digits() -> None:
    event = from_request(
        {
            "ce-specversion": "1.0",
            "ce-id": "1",
            "ce-source": "s",
            "ce-type": "t",
            "ce-time": "2019-10-12T07:20:50.52Z",
        },
        b"",
        trigger="event",
    )
    assert event.time == datetime(2019, 10, 12, 7, 20, 50, 520000, tzinfo=timezone.utc)
