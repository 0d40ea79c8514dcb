# SPDX-License-Identifier: Apache-2.0
"""Structured logs: one JSON object per line, read natively by every provider's log ingestion.

CloudWatch Logs and Workers Logs take JSON lines as they are; Cloud Logging lifts ``severity``,
``message`` and ``logging.googleapis.com/trace`` out of a JSON line written to stdout
(https://cloud.google.com/logging/docs/structured-logging); Application Insights ingests the
worker's stdout. The level comes from ``PORTABLE_FN_LOG_LEVEL`` (default INFO), read when the
first logger is made, never at import; without it, from ``AWS_LAMBDA_LOG_LEVEL``, the level
Lambda's advanced logging controls set and filter application lines by
(https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

from portable_fn import _json
from portable_fn._traceback import stack as _stack
from portable_fn._traceback import text as _text

__all__ = ["LEVELS", "Logger", "logger"]

LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
# Other names for them: Lambda's own (AWS_LAMBDA_LOG_LEVEL is TRACE ... WARN, FATAL, the names
# a Lambda user writes), which stdlib ``logging`` takes too. Read as INFO they were a quiet
# "WARN" turned into a verbose log.
_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL", "TRACE": "DEBUG"}
_NAMES = {number: name for name, number in LEVELS.items()}
_threshold: int | None = None
_stream: TextIO | None = None  # None: sys.stdout at write time (the runtime may replace it)
_project: str | None = None
_second: tuple[int, str] = (-1, "")
# ASCII output: the C fast path, and safe in every log pipeline (JSON readers undo the escapes).
# NaN and the infinities refused: written raw they make the line invalid JSON, which Cloud
# Logging and CloudWatch then keep as plain text (severity and trace lost); the fallback below
# writes them as their text, as any value JSON cannot hold.
_encode = _json.encoder(str, ascii_only=True)
# The longest line written whole; a longer one is cut to fit (``_log_fit``, which says why).
MAX_LINE = 64 * 1024


def threshold() -> int:
    global _threshold
    if _threshold is None:
        # Lambda's level as the default: a function set to DEBUG there wrote no debug line, and
        # one set to WARN wrote INFO lines only for Lambda to drop them.
        value = os.environ.get("PORTABLE_FN_LOG_LEVEL") or os.environ.get(
            "AWS_LAMBDA_LOG_LEVEL", "INFO"
        )
        _threshold = LEVELS.get(_level_name(value), 20)
    return _threshold


def _level_name(level: str) -> str:
    """``level`` as a key of ``LEVELS``, when it is a level: any case, space around it (a YAML
    template's or an .env file's value), or one of the ``_ALIASES``."""
    name = level.strip().upper()
    return _ALIASES.get(name, name)


def _level_of(level: object) -> str:
    """A ``log`` call's level as a key of ``LEVELS``: any spelling ``_level_name`` takes, or
    stdlib ``logging``'s number (``logging.WARNING``); anything else is INFO, as Lambda reads a
    line whose level it does not know. A log call never raises for its level."""
    if isinstance(level, int):
        return _NAMES[min(50, max(10, level)) // 10 * 10]
    name = _level_name(level) if isinstance(level, str) else ""
    return name if name in LEVELS else "INFO"


def _in_lambda() -> bool:
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def _line_heads() -> dict[str, str]:
    """Each level's line head, worked out once a process (the environment says which names:
    Lambda's where it runs), with each level's "level" value beside it (``_level_fields``) and
    the lowest level ``emit`` writes at (``_emit_floor``)."""
    global _heads, _level_fields, _emit_floor
    if _heads is None:
        lambda_ = _in_lambda()
        names = _LAMBDA_NAMES if lambda_ else {}
        # Lambda drops a JSON line below the function's application log level, whatever wrote
        # it: a line that is data (EMF metrics) is written at least at that level there.
        floor = _level_name(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "")) if lambda_ else ""
        _emit_floor = floor if floor in LEVELS else "DEBUG"
        _level_fields = {level: names.get(level, level) for level in LEVELS}
        _heads = {
            level: f'{{"level":"{field}","severity":"{level}","message":'
            for level, field in _level_fields.items()
        }
    return _heads


def _level_field(level: str) -> str:
    """A line's "level" value, the one its head writes."""
    if _heads is None:
        _line_heads()
    return _level_fields[level]


def set_level(level: str | None) -> None:
    """Set the level for this process (None: read the environment again)."""
    global _threshold, _project, _heads
    _threshold = None if level is None else LEVELS[_level_name(level)]
    _project = None
    _heads = None
    bridge = sys.modules.get("portable_fn._stdlib_log")  # loaded once the bridge may be on
    if bridge is not None:
        bridge.follow_level()


def set_stream(stream: TextIO | None) -> None:
    """Where log lines go for this process (None: ``sys.stdout``, what every provider reads)."""
    global _stream
    _stream = stream


def _timestamp(now: float) -> str:
    global _second
    seconds = int(now)
    cached = _second  # one tuple, read and replaced whole: threads never see half of it
    if cached[0] != seconds:  # strftime once a second, not once a line
        cached = _second = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    return f"{cached[1]}.{int((now - seconds) * 1000):03d}Z"


def gcp_project() -> str:
    """The Google Cloud project the process runs in (``GOOGLE_CLOUD_PROJECT``, which Cloud Run
    functions set), read once; "" elsewhere. Lines written there get Cloud Logging's fields."""
    global _project
    if _project is None:
        _project = os.environ.get("GOOGLE_CLOUD_PROJECT", "")
    return _project


class _Levels:
    """The level methods, over whatever ``log`` the class defines."""

    __slots__ = ()

    def log(self, level: str | int, message: str, /, *args: object, **fields: Any) -> None:
        raise NotImplementedError

    def debug(self, message: str, /, *args: object, **fields: Any) -> None:
        self.log("DEBUG", message, *args, **fields)

    def info(self, message: str, /, *args: object, **fields: Any) -> None:
        self.log("INFO", message, *args, **fields)

    def warning(self, message: str, /, *args: object, **fields: Any) -> None:
        self.log("WARNING", message, *args, **fields)

    def error(self, message: str, /, *args: object, **fields: Any) -> None:
        self.log("ERROR", message, *args, **fields)

    def critical(self, message: str, /, *args: object, **fields: Any) -> None:
        self.log("CRITICAL", message, *args, **fields)


# Keys a line sets itself: bound or call fields named so are merged into a record instead
# (rare), so that no key appears twice.
_RESERVED = frozenset(("level", "severity", "message", "timestamp", "logging.googleapis.com/trace"))
# Lambda filters application lines by their "level" (AWS_LAMBDA_LOG_LEVEL), knowing TRACE,
# DEBUG, INFO, WARN, ERROR and FATAL, and reads any other value as INFO: a WARNING line was
# dropped at WARN, a CRITICAL one at ERROR
# (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
# Elsewhere "level" is Python's name; "severity" is Cloud Logging's everywhere.
_LAMBDA_NAMES = {"WARNING": "WARN", "CRITICAL": "FATAL"}
_heads: dict[str, str] | None = None  # each level's line head, for the platform: _line_heads()
_level_fields: dict[str, str] = {}  # each level's "level" value, set with _heads
_emit_floor = "DEBUG"  # the lowest level ``emit`` writes at, set with _heads
_escape = _json.escape(ascii_only=True)


class Logger(_Levels):
    """A logger bound to fields that every line carries (function, invocation, event, trace).

    A line is written from a template: the bound fields are encoded to JSON once per logger, on
    its first line, and only the message, timestamp and the call's own fields per line. Python
    3.11's C encoder spends about 0.2 µs per member, so encoding the whole record every time
    was most of a line's cost.
    """

    __slots__ = ("_bound", "_fields", "_stream", "_taken")

    def __init__(self, fields: Mapping[str, Any] | None = None, stream: TextIO | None = None):
        self._fields = dict(fields or {})
        self._stream = stream
        self._bound: str | None = None  # the bound fields as JSON members, once encoded
        # The names a call's field would give twice (bound, and the line's own), with _bound.
        self._taken: frozenset[str] = _RESERVED

    def bind(self, **fields: Any) -> Logger:
        """A logger with more fields bound."""
        return Logger({**self._fields, **fields}, self._stream)

    @property
    def fields(self) -> Mapping[str, Any]:
        return dict(self._fields)

    def log(self, level: str | int, message: str, /, *args: object, **fields: Any) -> None:
        if type(level) is not str or level not in LEVELS:
            level = _level_of(level)  # not as the level methods pass it: WARN, "warning", 30
        if LEVELS[level] < (_threshold if _threshold is not None else threshold()):
            return
        if args or "exc_info" in fields:
            message, fields = _stdlib_call(message, args, fields)
        self._line(level, message, fields)

    def emit(self, level: str | int, message: str, /, *args: object, **fields: Any) -> None:
        """The line whatever the level: for lines that are data rather than diagnostics
        (metrics, read from the log as CloudWatch EMF or log-based metrics). In Lambda the line
        is at least at the function's application log level (``AWS_LAMBDA_LOG_LEVEL``), below
        which Lambda drops it
        (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html)."""
        if type(level) is not str or level not in LEVELS:
            level = _level_of(level)
        if _heads is None:
            _line_heads()
        if LEVELS[level] < LEVELS[_emit_floor]:
            level = _emit_floor  # Lambda would drop it (see _line_heads)
        if args or "exc_info" in fields:
            message, fields = _stdlib_call(message, args, fields)
        self._line(level, message, fields)

    def _line(self, level: str, message: str, fields: dict[str, Any]) -> None:
        """A line with the call's own ``fields``, whose values JSON cannot hold go as text."""
        if not fields:
            self._write(level, message, "", fields)
            return
        try:
            members = _encode(fields)
        except Exception:  # a value JSON cannot hold (a tuple key, a loop): it goes as text
            fields = _plain(fields)
            members = _encode(fields)
        self._write(level, message, "," + members[1:-1], fields)

    def _write(self, level: str, message: str, members: str, fields: Mapping[str, Any]) -> None:
        """One line: ``members`` are the call's own ``fields`` as JSON members (",..." or "")."""
        bound = self._bound
        if bound is None:
            bound = self._encode_bound()
        fields_bound = self._fields
        project = _project if _project is not None else gcp_project()
        if (
            (fields and not self._taken.isdisjoint(fields))
            or (not bound and fields_bound)
            or (project and (fields_bound.get("trace_id") or "stack" in fields))
        ):
            record = self._record(level, message, project, fields)
            try:
                line = _encode(record)
            except Exception:
                line = _encode(_plain(record))
        else:
            text = _escape(message) if type(message) is str else _encode_message(message)
            stamp = _timestamp(time.time())
            heads = _heads if _heads is not None else _line_heads()
            line = f'{heads[level]}{text},"timestamp":"{stamp}"{bound}{members}}}'
        if len(line) >= MAX_LINE:  # ASCII: as many bytes as characters
            from portable_fn._log_fit import fitted  # rare: not on the cold-start path

            line = fitted(_plain(self._record(level, message, project, fields)))
        stream = self._stream or _stream or sys.stdout
        try:
            stream.write(line + "\n")
            stream.flush()
        except Exception:
            # A closed or broken stdout (`| head` gone, a closed file: ValueError), none at all
            # (None: a process started without one), or a stream put there that raises its own
            # error loses the line but must not fail the invocation that logged it.
            pass

    def _encode_bound(self) -> str:
        """The bound fields as JSON members, once per logger (values JSON cannot hold become
        their text, here and in every record)."""
        fields = self._fields
        self._taken = _RESERVED.union(fields)
        if not fields or not _RESERVED.isdisjoint(fields):
            self._bound = ""
            return ""
        try:
            encoded = _encode(fields)
        except Exception:
            self._fields = fields = _plain(fields)
            encoded = _encode(fields)
        bound = self._bound = "," + encoded[1:-1]
        return bound

    def _record(
        self, level: str, message: str, project: str, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The line as a record, when the template cannot serve: a call's field overriding a
        bound one, bound fields named like the line's own, or Cloud Logging's trace and Error
        Reporting's stack members."""
        record: dict[str, Any] = {
            "level": _level_field(level),
            "severity": level,  # Cloud Logging's name for it
            "message": message,
            "timestamp": _timestamp(time.time()),
            **self._fields,
        }
        if project:
            trace = record.get("trace_id")
            if trace:
                record["logging.googleapis.com/trace"] = f"projects/{project}/traces/{trace}"
        record.update(fields)
        stack = record.get("stack")
        if project and type(stack) is str and "stack_trace" not in record:
            # Error Reporting takes errors from a log entry's `stack_trace` member (Python's
            # traceback text, which `stack` is), not from `stack`: on GCP the line has both.
            # https://cloud.google.com/error-reporting/docs/formatting-error-messages
            record["stack_trace"] = stack
        return record

    def exception(
        self, message: str, /, *args: object, exc: BaseException | None = None, **fields: Any
    ) -> None:
        """ERROR with the exception's type, message and traceback (in the log, never in a
        response). ``args`` as the other level methods take them."""
        if LEVELS["ERROR"] < (_threshold if _threshold is not None else threshold()):
            return
        if exc is None and len(args) == 1 and isinstance(args[0], BaseException) and (
            type(message) is not str or "%" not in message
        ):
            exc, args = args[0], ()  # exception("failed", err): the error, given in its place
        if args:
            message = _formatted(message, args)
        info = fields.pop("exc_info", None)  # stdlib's spelling: the exception given, if one
        if exc is None and info is not None and info is not True:
            exc = info[1] if isinstance(info, tuple) and len(info) == 3 else info
        error = exc if isinstance(exc, BaseException) else sys.exc_info()[1]
        if error is None or fields:
            if error is not None:
                _add_error(fields, error)
            self.log("ERROR", message, **fields)
            return
        # The usual call, an error and nothing else: its three members from a template.
        error_type, text, stack = type(error).__name__, _text(error), _stack(error)
        members = (
            f',"error_type":{_escape(error_type)},"error":{_escape(text)},'
            f'"stack":{_escape(stack)}'
        )
        self._write(
            "ERROR", message, members, {"error_type": error_type, "error": text, "stack": stack}
        )


def _formatted(message: object, args: tuple[object, ...]) -> str:
    """``message % args`` as stdlib ``logging`` formats a call's arguments (one mapping is
    the mapping: ``"%(id)s", {"id": 1}``); arguments that do not fit come after the message
    instead: stdlib would print a "Logging error" and lose the line, and a log call never
    raises (https://docs.python.org/3/library/logging.html#logging.Logger.debug)."""
    values: object = args
    if len(args) == 1 and isinstance(args[0], Mapping) and args[0]:
        values = args[0]
    text = message if type(message) is str else _text(message)
    try:
        return text % values
    except Exception:
        return f"{text} {_text(args)}"


def _add_error(fields: dict[str, Any], error: BaseException) -> None:
    """The members ``exception`` gives a line, unless the call gave them itself."""
    fields.setdefault("error_type", type(error).__name__)
    fields.setdefault("error", _text(error))
    fields.setdefault("stack", _stack(error))


def _stdlib_call(
    message: str, args: tuple[object, ...], fields: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """A call as a stdlib or Powertools Logger user writes it: ``args`` formatted into the
    message, and ``exc_info`` (True, an exception, or ``sys.exc_info()``'s tuple) as the
    exception's members, as ``exception`` writes them, rather than a field saying ``true``."""
    if args:
        message = _formatted(message, args)
    if "exc_info" in fields:
        info = fields.pop("exc_info")
        if isinstance(info, tuple) and len(info) == 3:
            info = info[1]
        error = info if isinstance(info, BaseException) else (
            sys.exc_info()[1] if info else None
        )
        if error is not None:
            _add_error(fields, error)
    return message, fields


def _plain(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with each value JSON cannot hold (a dict with tuple keys, a list that
    contains itself, one whose ``__str__`` fails) as its text: a log call never raises."""
    plain: dict[str, Any] = {}
    for key, value in fields.items():
        try:
            _encode(value)
        except Exception:
            value = _text(value)
        plain[key] = value
    return plain


def _encode_message(message: object) -> str:
    """A message that is not a ``str`` as JSON, or as its text when JSON cannot hold it."""
    try:
        return _encode(message)
    except Exception:
        return _escape(_text(message))


class _InvocationLogger(_Levels):
    """``pf.logger``: logs with the fields of whatever invocation is running in this context
    (through the dispatcher's context variable), so module-level code needs no ``ctx``."""

    __slots__ = ()

    def _bound(self) -> Logger:
        from portable_fn._invocation import invocation_logger

        return invocation_logger()

    def bind(self, **fields: Any) -> Logger:
        return self._bound().bind(**fields)

    def append_keys(self, **fields: Any) -> None:
        """Put ``fields`` on every later line of the running invocation, the framework's own
        included (its "event handler failed" line), as Powertools' ``Logger.append_keys``;
        they end with the invocation (a batch's next message starts without them). ``bind``
        instead returns a logger of its own."""
        from portable_fn._invocation import current

        taken = _RESERVED.union(("exc_info",)).intersection(fields)
        if taken:
            # A "level" of its own would relabel (and in Lambda filter out) every later line,
            # the framework's failure line included.
            raise ValueError(f"append_keys cannot set {sorted(taken)}: the line's own members")
        invocation = current()
        if invocation is None:
            raise RuntimeError("pf.logger.append_keys works inside a handler: its keys last "
                               "for the invocation (bind() gives a logger with fields anywhere)")
        invocation.append_keys(fields)

    def log(self, level: str | int, message: str, /, *args: object, **fields: Any) -> None:
        if type(level) is not str or level not in LEVELS:
            level = _level_of(level)
        if LEVELS[level] >= threshold():
            self._bound().log(level, message, *args, **fields)

    def exception(
        self, message: str, /, *args: object, exc: BaseException | None = None, **fields: Any
    ) -> None:
        self._bound().exception(message, *args, exc=exc, **fields)


logger = _InvocationLogger()
