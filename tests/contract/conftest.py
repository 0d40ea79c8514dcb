"""Harnesses for the contract suite: the core itself, and every installed adapter's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import pytest

from portable_fn.adapter import dispatch_event, dispatch_http, installed_adapters
from portable_fn.app import App
from portable_fn.context import Context
from portable_fn.events import CloudEvent, schedule_data, storage_data
from portable_fn.http import Request, Response
from portable_fn.testing import Harness, harness_function, offline
from portable_fn.triggers import Schedule


class CoreHarness:
    """The reference: the dispatch kernel with no provider in between."""

    provider = "core"

    def _ctx(self, function: str) -> Context:
        return Context(provider=self.provider, function_name=function, invocation_id="i")

    def http(self, app: App, request: Request) -> Response:
        with offline(app):
            return dispatch_http(app, request, self._ctx("http"))

    def deliver(self, app: App, function: str, events: Sequence[CloudEvent]) -> list[bool]:
        harness_function(app, function, "deliver")
        with offline(app):
            return [dispatch_event(app, function, e, self._ctx(function)).ok for e in events]

    def schedule(self, app: App, function: str, scheduled_time: datetime) -> None:
        trigger = harness_function(app, function, "schedule").trigger
        assert isinstance(trigger, Schedule)
        data = schedule_data(expression=trigger.expression, scheduled_time=scheduled_time)
        event = CloudEvent(id="s", source="/core", type="schedule", time=scheduled_time, data=data)
        with offline(app):
            assert dispatch_event(app, function, event, self._ctx(function)).ok

    def storage(
        self, app: App, function: str, *, bucket: str, key: str, size: int, etag: str,
        action: Literal["created", "deleted"],
    ) -> None:
        harness_function(app, function, "storage")
        data = storage_data(bucket=bucket, key=key, size=size, etag=etag, action=action)
        event = CloudEvent(id="o", source="/core", type="storage", subject=key, data=data)
        with offline(app):
            assert dispatch_event(app, function, event, self._ctx(function)).ok


def _harnesses() -> list[Any]:
    found: list[Any] = [pytest.param(CoreHarness(), id="core")]
    for name in sorted(installed_adapters()):
        found.append(pytest.param(name, id=name, marks=pytest.mark.adapter))
    return found


@pytest.fixture(params=_harnesses())
def harness(request: pytest.FixtureRequest) -> Harness:
    param = request.param
    if isinstance(param, str):
        return installed_adapters()[param].load().harness()  # type: ignore[no-any-return]
    return param  # type: ignore[no-any-return]
