# SPDX-License-Identifier: Apache-2.0
"""The ``portable-fn`` command line.

Only ``argparse``, ``os`` and ``sys`` load at start, so ``portable-fn --help`` is fast; each command
imports what it needs when it runs (uvicorn only inside ``dev``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

DESCRIPTION = "Write serverless functions once; run them on every cloud and locally."
APP_HELP = "module:attribute, a module, or a file path such as examples/shop/app.py"
ENV_FILE_HELP = (
    "NAME=VALUE lines (dotenv) put in the environment before the app loads, under what the "
    "shell sets: local values for App(secrets=...) and env= (repeatable)"
)


def _port(text: str) -> int:
    # Checked here: socket.bind raises OverflowError (no OSError) past 65535, a traceback.
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535 (0 picks a free one), got {text!r}")
    return int(text)


def _size(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"must be a whole number of bytes, got {text!r}")
    return int(text)


def _seconds(text: str, *, zero: bool) -> float:
    import math  # built in: no cost to --help

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    # A negative poll interval spins the delivery loop and the bucket scan; a negative scale
    # makes every retry immediate; nan and inf mean nothing here.
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        least = "0 or more" if zero else "more than 0"
        raise argparse.ArgumentTypeError(f"must be a number {least}, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portable-fn", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dev = commands.add_parser("dev", help="run the app locally: HTTP, broker, schedules, buckets")
    dev.add_argument("app", metavar="APP", help=APP_HELP)
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another name this machine is reached by on loopback (a hosts-file alias); "
        "requests naming any other site are refused (DNS rebinding)",
    )
    dev.add_argument("--port", type=_port, default=8080, help="0 picks a free port (printed)")
    dev.add_argument("--json", action="store_true", help="print JSON lines instead of text")
    dev.add_argument("--state-dir", default=".portable-fn", help="broker database and buckets")
    dev.add_argument("--bucket-dir", default=None, help="bucket folders (default STATE/buckets)")
    dev.add_argument(
        "--time-scale",
        type=lambda text: _seconds(text, zero=True),
        default=1.0,
        help="multiply retry delays (0.01: a 1 s backoff becomes 10 ms)",
    )
    dev.add_argument(
        "--poll-interval",
        type=lambda text: _seconds(text, zero=False),
        default=0.25,
        help="seconds between bucket folder scans and broker polls",
    )
    dev.add_argument(
        "--run-schedules-on-start",
        action="store_true",
        help="fire every schedule once at start, then on its expression",
    )
    dev.add_argument(
        "--timeout",
        type=lambda text: _seconds(text, zero=True),
        default=None,
        metavar="SECONDS",
        help="how long a handler that declares no timeout= may run before its invocation "
        "fails (default 30, the Lambda timeout of the AWS template); 0: no limit for any "
        "function, e.g. at a debugger breakpoint; env PORTABLE_FN_TIMEOUT",
    )
    dev.add_argument(
        "--max-body",
        type=_size,
        default=None,
        metavar="BYTES",
        help="largest HTTP request body a route reads, a 413 past it (default 6 MiB, Lambda's "
        "payload limit, the smallest cloud's; 0: no limit; env PORTABLE_FN_MAX_BODY)",
    )
    dev.add_argument("--quiet-http", action="store_true", help="do not print HTTP requests")
    dev.add_argument(
        "--reload",
        action="store_true",
        help="restart the app when a *.py file under its folder changes (events and the port "
        "are kept)",
    )
    dev.add_argument(
        "--reload-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="another folder to watch (repeatable; implies --reload)",
    )

    dev.add_argument("--env-file", action="append", default=[], metavar="FILE",
                     help=ENV_FILE_HELP)

    dlq = commands.add_parser("dlq", help="list or re-drive dead-lettered events")
    dlq.add_argument("app", metavar="APP", help=APP_HELP)
    dlq.add_argument("--state-dir", default=".portable-fn")
    dlq.add_argument("--json", action="store_true")
    # The same options after the action too (`dlq APP list --json`); SUPPRESS keeps an action
    # that does not repeat them from resetting what was given before it.
    again = argparse.ArgumentParser(add_help=False)
    again.add_argument("--state-dir", default=argparse.SUPPRESS)
    again.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    actions = dlq.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="show dead letters", parents=[again])
    redrive = actions.add_parser(
        "redrive", help="deliver dead letters again (fresh retries)", parents=[again]
    )
    redrive.add_argument("ids", metavar="ID", nargs="*", type=int)
    redrive.add_argument("--all", action="store_true")

    invoke = commands.add_parser("invoke", help="run one function on one event or request")
    invoke.add_argument("app", metavar="APP", help=APP_HELP)
    invoke.add_argument("function", metavar="FUNCTION")
    invoke.add_argument(
        "--event",
        required=True,
        help="JSON file (- for standard input), or a sample name of the provider "
        "(portable-fn events P)",
    )
    invoke.add_argument(
        "--provider",
        default=None,
        help="send the native event through this adapter (default: portable)",
    )
    invoke.add_argument("--env-file", action="append", default=[], metavar="FILE",
                        help=ENV_FILE_HELP)

    inspect = commands.add_parser("inspect", help="functions, resources, provider findings")
    inspect.add_argument("app", metavar="APP", help=APP_HELP)
    inspect.add_argument("--json", action="store_true")

    events = commands.add_parser("events", help="print a provider's sample native event")
    events.add_argument("provider", metavar="PROVIDER")
    events.add_argument("kind", metavar="KIND", nargs="?", help="omit to list the kinds")

    package = commands.add_parser("package", help="write the deployable package for a provider")
    package.add_argument("app", metavar="APP", help=APP_HELP)
    package.add_argument("--provider", required=True)
    package.add_argument("--out", default=None, help="output folder (default dist/PROVIDER)")
    for command in commands.choices.values():
        command.set_defaults(command_parser=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args, unknown = _parser().parse_known_args(argv)
    if unknown:
        # As for a missing or bad argument: the command's usage, not the top level's
        # (argparse reports what it does not know from the top-level parser).
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    from portable_fn._local import commands
    from portable_fn.errors import PortableFnError

    try:
        code = commands.COMMANDS[args.command](args)
    except BrokenPipeError:
        # The reader went away (`| head`): not bad input. As Python's docs advise
        # (https://docs.python.org/3/library/signal.html#note-on-sigpipe): the rest of the
        # output goes nowhere, and no second error at exit when stdout is flushed.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (PortableFnError, ImportError, OSError) as exc:
        print(f"portable-fn {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
