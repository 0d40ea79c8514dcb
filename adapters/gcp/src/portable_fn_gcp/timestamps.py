# SPDX-License-Identifier: Apache-2.0
"""RFC 3339 timestamps as Google sends them, readable on every supported Python.

Google's timestamps carry 0 to 9 fraction digits ("2019-10-12T07:20:50.52Z" is the Cloud
Scheduler reference example; Pub/Sub ``publishTime`` and Eventarc ``time`` vary too). Python
3.10's ``datetime.fromisoformat`` reads only 3 or 6 digits, so the fraction is padded or cut
to 6 first, the same on every Python, before the core's RFC 3339 ``parse_time`` reads it.
"""

from __future__ import annotations

import re
from datetime import datetime

from portable_fn.events import parse_time

__all__ = ["normalise", "parse"]

_FRACTION = re.compile(r"\.(\d+)")


def normalise(text: str) -> str:
    """The same instant with exactly 6 fraction digits when it has any."""
    return _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)


def parse(text: str) -> datetime:
    """A timezone-aware datetime (``InvalidCloudEventError('time')`` when not RFC 3339)."""
    return parse_time(normalise(text))
