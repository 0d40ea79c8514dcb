# SPDX-License-Identifier: Apache-2.0
"""Trigger specs: what starts a function, as plain values every adapter reads.

Each is an immutable value validated when built, so a bad name, path or schedule fails at
decoration time, never at deploy time. ``kind`` tells the trigger family apart without
``isinstance`` chains in code that only needs the family.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import TYPE_CHECKING, ClassVar, Literal

from portable_fn._schedule import Cron, parse_cron, parse_rate
from portable_fn._value import Value
from portable_fn.cors import CORS
from portable_fn.errors import ConfigurationError

if TYPE_CHECKING:
    from random import Random

__all__ = [
    "SCHEDULE_RETRY",
    "Event",
    "Http",
    "Limits",
    "Queue",
    "Retry",
    "Schedule",
    "Storage",
    "Stream",
    "Topic",
    "Trigger",
]

HTTP_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
# Resource names every provider accepts: SQS/SNS allow [A-Za-z0-9_-]{1,80}, Pub/Sub
# [A-Za-z][A-Za-z0-9-_.~+%]{2,254}, Storage Queues lowercase [a-z0-9-]{3,63}, CF Queues
# [a-z0-9-]; the portable subset starts with a letter and uses letters, digits and '-'.
_RESOURCE = re.compile(r"[a-z][a-z0-9-]{1,61}[a-z0-9]")
# Bucket names (S3's rules, the strictest) and event types: strings, compiled (and cached by
# ``re``) when an app first declares a storage or event trigger, not at import.
_BUCKET = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
# Reverse-DNS types (com.example.order.created) and AWS's detail-types, which are words with
# spaces between them ("EC2 Instance State-change Notification", "Object Created"): no space
# at either end, where a typo would put one and no provider's type has one.
_EVENT_TYPE = r"[A-Za-z0-9](?:[A-Za-z0-9._:/ -]*[A-Za-z0-9._:/-])?(?: ?\*)?"


def _check_resource(kind: str, name: str) -> None:
    if not isinstance(name, str) or not _RESOURCE.fullmatch(name) or "--" in name:
        raise ConfigurationError(
            f"{kind} name {name!r} must be 3-63 lowercase letters, digits and single hyphens, "
            "starting with a letter (the names every provider accepts)"
        )


class Retry(Value):
    """How a failed message is retried before it is dead-lettered.

    ``max_retries`` redeliveries follow the first attempt (so ``max_retries + 1`` attempts in
    all); the n-th retry waits ``min(max_backoff, initial_backoff * 2**(n-1))`` seconds, with
    "equal jitter" when ``jitter``: a uniform draw from the upper half of that, so delays still grow
    visibly while retries of many messages spread out (AWS Architecture Blog, "Exponential
    Backoff and Jitter").
    """

    max_retries: int = 4
    initial_backoff: float = 1.0
    max_backoff: float = 300.0
    jitter: bool = True

    def __post_init__(self) -> None:
        # bool is an int: True retries is no number of retries any provider takes.
        if type(self.max_retries) is not int or not 0 <= self.max_retries <= 100:
            raise ConfigurationError(f"max_retries must be 0-100, got {self.max_retries!r}")
        for field, value in (
            ("initial_backoff", self.initial_backoff),
            ("max_backoff", self.max_backoff),
        ):
            # A queue's delay is a finite number of seconds on every provider.
            if type(value) not in (int, float) or not math.isfinite(value):
                raise ConfigurationError(
                    f"{field} must be a finite number of seconds, got {value!r}"
                )
        if not 0 < self.initial_backoff <= self.max_backoff:
            raise ConfigurationError(
                "backoff must satisfy 0 < initial_backoff <= max_backoff, got "
                f"{self.initial_backoff!r} and {self.max_backoff!r}"
            )

    @property
    def max_attempts(self) -> int:
        return self.max_retries + 1

    def ceiling(self, retry: int) -> float:
        """The longest wait before retry number ``retry`` (1-based): the delay without jitter."""
        # 2.0 ** 1024 overflows a float: past 1023 doublings any backoff is at its cap. A
        # queue with no redrive policy counts receives past that (SQS's is unbounded).
        doublings = min(max(0, retry - 1), 1023)
        return min(self.max_backoff, self.initial_backoff * 2.0**doublings)

    def waits(self, cap: float) -> list[int]:
        """Each retry's longest wait in whole seconds, at most ``cap`` (a provider's longest
        delay): what a queue must hold a message through, before the attempts' own time."""
        return [min(int(cap), math.ceil(self.ceiling(n))) for n in range(1, self.max_retries + 1)]

    def delay(self, retry: int, *, rand: Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        ceiling = self.ceiling(retry)
        if not self.jitter:
            return ceiling
        if rand is None:
            import random  # on the first retry only, never on the cold-start path

            rand = random._inst
        value: float = rand.uniform(ceiling / 2, ceiling)
        return value


class Limits(Value):
    """How long one invocation may run (``timeout``, seconds) and the memory it gets
    (``memory``, MB). None leaves it to the app's (``App(timeout=, memory=)``), then to the
    provider's default as each target writes it (the AWS template's 30 s and 256 MB). 128 MB
    is every provider's least; each target checks its own ceilings (Lambda's 900 s and
    10,240 MB, ...) and reports what it cannot honour, as ``inspect`` and ``package`` do."""

    timeout: int | None = None
    memory: int | None = None

    def __post_init__(self) -> None:
        for field, value, least, unit in (
            ("timeout", self.timeout, 1, "seconds"),
            ("memory", self.memory, 128, "MB"),
        ):
            # bool is an int, and 1.5 s is no Lambda, Cloud Run or host.json timeout.
            if value is not None and (type(value) is not int or value < least):
                raise ConfigurationError(
                    f"{field} must be a whole number of {unit}, at least {least}, got {value!r}"
                )

    def over(self, default: Limits) -> Limits:
        """These limits, each one not given taken from ``default`` (the app's)."""
        return Limits(
            timeout=default.timeout if self.timeout is None else self.timeout,
            memory=default.memory if self.memory is None else self.memory,
        )


NO_LIMITS = Limits()


_DEFAULT_RETRY = Retry()
# A schedule declares no retry policy: a failed run is retried as AWS Lambda retries an
# asynchronous invocation (an EventBridge target's), twice, on every target that can
# (the local runtime, Cloud Scheduler's retry config, Azure's timer retry policy).
SCHEDULE_RETRY = Retry(max_retries=2)


class Http(Value):
    """An HTTP route: ``/orders/{order_id}``; ``{name+}`` matches the rest of the path.

    ``auth="function"`` (the default) asks for the provider's own caller authentication where it
    has one (an Azure function key, IAM on Cloud Run functions and Lambda URLs); ``"anonymous"``
    opens the route to the internet. The local runtime does not authenticate.
    ``cors`` lets browsers on other origins call the route (``portable_fn.cors``).
    """

    path: str
    methods: tuple[str, ...] = ("GET",)
    auth: Literal["function", "anonymous"] = "function"
    cors: CORS | None = None
    kind: ClassVar[Literal["http"]] = "http"

    def __post_init__(self) -> None:
        from portable_fn._routing import compile_route  # validates the pattern

        compile_route(self.path)
        methods = tuple(m.upper() for m in self.methods)
        bad = [m for m in methods if m not in HTTP_METHODS]
        if bad or not methods:
            raise ConfigurationError(f"unsupported HTTP methods {bad or methods!r}")
        object.__setattr__(self, "methods", tuple(dict.fromkeys(methods)))
        if self.auth not in ("function", "anonymous"):
            raise ConfigurationError(f"auth must be 'function' or 'anonymous', got {self.auth!r}")
        if self.cors is not None and not isinstance(self.cors, CORS):
            raise ConfigurationError(f"cors must be a pf.CORS or None, got {self.cors!r}")
        if self.cors is not None and "OPTIONS" in self.methods:
            # The core answers a CORS route's preflight: an OPTIONS handler would never run.
            raise ConfigurationError(
                "a CORS route cannot take OPTIONS: the core answers its preflight "
                "(pass cors=False to handle OPTIONS yourself)"
            )

    @property
    def served_methods(self) -> tuple[str, ...]:
        """``methods`` and HEAD when the route takes GET: the core answers a HEAD as the GET
        (RFC 9110 section 9.3.2), so a front end that routes by method (API Gateway, the Azure
        host) must send HEAD here too, not answer it or pass it elsewhere."""
        if "GET" in self.methods and "HEAD" not in self.methods:
            return (*self.methods, "HEAD")
        return self.methods


class Queue(Value):
    """A point-to-point queue: each message goes to one consumer, retried, then dead-lettered."""

    name: str
    retry: Retry = _DEFAULT_RETRY
    dead_letter: str | None = None
    batch_size: int = 10
    fifo: bool = False
    kind: ClassVar[Literal["queue"]] = "queue"

    def __post_init__(self) -> None:
        _check_resource("queue", self.name)
        if self.dead_letter is not None:
            _check_resource("dead-letter queue", self.dead_letter)
            if self.dead_letter == self.name:
                raise ConfigurationError("a queue cannot be its own dead-letter queue")
        if not 1 <= self.batch_size <= 100:
            raise ConfigurationError(f"batch_size must be 1-100, got {self.batch_size!r}")

    @property
    def dead_letter_name(self) -> str:
        """The dead-letter queue's name: the declared one, else ``<queue>-dlq``."""
        return self.dead_letter or f"{self.name}-dlq"


class Topic(Value):
    """A publish/subscribe topic: every subscribing function gets every message."""

    name: str
    retry: Retry = _DEFAULT_RETRY
    dead_letter: str | None = None
    kind: ClassVar[Literal["topic"]] = "topic"

    def __post_init__(self) -> None:
        _check_resource("topic", self.name)
        if self.dead_letter is not None:
            _check_resource("dead-letter queue", self.dead_letter)


StorageAction = Literal["created", "deleted"]


class Storage(Value):
    """Object storage notifications for one bucket, filtered by action and key prefix/suffix."""

    bucket: str
    on: tuple[StorageAction, ...] = ("created",)
    prefix: str = ""
    suffix: str = ""
    retry: Retry = _DEFAULT_RETRY
    kind: ClassVar[Literal["storage"]] = "storage"

    def __post_init__(self) -> None:
        if re.fullmatch(_BUCKET, self.bucket) is None or ".." in self.bucket:
            raise ConfigurationError(
                f"bucket name {self.bucket!r} must be 3-63 lowercase letters, digits, '.', '-'"
            )
        on = (self.on,) if isinstance(self.on, str) else tuple(self.on)
        if not on or any(action not in ("created", "deleted") for action in on):
            raise ConfigurationError(f"on= takes 'created' and/or 'deleted', got {self.on!r}")
        object.__setattr__(self, "on", on)

    def accepts(self, key: str, action: str) -> bool:
        return action in self.on and key.startswith(self.prefix) and key.endswith(self.suffix)


class Schedule(Value):
    """A schedule: ``rate(N minutes|hours|days)`` or a 5-field UTC cron expression."""

    expression: str
    rate: timedelta | None = None  # derived from expression
    cron: Cron | None = None  # derived from expression
    kind: ClassVar[Literal["schedule"]] = "schedule"

    def __post_init__(self) -> None:
        if not isinstance(self.expression, str) or not self.expression.strip():
            raise ConfigurationError("a schedule needs a rate(...) or cron expression")
        rate = parse_rate(self.expression)
        if rate is None and self.expression.strip().lower().startswith("rate"):
            raise ConfigurationError(
                f"bad rate expression {self.expression!r}: use rate(N minute(s)|hour(s)|day(s))"
            )
        object.__setattr__(self, "rate", rate)
        object.__setattr__(self, "cron", None if rate is not None else parse_cron(self.expression))


class Event(Value):
    """Events on the provider's event bus, routed by CloudEvent ``type`` (exact, or a prefix
    ending in ``*``) and optionally ``source``. On AWS an EventBridge event's type is its
    ``detail-type``, so ``@app.event("EC2 Instance State-change Notification",
    source="aws.ec2")`` takes that AWS event."""

    type: str
    source: str | None = None
    retry: Retry = _DEFAULT_RETRY
    kind: ClassVar[Literal["event"]] = "event"

    def __post_init__(self) -> None:
        if not isinstance(self.type, str) or re.fullmatch(_EVENT_TYPE, self.type) is None:
            raise ConfigurationError(f"bad event type pattern {self.type!r}")

    def matches(self, event_type: str, source: str | None = None) -> bool:
        if self.source is not None and source != self.source:
            return False
        if self.type.endswith("*"):
            return event_type.startswith(self.type[:-1])
        return event_type == self.type


class Stream(Value):
    """An ordered stream (Kinesis, Event Hubs): batches in partition order."""

    name: str
    batch_size: int = 100
    start: Literal["latest", "trim_horizon"] = "latest"
    retry: Retry = _DEFAULT_RETRY
    kind: ClassVar[Literal["stream"]] = "stream"

    def __post_init__(self) -> None:
        _check_resource("stream", self.name)
        if not 1 <= self.batch_size <= 10000:
            raise ConfigurationError(f"batch_size must be 1-10000, got {self.batch_size!r}")
        if self.start not in ("latest", "trim_horizon"):
            raise ConfigurationError(
                f"start must be 'latest' or 'trim_horizon', not {self.start!r}"
            )


Trigger = Http | Queue | Topic | Storage | Schedule | Event | Stream
