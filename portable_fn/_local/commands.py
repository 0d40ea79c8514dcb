"""The CLI commands' bodies (``portable_fn.cli`` parses, this module runs).

Imported only once a command runs; each command imports what only it needs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portable_fn._local.loader import load_app
from portable_fn.app import App
from portable_fn.errors import ConfigurationError

if TYPE_CHECKING:
    from portable_fn._finding import Finding
    from portable_fn._local.runtime import Options


def _dump(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def _function(app: App, name: str) -> str:
    if name not in app.functions:
        raise ConfigurationError(
            f"app {app.name!r} has no function {name!r}; its functions: " + ", ".join(app.functions)
        )
    return name


def _env_files(paths: list[str]) -> None:
    if paths:
        from portable_fn._local.env_file import load

        for path in paths:
            load(path)


def cmd_dev(args: argparse.Namespace) -> int:
    from portable_fn._local.report import Reporter
    from portable_fn._local.server import serve

    _env_files(args.env_file)  # before the snapshot: reloaded workers get them as the shell's
    shell = dict(os.environ)
    app = load_app(args.app)  # a bad APP exits 2 at start, with --reload too
    options = dev_options(args)
    if args.reload or args.reload_dir:
        from portable_fn._local.reload import Worker, supervise, watch_dirs

        # Workers inherit this environment: without the env= values this import put there,
        # or an edited value would lose to the one read at start, as a shell export does.
        os.environ.clear()
        os.environ.update(shell)

        dirs = watch_dirs(args.app, args.reload_dir)
        worker = Worker(
            ref=args.app,
            host=args.host,
            allowed_hosts=tuple(args.allow_host),
            options=options,
            json_lines=args.json,
            quiet_http=args.quiet_http,
        )
        supervise(worker, port=args.port, dirs=dirs)
        return 0
    reporter = Reporter(json_lines=args.json, quiet_http=args.quiet_http, app=args.app,
                        state_dir=args.state_dir)
    serve(app, host=args.host, port=args.port, options=options, reporter=reporter,
          allowed_hosts=tuple(args.allow_host))
    return 0


def dev_options(args: argparse.Namespace) -> Options:
    """The runtime's options for ``dev``'s arguments; ``--timeout``/``--max-body``, when given,
    over ``PORTABLE_FN_TIMEOUT``/``PORTABLE_FN_MAX_BODY``, and 0 for no limit."""
    from portable_fn._local.runtime import Options

    flags = {"timeout": args.timeout, "max_body": args.max_body}
    limits = Options.limits_from_env(given=[k for k, v in flags.items() if v is not None])
    if args.timeout is not None:
        limits["timeout"] = args.timeout or None
    # Given as 0 (no limit), by the flag or the environment, it lifts a function's declared
    # timeout too (a debugger's breakpoint); any other value is for functions that declare none.
    limits["no_timeouts"] = "timeout" in limits and limits["timeout"] is None
    if args.max_body is not None:
        limits["max_body"] = args.max_body or None
    return Options(
        state_dir=Path(args.state_dir),
        bucket_dir=Path(args.bucket_dir) if args.bucket_dir else None,
        time_scale=args.time_scale,
        poll_interval=args.poll_interval,
        run_schedules_on_start=args.run_schedules_on_start,
        delivery_delay=Options.delivery_delay_from_env(),
        **limits,
    )


def cmd_dlq(args: argparse.Namespace) -> int:
    from portable_fn._local.store import Store
    from portable_fn.events import from_json

    load_app(args.app)  # fail early on a wrong APP, as every command does
    if args.action == "redrive" and not args.ids and not args.all:
        # Bad input whatever the state holds: exit 2 with the command's one line (cli.md).
        raise ConfigurationError("name dead-letter IDs to re-drive, or pass --all")
    path = Path(args.state_dir) / "broker.sqlite3"
    if not path.exists():
        print(f"no broker state at {path}: nothing was dead-lettered", file=sys.stderr)
        # As with a state that holds no dead letters: exit 1 only for IDs given (cli.md), and
        # --json is JSON on stdout whatever the state.
        missing = sorted(set(args.ids)) if args.action == "redrive" and not args.all else []
        if args.json:
            _dump([] if args.action == "list" else {"redriven": [], "not_found": missing})
        return 1 if missing else 0
    store = Store(path)  # ConfigurationError when it is not a broker database
    try:
        if args.action == "redrive":
            done = store.redrive(None if args.all else args.ids)
            missing = sorted(set(args.ids) - set(done)) if not args.all else []
            if args.json:
                _dump({"redriven": done, "not_found": missing})
            else:
                if done or not missing:  # nothing re-driven of the IDs given: the error alone
                    print(
                        f"re-driven {len(done)} dead letter(s): {done or '-'}; a running "
                        "`portable-fn dev` delivers them now, else they wait for its next start"
                    )
                if missing:
                    print(
                        f"not dead-lettered (unknown or already re-driven): {missing}; the IDs "
                        "are the first column of `dlq APP list`",
                        file=sys.stderr,
                    )
            return 1 if missing else 0
        rows = []
        for d in store.dead():
            event = from_json(d.event)
            rows.append(
                {
                    "id": d.id,
                    "dlq": d.dlq,
                    "function": d.function,
                    "source_kind": d.kind,
                    "source_name": d.name,
                    "event_id": event.id,
                    "type": event.type,
                    "attempts": d.attempt,
                    "error": d.error,
                    "data": event.data,
                }
            )
        if args.json:
            _dump(rows)
        elif not rows:
            print("no dead letters")
        else:
            print("\n".join(dlq_table(rows)))
        return 0
    finally:
        store.close()


def dlq_table(rows: list[dict[str, Any]]) -> list[str]:
    """``dlq list``'s lines: a header, then one line per dead letter, the columns as wide as
    their longest value (fixed widths put a longer DLQ or function name out of line with the
    header). The id, type and error text come from whoever sent the event: escaped, an ESC
    sequence cannot drive the terminal nor a line break forge a line (as dev prints)."""
    from portable_fn._local.report import escape

    shown = [{k: escape(v) if isinstance(v, str) else v for k, v in r.items()} for r in rows]
    wide = {
        key: max(len(title), *(len(str(r[key])) for r in shown))
        for key, title in (("id", "ID"), ("dlq", "DLQ"), ("function", "FUNCTION"))
    }
    ids, dlqs, functions = wide["id"], wide["dlq"], wide["function"]
    lines = [f"{'ID':>{ids}}  {'DLQ':<{dlqs}}  {'FUNCTION':<{functions}}  TYPE  "
             "(redrive takes the ID)"]
    for r in shown:
        lines.append(
            f"{r['id']:>{ids}}  {r['dlq']:<{dlqs}}  {r['function']:<{functions}}  {r['type']}  "
            f"event {r['event_id']}  after {r['attempts']} attempt(s): {r['error']}"
        )
    return lines


def cmd_invoke(args: argparse.Namespace) -> int:
    from portable_fn._local.invoke import run_invoke

    _env_files(args.env_file)
    app = load_app(args.app)
    return run_invoke(app, _function(app, args.function), args.event, args.provider)


def cmd_inspect(args: argparse.Namespace) -> int:
    from portable_fn._local.inspect import inspect_app, render

    report = inspect_app(load_app(args.app))
    if args.json:
        _dump(report)
    else:
        print(render(report))
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    from portable_fn.adapter import load_adapter

    samples = load_adapter(args.provider).sample_events()
    if args.kind is None:
        print("\n".join(sorted(samples)))
        return 0
    if args.kind not in samples:
        raise ConfigurationError(
            f"no sample {args.kind!r} for {args.provider}; kinds: {', '.join(sorted(samples))}"
        )
    _dump(samples[args.kind])
    return 0


def cmd_package(args: argparse.Namespace) -> int:
    from portable_fn.adapter import load_adapter

    before = dict(sys.modules)
    app = load_app(args.app)
    # What importing the app (re)loaded, to check it ships: by module object, not by name, as
    # an app loaded again in one process (tests) keeps its module's name.
    loaded = {name for name, module in sys.modules.items() if before.get(name) is not module}
    adapter = load_adapter(args.provider)
    out = Path(args.out or f"dist/{args.provider}")
    try:
        findings = adapter.package(app, args.app, out)
    except OSError as exc:
        why = f"{exc.strerror or exc} ({exc.filename or out})"
        raise OSError(f"cannot write the package to {out}: {why}") from None
    for finding in [*findings, *_unlisted_imports(args, adapter, loaded)]:
        print(f"{finding.level:<11} {finding.function or '(app)'}: {finding.message}")
    print(f"packaged {app.name!r} for {args.provider} in {out}")
    return 0


def _unlisted_imports(
    args: argparse.Namespace, adapter: Any, loaded: set[str]
) -> list[Finding]:
    """Warnings for the third-party modules the app imported that its package will not carry
    (``unlisted_imports``): only warnings, so a check that cannot be made fails nothing."""
    from portable_fn._app_sources import app_origin, app_root
    from portable_fn._finding import Finding
    from portable_fn._import_check import unlisted_imports
    from portable_fn.adapter import installed_adapters

    found = installed_adapters().get(args.provider)
    own = [found.dist.name] if found is not None and found.dist is not None else []
    try:
        origin, module = app_origin(args.app)
        return unlisted_imports(
            loaded,
            origin.parent / "requirements.txt",  # where every target reads it (beside the app)
            provided=[*own, *getattr(adapter, "provides", ())],
            own=app_root(origin, module),
        )
    except Exception as exc:  # broken metadata, an unreadable file: packaging went well
        return [Finding(None, "info", f"could not check the app's imports: {exc}")]


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "dev": cmd_dev,
    "dlq": cmd_dlq,
    "invoke": cmd_invoke,
    "inspect": cmd_inspect,
    "events": cmd_events,
    "package": cmd_package,
}
