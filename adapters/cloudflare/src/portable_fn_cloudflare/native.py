# SPDX-License-Identifier: Apache-2.0
"""Python stand-ins for the Workers runtime objects, for running the Worker's code in CPython.

Used by ``Adapter.invoke`` (``portable-fn invoke --provider cloudflare``) and the contract
harness, which must run in the test's own interpreter. They mirror the JS objects the runtime
hands a Worker (names, fields and methods as workerd defines them): a Request
(https://developers.cloudflare.com/workers/runtime-apis/request/), a ScheduledController, a
MessageBatch of Messages whose ``ack``/``retry`` calls are recorded. The real objects, under
real Pyodide with the real SDK, are exercised by the tests in ``tests/test_pyodide.py``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from portable_fn.errors import ConfigurationError


class _Buffer:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def to_bytes(self) -> bytes:
        return self._data


@dataclass
class JsRequestStandIn:
    """The fields of a JS Request ``fetch.read_request`` reads."""

    method: str
    url: str
    header_pairs: Sequence[tuple[str, str]] = ()
    content: bytes = b""

    @property
    def headers(self) -> Iterator[tuple[str, str]]:
        # The Fetch standard's Headers: lower-case names, repeated values joined with ", ".
        joined: dict[str, list[str]] = {}
        for name, value in self.header_pairs:
            joined.setdefault(name.lower(), []).append(value)
        return iter(sorted((k, ", ".join(v)) for k, v in joined.items()))

    @property
    def body(self) -> object | None:
        return self if self.content else None

    async def arrayBuffer(self) -> _Buffer:
        return _Buffer(self.content)


@dataclass
class ControllerStandIn:
    cron: str
    scheduledTime: float
    type: str = "scheduled"
    no_retry: bool = False

    def noRetry(self) -> None:
        self.no_retry = True


@dataclass
class MessageStandIn:
    id: str
    body: Any
    timestamp: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    attempts: int = 1
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def ack(self) -> None:
        self.calls.append(("ack", {}))

    def retry(self, **options: Any) -> None:
        self.calls.append(("retry", options))

    @property
    def settled(self) -> str | None:
        return self.calls[-1][0] if self.calls else None


@dataclass
class BatchStandIn:
    queue: str
    messages: list[MessageStandIn]


@dataclass
class ProducerStandIn:
    """A Queue producer binding: records what is sent."""

    queue: str
    sent: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)

    async def _done(self) -> None:
        return None

    def send(self, body: Any, **options: Any) -> Any:
        self.sent.append((body, options))
        return self._done()


class EnvStandIn:
    """``env`` with a producer stand-in for every binding name asked for."""

    def __init__(self, bindings: Mapping[str, str]) -> None:
        self.producers = {b: ProducerStandIn(q) for b, q in bindings.items()}

    def __getattr__(self, name: str) -> ProducerStandIn:
        try:
            return self.__dict__["producers"][name]  # type: ignore[no-any-return]
        except KeyError:
            raise AttributeError(name) from None


def batch_from_sample(sample: Mapping[str, Any]) -> BatchStandIn:
    """A batch from the JSON sample shape ``{"queue", "messages": [{id, timestamp, body,
    attempts}]}`` (timestamp in ms, as ``Date.getTime()`` gives it). ``ConfigurationError``
    naming what a hand-written sample lacks (``invoke`` exits 2), not a KeyError from inside."""
    with _sample_field("queue batch", '{"queue", "messages": [{"id", "timestamp" (ms), "body"}]}'):
        return BatchStandIn(
            queue=str(sample["queue"]),
            messages=[
                MessageStandIn(
                    id=str(m["id"]),
                    body=m.get("body"),
                    timestamp=datetime.fromtimestamp(
                        float(m["timestamp"]) / 1000, tz=timezone.utc
                    ),
                    attempts=int(m.get("attempts", 1)),
                )
                for m in sample["messages"]
            ],
        )


def request_from_sample(sample: Mapping[str, Any]) -> JsRequestStandIn:
    """``{"method", "url", "headers": [[name, value]], "body_b64"?}``; a ``body_b64`` that is not
    base64 is refused (it was read as an empty body)."""
    with _sample_field("request", '{"method", "url", "headers": [[name, value]], "body_b64"}'):
        encoded = sample.get("body_b64")
        content = base64.b64decode(encoded, validate=True) if encoded else b""
        return JsRequestStandIn(
            method=str(sample.get("method", "GET")),
            url=str(sample["url"]),
            header_pairs=[(str(k), str(v)) for k, v in sample.get("headers", [])],
            content=content,
        )


def scheduled_time(sample: Mapping[str, Any]) -> float:
    """A scheduled sample's ``scheduledTime`` (ms since the epoch)."""
    with _sample_field("scheduled event", '{"cron", "scheduledTime" (ms)}'):
        return float(sample["scheduledTime"])


@contextmanager
def _sample_field(kind: str, shape: str) -> Iterator[None]:
    try:
        yield
    except KeyError as exc:
        raise ConfigurationError(f"the {kind} sample has no {exc.args[0]!r}: {shape}") from None
    except (TypeError, ValueError) as exc:  # binascii.Error is a ValueError
        raise ConfigurationError(f"the {kind} sample is malformed ({exc}): {shape}") from None
