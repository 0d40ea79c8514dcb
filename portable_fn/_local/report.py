"""What ``portable-fn dev`` prints: the functions served, then every invocation as it runs.

Two renderings of the same records: a readable line for people, or one JSON object per line
(``--json``) for tools and tests. Writes are serialised by a lock because handler threads,
the event loop and the watcher threads all report.

HTTP request lines are buffered (flushed every ``FLUSH_EVERY`` seconds by the runtime, when
the buffer fills, and before any other record): one write and flush per request halved the
throughput of a hello-world route. Every other record is written and flushed at once.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, TextIO

from portable_fn._local.inspect import limits_text

_LOUD = {"dead", "error", "warning"}
_RED, _YELLOW, _GREEN, _RESET = "\033[1;31m", "\033[33m", "\033[32m", "\033[0m"


FLUSH_EVERY = 0.1
_BUFFERED = 256  # lines


class Reporter:
    """Prints records; ``record(kind, **fields)`` is the only entry point."""

    def __init__(
        self,
        *,
        json_lines: bool,
        stream: TextIO | None = None,
        quiet_http: bool = False,
        app: str = "APP",
        state_dir: str | None = None,
    ) -> None:
        """``app`` and ``state_dir`` are the ``APP`` and ``--state-dir`` that ``dev`` was given:
        a dead letter's line says the ``dlq`` command to run for it, ready to paste."""
        self.json_lines = json_lines
        # The table, with the invocation line naming this app's dlq command.
        self._render: dict[str, Callable[[Mapping[str, Any]], str]] = {
            **_RENDER, "invocation": partial(_invocation, dlq=dlq_command(app, state_dir))
        }
        self.quiet_http = quiet_http
        self._stream = stream or sys.stdout
        self._lock = threading.Lock()
        self._colour = not json_lines and self._stream.isatty()
        self._pending: list[str] = []
        self._second = -1
        self._stamp = ""

    def record(self, kind: str, /, **fields: Any) -> None:
        if (kind == "http" and self.quiet_http) or (kind == "start" and not self.json_lines):
            # "start" marks a handler entered (tools and tests use it to see work in flight);
            # people read the outcome line, which follows.
            return
        now = time.time()
        if self.json_lines:
            line = json.dumps({"ts": round(now, 6), "event": kind, **fields}, default=str)
        else:
            line = self._readable(now, kind, fields)
        with self._lock:
            self._pending.append(line)
            if kind != "http" or len(self._pending) >= _BUFFERED:
                self._write()

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self._write()

    def _write(self) -> None:
        self._pending.append("")
        self._stream.write("\n".join(self._pending))
        self._stream.flush()
        self._pending.clear()

    def _readable(self, now: float, kind: str, f: Mapping[str, Any]) -> str:
        second = int(now)
        if second != self._second:  # strftime once a second, not once a line
            self._second, self._stamp = second, time.strftime("%H:%M:%S", time.localtime(now))
        stamp = f"{self._stamp}.{int(now % 1 * 1000):03d}"
        text = self._render.get(kind, _other)(_printable(f))
        if kind == "invocation":
            outcome = str(f.get("outcome"))
            colour = {"ok": _GREEN, "retry": _YELLOW, "dead": _RED}.get(outcome, "")
        else:
            colour = _RED if kind in _LOUD else ""
        if self._colour and colour:
            text = colour + text + _RESET
        return f"{stamp}  {text}"


# C0 controls (newline included), DEL and C1: a request path (percent-decoded by the server),
# a header or an event value would otherwise write terminal escapes or forge whole lines.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def escape(text: str) -> str:
    """``text`` with its control characters written as ``\\xNN``: safe to print to a terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _printable(f: Mapping[str, Any]) -> dict[str, Any]:
    """``f`` with its text escaped for a terminal; a ``stack`` keeps its own lines."""
    out: dict[str, Any] = {}
    for key, value in f.items():
        if key == "stack" and isinstance(value, str):
            value = "\n".join(escape(line) for line in value.split("\n"))
        elif isinstance(value, str):
            value = escape(value)
        elif isinstance(value, Mapping):
            value = _printable(value)
        out[key] = value
    return out


def _where(f: Mapping[str, Any]) -> str:
    return f"{f.get('function')} [{f.get('trigger')}]"


def dlq_command(app: str, state_dir: str | None) -> str:
    """``portable-fn dlq APP`` for the app ``dev`` runs, quoted for a POSIX shell, with
    ``--state-dir`` when it is not the default."""
    import shlex

    command = f"portable-fn dlq {shlex.quote(app)}"
    if state_dir is not None and state_dir != ".portable-fn":
        command += f" --state-dir {shlex.quote(state_dir)}"
    return command


def _invocation(f: Mapping[str, Any], dlq: str) -> str:
    head = (
        f"{str(f.get('outcome')).upper():<5} {_where(f)} id={f.get('id')} "
        f"type={f.get('type')} attempt={f.get('attempt')}/{f.get('max_attempts')} "
        f"{f.get('duration_ms')} ms"
    )
    if f.get("outcome") == "retry" and f.get("counted") is False:
        # The handler did not run: no thread took it in time, or another attempt holds the key.
        held = f.get("started") is not False
        waiting = "; waiting for the attempt that holds the key" if held else ""
        return (
            f"{head}: {f.get('error')}{waiting}, "
            f"look again in {f.get('delay_s')} s (not counted as an attempt)"
        )
    if f.get("outcome") == "retry":
        return (
            f"{head}: {f.get('error')}; retry in {f.get('delay_s')} s "
            f"(backoff cap {f.get('backoff_s')} s)"
        )
    if f.get("outcome") == "dead":
        return (
            f"{head}: {f.get('error')}\n"
            f"    !!! DEAD-LETTERED to {f.get('dlq')!r} (delivery {f.get('delivery')}); "
            f"see `{dlq} list`, re-drive with `{dlq} redrive {f.get('delivery')}`"
        )
    return head


def _serving(f: Mapping[str, Any]) -> str:
    lines = [
        f"portable-fn dev: app {f.get('app')!r} on {f.get('url')} (state {f.get('state_dir')})"
    ]
    for fn in f.get("functions", []):
        lines.append(f"    {fn['name']:<24} {fn['trigger']:<9} {fn['resource']}{limits_text(fn)}")
    if f.get("timeouts_off"):
        lines.append("    timeouts: off (--timeout 0): no function is stopped, declared ones too")
    lines.append(f"    ingress: POST {f.get('url')}/_pf/events[/FUNCTION] (CloudEvents over HTTP)")
    lines.append(f"    health:  GET  {f.get('url')}/_pf/health")
    return "\n".join(lines)


def _log(f: Mapping[str, Any]) -> str:
    extra = " ".join(f"{k}={v}" for k, v in (f.get("fields") or {}).items())
    text = f"{f.get('level') or 'LOG':<5} {f.get('function') or '-'}: {f.get('message')}"
    text = f"{text}  {extra}" if extra else text
    stack = f.get("stack")
    if stack:
        text += "\n" + "\n".join("    " + line for line in str(stack).rstrip().splitlines())
    return text


def _other(f: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in f.items())


# Each record kind's line; "invocation" is the Reporter's own (it names the app's dlq command).
_RENDER: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "log": _log,
    "serving": _serving,
    "start": lambda f: f"start {_where(f)} id={f.get('id')} attempt={f.get('attempt')}",
    "http": lambda f: (
        f"HTTP  {f.get('method')} {f.get('path')} -> {f.get('status')} "
        f"{f.get('function') or '-'} {f.get('duration_ms')} ms"
    ),
    "accepted": lambda f: (
        f"accepted {f.get('kind')} {f.get('name')!r} id={f.get('id')} "
        f"type={f.get('type')} -> {', '.join(f.get('functions', [])) or '(none)'}"
    ),
    "recovered": lambda f: (
        f"RECOVERED {f.get('deliveries')} delivery(ies) in flight when the last run stopped: "
        "running them again"
    ),
    "reloading": lambda f: f"reloading: {', '.join(f.get('changed', []))} changed",
    "warning": lambda f: f"WARNING {f.get('message')}",
    "error": lambda f: f"ERROR {f.get('message')}",
}
