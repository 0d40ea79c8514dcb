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
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from portable_fn.app import App

__all__ = [
    "DEFAULTS", "DEFAULT_CONSUMER_GROUP", "FALLBACK", "PACKAGING_ONLY", "AzureOptions",
    "consumer_group", "setting_name", "subscription_name", "timespan",
]

# The catch-all HTTP function's name (``http_fallback``): here, not in ``_register_http``, so that
# ``findings`` can name it without importing the worker library.
FALLBACK = "portable_fn_fallback"


_CHOICES: dict[str, tuple[str, ...]] = {
    "queues": ("storage", "servicebus"),
    "topics": ("servicebus", "eventgrid"),
    "storage_events": ("eventgrid", "blob"),
}
# Field -> default, in declaration order (the target writes the non-default ones).
DEFAULTS: dict[str, object] = {
    "queues": "storage",
    "topics": "servicebus",
    "storage_events": "eventgrid",
    # App setting names (the host resolves them; the publisher reads the same ones).
    "storage_connection": "AzureWebJobsStorage",
    "servicebus_connection": "ServiceBusConnection",
    "eventhub_connection": "EventHubConnection",
    # The catch-all HTTP function that answers unmatched routes with the portable JSON 404/405.
    "http_fallback": True,
    # The Key Vault the app's secrets are read from (Key Vault references in its app settings);
    # None: PORTABLE_FN_AZURE_KEY_VAULT when packaging, else the secrets are set by hand
    # (``app_settings``).
    "key_vault": None,
}
# Fields only ``package`` reads: the generated entry leaves them out, so the function app's
# code does not change with them.
PACKAGING_ONLY = frozenset({"key_vault"})


class AzureOptions:
    """Packaging choices; every field has the documented default. Immutable.

    A plain class rather than a dataclass: this module is imported at every cold start, and
    building a dataclass costs more than the rest of the module.
    """

    __slots__ = tuple(DEFAULTS)
    queues: Literal["storage", "servicebus"]
    topics: Literal["servicebus", "eventgrid"]
    storage_events: Literal["eventgrid", "blob"]
    storage_connection: str
    servicebus_connection: str
    eventhub_connection: str
    http_fallback: bool
    key_vault: str | None

    def __init__(
        self,
        *,
        queues: Literal["storage", "servicebus"] = "storage",
        topics: Literal["servicebus", "eventgrid"] = "servicebus",
        storage_events: Literal["eventgrid", "blob"] = "eventgrid",
        storage_connection: str = "AzureWebJobsStorage",
        servicebus_connection: str = "ServiceBusConnection",
        eventhub_connection: str = "EventHubConnection",
        http_fallback: bool = True,
        key_vault: str | None = None,
    ) -> None:
        values: dict[str, object] = {
            "queues": queues, "topics": topics, "storage_events": storage_events,
            "storage_connection": storage_connection,
            "servicebus_connection": servicebus_connection,
            "eventhub_connection": eventhub_connection, "http_fallback": http_fallback,
            "key_vault": key_vault}
        for name, allowed in _CHOICES.items():
            if values[name] not in allowed:
                from portable_fn.errors import ConfigurationError

                raise ConfigurationError(
                    f"{name} must be one of {', '.join(map(repr, allowed))}: {values[name]!r}")
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def changed(self) -> dict[str, object]:
        """The fields that differ from their defaults."""
        return {k: getattr(self, k) for k, v in DEFAULTS.items() if getattr(self, k) != v}

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"AzureOptions is immutable: cannot set {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AzureOptions):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in DEFAULTS)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, k) for k in DEFAULTS))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.changed().items())
        return f"AzureOptions({args})"


# A pattern, not a compiled one: this module loads at every cold start and only the packager
# and the Event Grid publisher need it (``re`` caches the compiled form on first use).
_NON_WORD = r"[^A-Za-z0-9]+"


def setting_name(resource: str, suffix: str) -> str:
    """App setting for a per-resource value: ``setting_name("order-events", "ENDPOINT")`` is
    ``EVENTGRID_ORDER_EVENTS_ENDPOINT`` (settings are environment variables: no hyphens)."""
    return f"EVENTGRID_{re.sub(_NON_WORD, '_', resource).upper()}_{suffix}"


# Service Bus subscription names: 1-50 characters, starting and ending with a letter or digit
# (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
# #microsoftservicebus).
MAX_SUBSCRIPTION = 50


def subscription_name(function: str) -> str:
    """The Service Bus subscription of ``function`` on its topic: the function's name when
    Service Bus takes it, else its first 41 characters, ``-`` and 8 hex digits of its SHA-256.
    Cutting to 50 alone would give two long names one subscription, and two functions on one
    subscription compete for each message instead of each getting a copy."""
    if len(function) <= MAX_SUBSCRIPTION and function[-1].isalnum():
        return function
    import hashlib

    digest = hashlib.sha256(function.encode()).hexdigest()[:8]
    return f"{function[:MAX_SUBSCRIPTION - 9]}-{digest}"


def timespan(seconds: float) -> str:
    """A .NET TimeSpan (``[d.]hh:mm:ss[.fff]``), as host.json and retry policies take
    durations. From a day on the days come first: TimeSpan parsing reads ``24:00:00`` as 24
    days (hours past 23 are days to it), so hours must stay under 24
    (https://learn.microsoft.com/dotnet/api/system.timespan.parse). Fractions are kept to
    the millisecond: 0.5 s must not become ``00:00:00`` (no wait)."""
    millis = max(0, round(seconds * 1000))
    whole, fraction = divmod(millis, 1000)
    days, rest = divmod(whole, 86_400)
    text = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    if days:
        text = f"{days}.{text}"
    return f"{text}.{fraction:03d}" if fraction else text


DEFAULT_CONSUMER_GROUP = "$Default"


def consumer_group(app: App, function: str) -> str:
    """The Event Hubs consumer group of a stream function. Triggers sharing a consumer group
    compete for its partitions, each getting part of the events (MicrosoftDocs/azure-docs#36692,
    Azure/azure-webjobs-sdk#1171), while every ``@app.stream`` consumer reads the whole stream:
    so the first function on a hub reads $Default and each other one a group of its own name
    (consumer group names: letters, digits, '.', '-', '_', at most 50, ending alphanumeric,
    https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
    #microsofteventhub). The rules are those of a Service Bus subscription, and so is the
    name: cut to 50 alone, two long function names would share one group and compete."""
    from portable_fn.triggers import Stream

    trigger = app.function(function).trigger
    if not isinstance(trigger, Stream):
        return DEFAULT_CONSUMER_GROUP
    first = next(name for name, f in app.functions.items()
                 if isinstance(f.trigger, Stream) and f.trigger.name == trigger.name)
    return DEFAULT_CONSUMER_GROUP if first == function else subscription_name(function)
