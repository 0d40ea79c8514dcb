# SPDX-License-Identifier: Apache-2.0
"""A function's declared ``timeout=`` and ``memory=`` as ``gcloud functions deploy --gen2``
takes them, with the ceilings of Cloud Run functions and of what calls the function.

- ``--timeout``: a duration (``120s``); default 60 s; at most 3600 s for an HTTP function and
  540 s for an event-driven one (https://cloud.google.com/functions/docs/configuring/timeout,
  ``gcloud functions deploy --timeout``: https://cloud.google.com/sdk/gcloud/reference/functions/deploy).
- ``--memory``: ``<number><unit>``, units k, M, G, Ki, Mi, Gi (same reference). The declared MB
  are written as MiB, the unit of the memory tiers (128 MiB ... 32 GiB) and of Lambda's
  ``MemorySize``; at most 32 GiB (https://cloud.google.com/functions/docs/configuring/memory,
  https://cloud.google.com/functions/quotas "Max function memory").
- ``--cpu``: Cloud Run needs at least 2 vCPU above 4 GiB, 4 above 8 GiB, 6 above 16 GiB and 8
  above 24 GiB (https://cloud.google.com/run/docs/configuring/services/memory-limits "Required
  minimum CPUs"); written only there, where it matches the functions tiers (8 GiB 2, 16 GiB 4,
  32 GiB 8). Below, gcloud derives the CPU from the memory, as it does without ``--memory``.
- A schedule's Cloud Scheduler HTTP job cancels an attempt at its attempt deadline (default
  180 s, 15 s to 30 min) and retries it
  (https://cloud.google.com/dotnet/docs/reference/Google.Cloud.Scheduler.V1/latest/Google.Cloud.Scheduler.V1.Job
  ``AttemptDeadline``): the job waits the timeout and a minute (what Scheduler counts and the
  function does not: routing, a cold start), so a schedule may run at most 1740 s.
- Pub/Sub ends a push request at the subscription's ack deadline (10 to 600 s, 10 s when 0)
  and redelivers the message
  (https://cloud.google.com/python/docs/reference/pubsub/1.7.1/google.cloud.pubsub_v1.types.Subscription
  ``ack_deadline_seconds``); a trigger ``gcloud eventarc triggers create`` makes has 10 s
  (https://github.com/hashicorp/terraform-provider-google/issues/17701). Each event trigger's
  subscription gets 600 s: the function's own timeout (at most 540 s) ends an attempt first,
  with a 504 that Pub/Sub takes as a nack.

Undeclared limits are written as gcloud's defaults (60 s, 256 MiB), not left out: gcloud keeps
what an earlier deploy set for a flag left out, so an app that stops declaring ``timeout=300``
would keep running with 300 s while ``ctx.deadline`` said 60. ``deploy.sh`` says all of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from portable_fn.errors import ConfigurationError

from portable_fn_gcp.functions import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from portable_fn.triggers import Limits

__all__ = ["Sizing", "sizing"]

Kind = Literal["http", "schedule", "event"]

MAX_TIMEOUT: dict[Kind, int] = {"http": 3600, "schedule": 1740, "event": 540}
_WHY: dict[Kind, str] = {
    "http": "Cloud Run functions (gen2) stops an HTTP function at 3600 s",
    "schedule": "its Cloud Scheduler HTTP job waits at most 1800 s for an attempt (then "
    "cancels and retries it), a minute of which routing and a cold start may take",
    "event": "Cloud Run functions (gen2) stops an event-driven function at 540 s",
}
MAX_MEMORY = 32 * 1024  # MiB
DEFAULT_MEMORY = 256  # MiB, gen2's own (https://cloud.google.com/functions/docs/configuring/memory)
# (more than this many MiB, needs this many vCPU), largest first.
_MIN_CPU = ((24 * 1024, 8), (16 * 1024, 6), (8 * 1024, 4), (4 * 1024, 2))
MAX_ACK_DEADLINE = 600
SCHEDULER_DEADLINE_DEFAULT, MAX_SCHEDULER_DEADLINE, SCHEDULER_MARGIN = 180, 1800, 60


@dataclass(frozen=True, slots=True)
class Sizing:
    """What ``deploy.sh`` writes for one function's limits (None: undeclared, gcloud's default
    written out)."""

    timeout: int | None = None  # seconds
    memory: int | None = None  # MiB
    cpu: int | None = None  # vCPU, only where the memory requires more than gcloud derives

    @property
    def effective_timeout(self) -> int:
        return DEFAULT_TIMEOUT if self.timeout is None else self.timeout

    @property
    def ack_deadline(self) -> int:
        """Seconds the trigger's Pub/Sub subscription waits for the function to answer: Pub/Sub's
        most, whatever the timeout. The push request's clock starts before the function's
        (routing, a cold start), so a deadline equal to the timeout would redeliver a message
        while an attempt within its time still runs; a function that overruns answers 504
        at its own timeout, which Pub/Sub takes as a nack."""
        return MAX_ACK_DEADLINE

    @property
    def attempt_deadline(self) -> int:
        """Seconds a schedule's Cloud Scheduler job waits for the function to answer: its
        timeout and a margin for what Scheduler counts and the function does not (routing, a
        cold start), never less than Scheduler's own 180 s. Equal to the timeout, a run that
        used most of it was cancelled and retried while it still ran."""
        return min(MAX_SCHEDULER_DEADLINE,
                   max(SCHEDULER_DEADLINE_DEFAULT, self.effective_timeout + SCHEDULER_MARGIN))

    def flags(self) -> list[str]:
        memory = DEFAULT_MEMORY if self.memory is None else self.memory
        out = ["--timeout", f"{self.effective_timeout}s", "--memory", f"{memory}Mi"]
        return out + ([] if self.cpu is None else ["--cpu", str(self.cpu)])


def sizing(name: str, limits: Limits, kind: Kind) -> Sizing:
    """The flags for ``limits``; a ``ConfigurationError`` for a value past a ceiling."""
    timeout, memory = limits.timeout, limits.memory
    problems = []  # every ceiling passed, in one error: not one fix and one run per ceiling
    if timeout is not None and timeout > MAX_TIMEOUT[kind]:
        problems.append(f"timeout={timeout}: {_WHY[kind]}; declare at most {MAX_TIMEOUT[kind]}")
    if memory is not None and memory > MAX_MEMORY:
        problems.append(f"memory={memory}: Cloud Run functions gives a function at most 32 GiB; "
                        f"declare at most {MAX_MEMORY}")
    if problems:
        raise ConfigurationError("; and ".join(problems), function=name)
    return Sizing(timeout, memory, min_cpu(memory))


def min_cpu(memory: int | None) -> int | None:
    """The vCPU Cloud Run requires for ``memory`` MiB, where it requires more than 1."""
    if memory is None:
        return None
    return next((cpu for above, cpu in _MIN_CPU if memory > above), None)
