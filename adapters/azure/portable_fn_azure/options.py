# SPDX-License-Identifier: Apache-2.0
"""Which Azure service carries each portable trigger, and the app settings that name them.

Defaults follow the documented Azure guidance for each shape: Storage Queues for ``@app.queue``
(cheapest, on the same storage account as the Functions host), Service Bus topics with one
subscription per function for ``@app.topic`` (fan-out with retries and a dead-letter subqueue),
Event Grid for blob events (the low-latency path the blob trigger docs recommend; see
https://learn.microsoft.com/azure/azure-functions/functions-event-grid-blob-trigger).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["AzureOptions", "setting_name", "timespan"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AzureOptions:
    """Packaging choices; every field has the documented default."""

    queues: Literal["storage", "servicebus"] = "storage"
    topics: Literal["servicebus", "eventgrid"] = "servicebus"
    storage_events: Literal["eventgrid", "blob"] = "eventgrid"
    # App setting names (the host resolves them; the publisher reads the same ones).
    storage_connection: str = "AzureWebJobsStorage"
    servicebus_connection: str = "ServiceBusConnection"
    eventhub_connection: str = "EventHubConnection"

    def __post_init__(self) -> None:
        from portable_fn.errors import ConfigurationError

        if self.queues not in ("storage", "servicebus"):
            raise ConfigurationError(f"queues must be 'storage' or 'servicebus': {self.queues!r}")
        if self.topics not in ("servicebus", "eventgrid"):
            raise ConfigurationError(f"topics must be 'servicebus' or 'eventgrid': {self.topics!r}")
        if self.storage_events not in ("eventgrid", "blob"):
            raise ConfigurationError(
                f"storage_events must be 'eventgrid' or 'blob': {self.storage_events!r}"
            )


_NON_WORD = re.compile(r"[^A-Za-z0-9]+")


def setting_name(resource: str, suffix: str) -> str:
    """App setting for a per-resource value: ``setting_name("order-events", "ENDPOINT")`` is
    ``EVENTGRID_ORDER_EVENTS_ENDPOINT`` (settings are environment variables: no hyphens)."""
    return f"EVENTGRID_{_NON_WORD.sub('_', resource).upper()}_{suffix}"


def timespan(seconds: float) -> str:
    """A .NET TimeSpan (``hh:mm:ss[.fff]``), as host.json and retry policies take durations.
    Fractions are kept to the millisecond: 0.5 s must not become ``00:00:00`` (no wait)."""
    millis = max(0, round(seconds * 1000))
    whole, fraction = divmod(millis, 1000)
    text = f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    return f"{text}.{fraction:03d}" if fraction else text
