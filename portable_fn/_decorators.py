# SPDX-License-Identifier: Apache-2.0
"""The trigger decorators (``@app.http``, ``@app.queue``, ...): each builds its trigger and the
function's limits and secrets now, at decoration time, and registers the handler through
``App.register``, returning it unchanged. A mixin of ``App``, kept apart from the registry it
fills."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from portable_fn._settings import secret_names
from portable_fn.cors import CORS, resolve
from portable_fn.errors import ConfigurationError
from portable_fn.triggers import (
    Event,
    Http,
    Limits,
    Queue,
    Retry,
    Schedule,
    Storage,
    StorageAction,
    Stream,
    Topic,
    Trigger,
)

if TYPE_CHECKING:
    from portable_fn.events import CloudEvent

__all__ = ["Decorators"]

F = TypeVar("F", bound=Callable[..., Any])
V = TypeVar("V")


def _retry(retry: Retry | None, max_retries: int | None) -> Retry:
    if retry is not None and max_retries is not None and retry.max_retries != max_retries:
        raise ConfigurationError("give max_retries or retry=Retry(...), not both")
    if retry is not None:
        return retry
    return Retry() if max_retries is None else Retry(max_retries=max_retries)


class Decorators:
    """``App``'s trigger decorators; ``App`` gives ``register``, ``auth`` and ``cors``."""

    auth: Literal["function", "anonymous"]
    cors: CORS | None
    secrets: tuple[str, ...]

    if TYPE_CHECKING:

        def register(
            self,
            handler: F,
            trigger: Trigger,
            *,
            name: str | None = None,
            options: Mapping[str, Any] | None = None,
            limits: Limits = ...,
            secrets: tuple[str, ...] | None = None,
        ) -> F: ...

    def _registering(
        self,
        trigger: Trigger,
        name: str | None,
        timeout: int | None,
        memory: int | None,
        idempotent: Any = False,
        secrets: Iterable[str] | None = None,
    ) -> Callable[[F], F]:
        """The decorator every trigger method returns: the function's limits and secrets built
        now (an error naming it), then ``register`` for the handler it is given."""
        limits = _build(lambda: Limits(timeout=timeout, memory=memory), name)
        own = None if secrets is None else _build(lambda: self._own_secrets(secrets), name)
        options = {"idempotent": idempotent}
        return lambda handler: self.register(
            handler, trigger, name=name, options=options, limits=limits, secrets=own
        )

    def _own_secrets(self, secrets: Iterable[str]) -> tuple[str, ...]:
        """A function's ``secrets=``: some of the app's, the only ones it is given (least
        privilege where the provider wires secrets per function: AWS, GCP)."""
        own = tuple(dict.fromkeys(secret_names(secrets, "secrets=")))
        undeclared = [s for s in own if s not in self.secrets]
        if undeclared:
            raise ConfigurationError(
                f"secrets {', '.join(map(repr, undeclared))} are not the app's (App(secrets="
                f"{list(self.secrets)!r})): a function takes some of the app's secrets"
            )
        # The app's order, so artifacts do not change with the order a decorator lists them.
        return tuple(s for s in self.secrets if s in own)

    def http(
        self,
        path: str,
        methods: Iterable[str] = ("GET",),
        *,
        auth: Literal["function", "anonymous"] | None = None,
        cors: bool | CORS | None = None,
        idempotent: bool | Literal["required"] = False,
        name: str | None = None,
        timeout: int | None = None,
        memory: int | None = None,
        secrets: Iterable[str] | None = None,
    ) -> Callable[[F], F]:
        """An HTTP route. The handler takes a ``Request`` and returns a ``Response``, a
        dict/list (JSON), str, bytes or None (204). ``auth``: None follows the app's
        (``App(auth=)``, "function" by default). ``cors``: None follows the app's, True is
        the app's or ``CORS()``, False none. ``idempotent``: True replays by the
        ``Idempotency-Key`` header; ``"required"`` also refuses (400) a POST/PUT/PATCH/DELETE
        without it."""
        methods = (methods,) if isinstance(methods, str) else tuple(methods)
        trigger = _build(
            lambda: Http(
                path=path,
                methods=methods,
                auth=self.auth if auth is None else auth,
                cors=resolve(cors, self.cors),
            ),
            name,
        )
        return self._registering(trigger, name, timeout, memory, idempotent, secrets)

    def queue(
        self,
        queue: str,
        *,
        max_retries: int | None = None,
        retry: Retry | None = None,
        dead_letter: str | None = None,
        batch_size: int = 10,
        fifo: bool = False,
        idempotent: bool | Callable[[CloudEvent], str] = False,
        name: str | None = None,
        timeout: int | None = None,
        memory: int | None = None,
        secrets: Iterable[str] | None = None,
    ) -> Callable[[F], F]:
        """Messages sent to ``queue`` (``pf.send``), one consumer each, retried then
        dead-lettered. The handler takes a ``CloudEvent``."""
        trigger = _build(
            lambda: Queue(
                name=queue,
                retry=_retry(retry, max_retries),
                dead_letter=dead_letter,
                batch_size=batch_size,
                fifo=fifo,
            ),
            name,
        )
        return self._registering(trigger, name, timeout, memory, idempotent, secrets)

    def topic(
        self,
        topic: str,
        *,
        max_retries: int | None = None,
        retry: Retry | None = None,
        dead_letter: str | None = None,
        idempotent: bool | Callable[[CloudEvent], str] = False,
        name: str | None = None,
        timeout: int | None = None,
        memory: int | None = None,
        secrets: Iterable[str] | None = None,
    ) -> Callable[[F], F]:
        """Every event published to ``topic`` (``pf.publish``); each subscriber gets a copy."""
        trigger = _build(
            lambda: Topic(name=topic, retry=_retry(retry, max_retries), dead_letter=dead_letter),
            name,
        )
        return self._registering(trigger, name, timeout, memory, idempotent, secrets)

    def storage(
        self,
        bucket: str,
        *,
        on: Iterable[StorageAction] = ("created",),
        prefix: str = "",
        suffix: str = "",
        max_retries: int | None = None,
        idempotent: bool | Callable[[CloudEvent], str] = False,
        name: str | None = None,
        timeout: int | None = None,
        memory: int | None = None,
        secrets: Iterable[str] | None = None,
    ) -> Callable[[F], F]:
        """Objects created or deleted in ``bucket``; ``event.data`` has bucket, key, size, etag,
        action and (when known) content_type, the same on every provider."""
        actions = cast(
            "tuple[StorageAction, ...]", (on,) if isinstance(on, str) else tuple(on)
        )
        trigger = _build(
            lambda: Storage(
                bucket=bucket,
                on=actions,
                prefix=prefix,
                suffix=suffix,
                retry=_retry(None, max_retries),
            ),
            name,
        )
        return self._registering(trigger, name, timeout, memory, idempotent, secrets)

    def schedule(
        self,
        expression: str | None = None,
        *,
        cron: str | None = None,
        name: str | None = None,
        timeout: int | None = None,
        memory: int | None = None,
        secrets: Iterable[str] | None = None,
    ) -> Callable[[F], F]:
        """``rate(N minutes|hours|days)`` or ``cron="m h dom mon dow"`` (UTC)."""
        if (expression is None) == (cron is None):
            raise ConfigurationError("give a rate(...) expression or cron=..., exactly one")
        text = expression if expression is not None else cron
        assert text is not None  # narrowed by the check above, for mypy
        trigger = _build(lambda: Schedule(expression=text), name)
        return self._registering(trigger, name, timeout, memory, secrets=secrets)

    def event(
        self,
        type: str,
        *,
        source: str | None = None,
        max_retries: int | None = None,
        idempotent: bool | Callable[[CloudEvent], str] = False,
        name: str | None = None,
        timeout: int | None = None,
        memory: int | None = None,
        secrets: Iterable[str] | None = None,
    ) -> Callable[[F], F]:
        """Events of CloudEvent ``type`` (or a ``prefix.*``) on the event bus (``pf.emit``)."""
        trigger = _build(
            lambda: Event(type=type, source=source, retry=_retry(None, max_retries)), name
        )
        return self._registering(trigger, name, timeout, memory, idempotent, secrets)

    def stream(
        self,
        stream: str,
        *,
        batch_size: int = 100,
        start: Literal["latest", "trim_horizon"] = "latest",
        max_retries: int | None = None,
        idempotent: bool | Callable[[CloudEvent], str] = False,
        name: str | None = None,
        timeout: int | None = None,
        memory: int | None = None,
        secrets: Iterable[str] | None = None,
    ) -> Callable[[F], F]:
        """Records of an ordered stream (Kinesis, Event Hubs), in partition order."""
        trigger = _build(
            lambda: Stream(
                name=stream, batch_size=batch_size, start=start, retry=_retry(None, max_retries)
            ),
            name,
        )
        return self._registering(trigger, name, timeout, memory, idempotent, secrets)


def _build(make: Callable[[], V], name: str | None) -> V:
    """Build a trigger (or limits) now, at decoration time, naming the function in any
    error."""
    try:
        return make()
    except ConfigurationError as exc:
        if name and exc.function is None:
            raise ConfigurationError(str(exc), function=name) from None
        raise

