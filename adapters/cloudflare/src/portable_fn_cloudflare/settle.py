# SPDX-License-Identifier: Apache-2.0
"""What to do with one delivered message once its handler has run: ack, retry or dead-letter.

Cloudflare Queues settle each message on its own: ``ack()`` removes it, ``retry(delaySeconds)``
redelivers it later, and a message not settled is redelivered with the whole batch
(https://developers.cloudflare.com/queues/configuration/batching-retries/). So every message is
settled explicitly and a failure never redelivers its siblings.

Retry policy: the n-th retry waits ``Retry.delay(n)`` seconds (exponential, jittered),
rounded up to whole seconds and capped at Cloudflare's 12 hours. Cloudflare itself counts the
retries and moves the message to ``dead_letter_queue`` once ``max_retries`` is spent (the
packager writes both from the trigger).

Non-retryable failures (``pf.NonRetryable``, undecodable messages): retrying is pointless, and
on Cloudflare ``retry()`` is the only way the platform dead-letters, which would spend every
retry first. Instead the Worker sends the message body to the dead-letter queue itself (through
the producer binding the packager declares for it) and acks it. The packager gives every consumer a
dead-letter queue; ``drop`` (ack and log) is only for a consumer somehow without one.
"""

from __future__ import annotations

import math
import random
from typing import Literal, NamedTuple

from portable_fn.adapter import Outcome
from portable_fn.triggers import Retry

# Largest delaySeconds Cloudflare accepts (Queues limits page).
MAX_DELAY_SECONDS = 43_200


class Settlement(NamedTuple):
    action: Literal["ack", "retry", "dead_letter", "drop"]
    delay_seconds: int | None = None


ACK = Settlement("ack")


def settle(
    outcome: Outcome,
    *,
    attempts: int,
    retry: Retry,
    dead_letter: str | None,
    rand: random.Random | None = None,
) -> Settlement:
    """The settlement for a message on its ``attempts``-th delivery (1 = first)."""
    if outcome.ok:
        return ACK
    if not outcome.retryable:
        return Settlement("dead_letter") if dead_letter else Settlement("drop")
    # Delivery n failing means retry number n comes next.
    delay = retry.delay(max(attempts, 1), rand=rand)
    return Settlement("retry", min(MAX_DELAY_SECONDS, max(1, math.ceil(delay))))
