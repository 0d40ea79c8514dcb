"""``portable-fn inspect``: the app's functions, the resources they imply, and per provider
what the installed adapters say they cannot honour (``Adapter.findings``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from portable_fn.app import App
from portable_fn.triggers import Event, Http, Queue, Schedule, Storage, Stream, Topic


def dead_letter_name(app: App, function: str) -> str:
    """The declared dead-letter queue, else ``<queue|topic>-dlq``, else ``<function>-dlq``."""
    trigger = app.function(function).trigger
    if isinstance(trigger, (Queue, Topic)):
        return trigger.dead_letter or f"{trigger.name}-dlq"
    return f"{function}-dlq"


def _resource(app: App, name: str) -> str:
    t = app.function(name).trigger
    if isinstance(t, Http):
        return f"{','.join(t.methods)} {t.path}"
    if isinstance(t, Storage):
        return f"bucket {t.bucket} on {','.join(t.on)}"
    if isinstance(t, Schedule):
        return t.expression
    if isinstance(t, Event):
        return f"type {t.type}" + (f" from {t.source}" if t.source else "")
    if isinstance(t, (Queue, Topic, Stream)):
        return f"{t.kind} {t.name}" + (
            "" if isinstance(t, Stream) else f" (local dead letters: {dead_letter_name(app, name)})"
        )
    return t.kind


def describe(app: App, *, timeouts: bool = True) -> list[dict[str, Any]]:
    """Each function with its trigger kind, the route or resource it listens on, and the
    timeout (seconds) and memory (MB) it declares, when it or its app declares them; no
    timeout without ``timeouts`` (``dev --timeout 0`` lifts them all)."""
    described: list[dict[str, Any]] = []
    for name, fn in app.functions.items():
        entry: dict[str, Any] = {
            "name": name, "trigger": fn.trigger.kind, "resource": _resource(app, name)
        }
        limits = fn.limits
        if limits.timeout is not None and timeouts:
            entry["timeout"] = limits.timeout
        if limits.memory is not None:
            entry["memory"] = limits.memory
        described.append(entry)
    return described


def limits_text(function: Mapping[str, Any]) -> str:
    """`` (timeout 120 s, memory 512 MB)`` for a ``describe`` entry that declares them."""
    said = [f"timeout {function['timeout']} s"] if "timeout" in function else []
    said += [f"memory {function['memory']} MB"] if "memory" in function else []
    return f" ({', '.join(said)})" if said else ""


def resources(app: App) -> dict[str, Any]:
    topics: dict[str, dict[str, Any]] = {}
    queues: dict[str, dict[str, Any]] = {}
    out: dict[str, Any] = {
        "topics": topics,
        "queues": queues,
        "buckets": {},
        "schedules": [],
        "event_types": [],
        "streams": {},
    }
    for name, fn in app.functions.items():
        t = fn.trigger
        if isinstance(t, Topic):
            topic = topics.setdefault(t.name, {"subscribers": []})
            topic["subscribers"].append(
                {
                    "function": name,
                    "max_retries": t.retry.max_retries,
                    "dead_letter": dead_letter_name(app, name),
                }
            )
        elif isinstance(t, Queue):
            queue = queues.setdefault(t.name, {"consumers": []})
            queue["consumers"].append(name)
            queue.update(
                max_retries=t.retry.max_retries,
                dead_letter=t.dead_letter_name,
                fifo=t.fifo,
                batch_size=t.batch_size,
            )
        elif isinstance(t, Storage):
            out["buckets"].setdefault(t.bucket, []).append(
                {"function": name, "on": list(t.on), "prefix": t.prefix, "suffix": t.suffix}
            )
        elif isinstance(t, Schedule):
            out["schedules"].append({"function": name, "expression": t.expression})
        elif isinstance(t, Event):
            out["event_types"].append({"function": name, "type": t.type, "source": t.source})
        elif isinstance(t, Stream):
            out["streams"].setdefault(t.name, []).append(name)
    for name, fn in app.functions.items():
        if isinstance(fn.trigger, (Queue, Topic)):
            dlq = dead_letter_name(app, name)
            queues.setdefault(dlq, {"consumers": [], "dead_letter_of": []})
            queues[dlq].setdefault("dead_letter_of", []).append(name)
    return out


@runtime_checkable
class DeadLetterNames(Protocol):
    """What an adapter's harness may say: the dead-letter queue or topic that its package
    creates for each function (GCP and Cloudflare name a topic's per subscriber, not per
    topic). Optional: a third-party adapter without it shows none."""

    def dead_letters(self, app: App) -> dict[str, str]: ...


def local_dead_letters(app: App) -> dict[str, str]:
    """Where ``portable-fn dev`` parks each event function's failures (``delivery``)."""
    return {
        name: dead_letter_name(app, name)
        for name, fn in app.functions.items()
        if not isinstance(fn.trigger, Http)
    }


def providers(app: App) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """Per installed adapter: its findings, and the dead letters its package creates."""
    from portable_fn.adapter import installed_adapters

    found: dict[str, Any] = {}
    dead: dict[str, dict[str, str]] = {"local": local_dead_letters(app)}
    for provider, entry in sorted(installed_adapters().items()):
        try:
            adapter = entry.load()
            found[provider] = [
                {"function": f.function, "level": f.level, "message": f.message}
                for f in adapter.findings(app)
            ]
            make = getattr(adapter, "harness", None)
            harness = make() if callable(make) else None
            if isinstance(harness, DeadLetterNames):
                dead[provider] = harness.dead_letters(app)
        except Exception as exc:  # one broken adapter must not hide the others' findings
            found[provider] = {"error": f"{type(exc).__name__}: {exc}"}
    return found, dead


def findings(app: App) -> dict[str, Any]:
    return providers(app)[0]


def inspect_app(app: App) -> dict[str, Any]:
    found, dead = providers(app)
    return {
        "app": app.name,
        "functions": describe(app),
        "resources": resources(app),
        "dead_letters": dead,
        "settings": settings(app),
        "providers": found,
    }


def settings(app: App) -> dict[str, Any]:
    """``App(env=)``'s values, and each secret's name with whether this shell sets it (the
    value is never shown)."""
    return {
        "env": dict(app.env),
        "secrets": [{"name": name, "set": name in os.environ} for name in app.secrets],
    }


def _render_settings(given: dict[str, Any]) -> list[str]:
    if not given["env"] and not given["secrets"]:
        return []
    lines = ["", "settings (environment variables on every provider):"]
    lines += [f"  env    {name}={value!r}" for name, value in given["env"].items()]
    lines += [
        f"  secret {s['name']}" + ("" if s["set"] else " (not set in this shell)")
        for s in given["secrets"]
    ]
    return lines


def _render_dead_letters(dead: dict[str, dict[str, str]]) -> list[str]:
    """One line per function: its dead letters locally and on each provider (the names differ:
    a topic's are per subscriber on GCP, Cloudflare and AWS)."""
    functions = list(dict.fromkeys(f for names in dead.values() for f in names))
    if not functions:
        return []
    lines = ["", "dead letters (where failed events end up):"]
    for function in functions:
        where = "; ".join(f"{p} {n[function]}" for p, n in dead.items() if function in n)
        lines.append(f"  {function:<24} {where}")
    return lines


def render(report: dict[str, Any]) -> str:
    lines = [f"app {report['app']!r}", "", "functions:"]
    lines += [
        f"  {f['name']:<24} {f['trigger']:<9} {f['resource']}{limits_text(f)}"
        for f in report["functions"]
    ]
    res = report["resources"]
    lines += ["", "resources:"]
    for topic, info in res["topics"].items():
        subs = ", ".join(s["function"] for s in info["subscribers"])
        lines.append(f"  topic  {topic:<24} -> {subs}")
    for queue, info in res["queues"].items():
        of = info.get("dead_letter_of")
        extra = f" (dead letters of {', '.join(of)})" if of else ""
        lines.append(f"  queue  {queue:<24} -> {', '.join(info['consumers']) or '-'}{extra}")
    for bucket, subs in res["buckets"].items():
        lines.append(f"  bucket {bucket:<24} -> {', '.join(s['function'] for s in subs)}")
    lines += [f"  schedule {s['expression']:<22} -> {s['function']}" for s in res["schedules"]]
    lines += [f"  event  {e['type']:<24} -> {e['function']}" for e in res["event_types"]]
    lines += _render_dead_letters(report.get("dead_letters", {}))
    lines += _render_settings(report.get("settings", {"env": {}, "secrets": []}))
    lines += ["", "providers:"]
    if not report["providers"]:
        lines.append("  no adapter installed (pip install -e adapters/aws ... from the repository)")
    for provider, found in report["providers"].items():
        if isinstance(found, dict):
            lines.append(f"  {provider}: adapter failed to load: {found['error']}")
            continue
        lines.append(f"  {provider}: {'everything portable' if not found else ''}".rstrip())
        lines += [f"    {f['level']:<11} {f['function'] or '(app)'}: {f['message']}" for f in found]
    return "\n".join(lines)
