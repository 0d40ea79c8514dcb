# SPDX-License-Identifier: Apache-2.0
"""The record every idempotency store keeps, the ``Store`` protocol, and the conflict error.

One record per key moves through two states:

- ``in_progress``: written put-if-absent by the attempt that runs the handler, with a lease
  (``expires_at``) so that a crashed attempt does not block the key for ever: once the lease has
  passed, the next delivery takes the key over and runs the handler again;
- ``completed``: written by that same attempt (fenced by its ``token``, so a slow attempt whose
  lease was taken over cannot overwrite its successor) with the result to replay and a retention
  (``expires_at`` again) after which the key is forgotten.

An expired record is treated as absent by every store, whether or not the backend has deleted
it yet (DynamoDB's TTL deletes up to days late).
"""

from __future__ import annotations

from typing import Literal, Protocol

from portable_fn._value import Value
from portable_fn.errors import HTTPError

__all__ = ["DEFAULT_LEASE", "DEFAULT_RETENTION", "IdempotencyConflict", "Record", "Store"]

DEFAULT_LEASE = 60.0
"""Seconds an in-progress record holds its key when the provider gives no deadline."""
DEFAULT_RETENTION = 24 * 3600.0
"""Seconds a completed record is kept: redeliveries come within minutes on every provider; a
day covers a re-driven dead letter of the same day too."""

Status = Literal["in_progress", "completed"]


class Record(Value):
    """One key's state. ``result`` is what to replay (an HTTP response), or None for events."""

    key: str
    status: Status
    token: str
    expires_at: float
    result: bytes | None = None

    def live(self, now: float) -> bool:
        return self.expires_at > now


class Store(Protocol):
    """Where idempotency records live; every method is atomic on its backend.

    ``lease`` and ``retention`` are the store's defaults (seconds), read by the call pipeline.
    """

    lease: float
    retention: float

    def acquire(self, key: str, token: str, expires_at: float, now: float) -> Record | None:
        """Put an ``in_progress`` record if the key is absent or its record expired by ``now``.

        Returns None when this caller now holds the key, else the live record that holds it.
        """
        ...

    def complete(
        self, key: str, token: str, result: bytes | None, expires_at: float, now: float
    ) -> bool:
        """Mark the key completed if ``token`` still holds it, or nobody live does; False if a
        later attempt holds it, which then owns the outcome."""
        ...

    def release(self, key: str, token: str) -> None:
        """Drop the in-progress record of a failed attempt (if ``token`` holds it), so the
        redelivery runs at once instead of waiting for the lease."""
        ...

    def get(self, key: str, now: float) -> Record | None:
        """The live record of ``key``, or None."""
        ...

    def delete(self, key: str) -> None:
        """Forget ``key`` whatever its state (an operator's reset)."""
        ...


class IdempotencyConflict(HTTPError):
    """Another attempt holds this key right now (409 Conflict, as the IETF Idempotency-Key
    draft says). For an event it is a retryable failure: the redelivery finds the key completed
    (and is acknowledged) or its lease expired (and runs)."""

    status = 409

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        # Seconds until the holder's lease ends: a runtime that schedules the redelivery then
        # spends one retry instead of several (the local runtime could read it; SQS could use
        # it as the message's visibility timeout).
        self.retry_after = retry_after
        super().__init__(message)
