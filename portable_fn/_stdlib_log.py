# SPDX-License-Identifier: Apache-2.0
"""The standard ``logging`` module's records as portable-fn's JSON lines.

A handler's ``logging.getLogger(__name__).info(...)``, Powertools' and every library's
(botocore, httpx) records go to the root logger. Where nothing handles them there (Cloud Run
functions, Workers, the local runtime), Python drops INFO and prints WARNING and above as bare
text on stderr through ``logging.lastResort``
(https://docs.python.org/3/howto/logging.html#what-happens-if-no-configuration-is-provided):
no level Cloud Logging reads, no invocation fields. ``install`` puts a handler on the root
logger that writes each record as one line of the current invocation's logger.

It installs only where the root logger has no handler yet: Lambda's runtime (awslambdaric)
and Azure's Python worker put their own there before the app is imported, and so does a user's
``logging.basicConfig`` or ``dictConfig``; those are left alone, so no record is written twice.
Imported only once ``logging`` is (``_invocation._cold``): ``import portable_fn`` never
imports ``logging``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from portable_fn import log
from portable_fn._invocation import invocation_logger
from portable_fn._traceback import text as _text

__all__ = ["follow_level", "install"]

# A record's own attributes; any other one came from ``extra={...}`` and is kept as a field.
# "message" and "asctime" are set by a formatter, "taskName" by Python 3.12
# (https://docs.python.org/3/library/logging.html#logrecord-attributes).
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))).union(
    ("message", "asctime", "taskName")
)


class _Bridge(logging.Handler):
    """Writes each record through ``portable_fn.log``, at the record's level."""

    def __init__(self) -> None:
        super().__init__()
        # Set while this thread writes a record: a record logged by the writing itself (a
        # stream that logs) is dropped rather than written in a loop.
        self._writing = threading.local()

    def handle(self, record: logging.LogRecord) -> bool:
        # Not Handler.handle: its lock serialises every thread's lines; Logger writes whole
        # lines itself.
        if getattr(self._writing, "on", False) or not self.filter(record):
            return False
        self._writing.on = True
        try:
            _write(record)
        except Exception:  # a log call never raises, nor prints "--- Logging error ---"
            pass
        finally:
            self._writing.on = False
        return True

    def emit(self, record: logging.LogRecord) -> None:
        self.handle(record)


def _write(record: logging.LogRecord) -> None:
    """``record`` as one line of the current invocation's logger (no invocation fields outside
    one): ``getMessage()`` as the message, ``logger`` its name, its ``extra`` fields, and
    ``exc_info`` as the members ``Logger.exception`` writes."""
    level = log._level_of(record.levelno)
    if log.LEVELS[level] < log.threshold():
        return
    try:
        message = record.getMessage()
    except Exception:  # arguments that do not fit: after the message, as Logger does
        message = f"{_text(record.msg)} {_text(record.args)}"
    fields: dict[str, Any] = {
        key: value for key, value in vars(record).items() if key not in _STANDARD
    }
    fields["logger"] = record.name
    error = record.exc_info[1] if record.exc_info else None
    if error is not None:
        log._add_error(fields, error)
    if record.stack_info:
        fields.setdefault("stack_info", record.stack_info)
    invocation_logger().log(level, message, **fields)


def install() -> bool:
    """The bridge on the root logger, unless it has a handler already (the platform's or the
    user's); True when installed. The root level, left at its default WARNING, becomes
    portable-fn's threshold so INFO records reach the bridge."""
    global _sets_level
    root = logging.getLogger()
    if root.handlers:
        return False
    root.addHandler(_Bridge())
    if root.level == logging.WARNING:
        root.setLevel(log.threshold())
        _sets_level = True
    return True


# Whether the root logger's level is the bridge's to keep at portable-fn's threshold (it was
# left at the default when the bridge was installed; a level the app set stays the app's).
_sets_level = False


def follow_level() -> None:
    """After ``log.set_level``: the root logger's level follows the threshold, when the bridge
    set it, so a lowered level lets the records through (they were filtered before the bridge)."""
    if _sets_level:
        logging.getLogger().setLevel(log.threshold())
