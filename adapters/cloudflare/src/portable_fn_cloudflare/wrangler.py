# SPDX-License-Identifier: Apache-2.0
"""``wrangler.toml`` for an app: the config as plain data, then a small TOML writer.

Keys: https://developers.cloudflare.com/workers/wrangler/configuration/ (``main``,
``compatibility_date``, ``compatibility_flags = ["python_workers"]``, ``[observability]``,
``[triggers] crons``,
``[[queues.producers]]``, ``[[queues.consumers]]`` with ``max_batch_size``, ``max_retries``,
``retry_delay``, ``dead_letter_queue``, ``[[r2_buckets]]``, ``[limits] cpu_ms``, ``[vars]``,
``[secrets] required``). Tests validate the result against the JSON schema wrangler ships
(``config-schema.json``).
"""

from __future__ import annotations

import math
import re
from typing import Any

from portable_fn.app import App
from portable_fn.triggers import Schedule, Storage
from portable_fn_cloudflare import limits, plan
from portable_fn_cloudflare.findings import MAX_BATCH_SIZE
from portable_fn_cloudflare.scheduled import cron_for
from portable_fn_cloudflare.settle import MAX_DELAY_SECONDS

# The date the runtime behaviour was pinned against (Python Workers on Pyodide 0.28).
COMPATIBILITY_DATE = "2025-11-17"
_NOT_WORKER_NAME = re.compile(r"[^a-z0-9-]+")


def worker_name(app: App) -> str:
    return _NOT_WORKER_NAME.sub("-", app.name.lower()).strip("-")[:63] or "portable-fn"


def r2_binding(bucket: str) -> str:
    return "R2_" + re.sub(r"[^A-Z0-9_]+", "_", bucket.upper())


def config(app: App) -> dict[str, Any]:
    """The wrangler configuration for ``app`` as a dict (the shape wrangler.json would take)."""
    cfg: dict[str, Any] = {
        "name": worker_name(app),
        "main": "src/entry.py",
        "compatibility_date": COMPATIBILITY_DATE,
        "compatibility_flags": ["python_workers"],
        # The Worker's JSON log lines are kept and searchable in Workers Logs only when it is
        # on (https://developers.cloudflare.com/workers/observability/logs/workers-logs/).
        "observability": {"enabled": True},
    }
    crons: list[str] = []
    buckets: list[str] = []
    for fn in app.functions.values():
        if isinstance(fn.trigger, Schedule):
            cron, _note = cron_for(fn.trigger)
            if cron is not None and cron not in crons:
                crons.append(cron)
        elif isinstance(fn.trigger, Storage) and fn.trigger.bucket not in buckets:
            buckets.append(fn.trigger.bucket)
    # Always written, empty too: wrangler keeps a Worker's deployed crons when ``crons`` is
    # absent, so an app whose last schedule was removed would keep firing
    # (https://developers.cloudflare.com/workers/wrangler/configuration/#triggers: "set
    # crons = []" to remove them).
    cfg["triggers"] = {"crons": crons}
    # Per Worker, so app-wide: the longest timeout as CPU time (limits.cpu_ms says why).
    cpu_ms = limits.cpu_ms(app)
    if cpu_ms is not None:
        cfg["limits"] = {"cpu_ms": cpu_ms}
    # One consumer per queue (Cloudflare's rule): the function the Worker routes the queue to.
    consumers = list({c.queue: c for c in plan.consumers(app)}.values())
    producers = plan.producer_queues(app)
    if consumers or producers:
        cfg["queues"] = {
            "producers": [{"binding": plan.binding_name(q), "queue": q} for q in producers],
            "consumers": [_consumer(c) for c in consumers],
        }
    if buckets:
        cfg["r2_buckets"] = [{"binding": r2_binding(b), "bucket_name": b} for b in buckets]
    # Written only when there are some: `[secrets] required = []` would make wrangler dev load
    # no key at all from .dev.vars (settings.py says why each table is there).
    if app.env:
        cfg["vars"] = dict(app.env)
    if app.secrets:
        cfg["secrets"] = {"required": list(app.secrets)}
    return cfg


def _consumer(c: plan.Consumer) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "queue": c.queue,
        "max_batch_size": min(c.batch_size, MAX_BATCH_SIZE),
        "max_retries": c.retry.max_retries,
        # The platform's delay when a message is retried without one (the Worker always gives
        # one; this covers a crash before settling).
        "retry_delay": min(MAX_DELAY_SECONDS, math.ceil(c.retry.initial_backoff)),
    }
    if c.dead_letter:
        entry["dead_letter_queue"] = c.dead_letter
    return entry


def to_toml(cfg: dict[str, Any]) -> str:
    """TOML for the config: top-level scalars, then tables, then arrays of tables.

    Enough TOML for this config's shapes (strings, ints, bools, string lists, one level of
    nested tables and arrays of tables). Keys are bare: every key written is letters, digits,
    ``_`` and ``-`` (config keys, and env names, which the core limits to ``[A-Z0-9_]``).
    """
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    arrays: list[tuple[str, list[dict[str, Any]]]] = []

    def walk(prefix: str, table: dict[str, Any], out: list[str]) -> None:
        for key, value in table.items():
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict):
                tables.append((path, value))
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                arrays.append((path, value))
            else:
                out.append(f"{key} = {_scalar(value)}")

    walk("", cfg, lines)
    while tables:
        path, table = tables.pop(0)
        body: list[str] = []
        walk(path, table, body)
        if body:
            lines += ["", f"[{path}]", *body]
    for path, items in arrays:
        for item in items:
            lines += ["", f"[[{path}]]"]
            lines += [f"{k} = {_scalar(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


# TOML's short escapes (https://toml.io/en/v1.0.0#string); other characters that are not
# printable get \uXXXX or \UXXXXXXXX. Not JSON's escaping: JSON writes a character beyond
# U+FFFF as a surrogate pair, which TOML refuses ("\u" takes a Unicode scalar value only).
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}


def _string(value: str) -> str:
    """A TOML basic string for ``value``: printable characters as they are (the file is
    UTF-8), the rest escaped. A lone surrogate has no TOML form (``settings.check`` refuses)."""
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            raise ValueError(f"no TOML form for the lone surrogate U+{ord(ch):04X}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'
