"""The standard ``logging`` module's records as portable-fn's JSON lines.

Python with no handler on the root logger drops INFO records and prints WARNING and above as
bare text on stderr through ``logging.lastResort``
(https://docs.python.org/3/howto/logging.html#what-happens-if-no-configuration-is-provided):
Cloud Run functions, Workers and the local runtime lost a handler's and its libraries' lines.
Each case runs in a fresh interpreter: the bridge is set up once a process, at its first
invocation, and pytest's own log capture puts handlers on the root logger.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.local.devserver import DevServer

APP = """
import logging, sys
import portable_fn as pf
from portable_fn.adapter import dispatch_event

app = pf.App("p")
lib = logging.getLogger("my.lib")

@app.topic("tops")
def t(event):
    lib.info("order %s placed", 7, extra={"order_id": 7, "tags": ("a",)})
    lib.warning("low stock")
    lib.debug("detail")
    lib.log(25, "between levels")
    lib.info("bad %d", "x")
    try:
        1 / 0
    except ZeroDivisionError:
        lib.exception("failed %s", "here")

def run():
    return dispatch_event(app, "t", pf.CloudEvent.create(type="a.b", source="s", id="e-1", data={}),
                          pf.Context(provider="gcp", function_name="t", invocation_id="inv-1"))
"""


def _python(code: str, env: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], str]:
    """The JSON lines a fresh interpreter running ``APP`` then ``code`` writes, and stderr."""
    environ = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("PORTABLE_FN_", "AWS_LAMBDA_", "GOOGLE_CLOUD"))
    }
    environ.update(env or {})
    done = subprocess.run(
        [sys.executable, "-c", APP + textwrap.dedent(code)],
        capture_output=True, text=True, env=environ, timeout=60, check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def _by_message(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {line["message"]: line for line in lines}


def test_records_in_an_invocation_are_its_lines() -> None:
    lines, stderr = _python("run()")
    found = _by_message(lines)
    assert stderr == ""  # no lastResort text, no "--- Logging error ---"
    assert list(found) == [
        "order 7 placed", "low stock", "between levels", "bad %d ('x',)", "failed here"
    ]  # DEBUG under the default INFO threshold
    placed = found["order 7 placed"]
    assert placed["level"] == "INFO" and placed["logger"] == "my.lib"
    assert placed["function"] == "t" and placed["invocation_id"] == "inv-1"
    assert placed["event_id"] == "e-1" and placed["trace_id"] and placed["cold_start"] is True
    assert placed["order_id"] == 7 and placed["tags"] == ["a"]  # extra={...} kept as fields
    assert found["low stock"]["severity"] == "WARNING"
    assert found["between levels"]["level"] == "INFO"  # a custom 25: INFO, as log() reads it
    failed = found["failed here"]
    assert failed["level"] == "ERROR" and failed["error_type"] == "ZeroDivisionError"
    assert failed["error"] == "division by zero" and "1 / 0" not in failed["stack"]
    assert failed["stack"].startswith("Traceback")


def test_threshold_is_portable_fns_level() -> None:
    debug = _by_message(_python("run()", {"PORTABLE_FN_LOG_LEVEL": "DEBUG"})[0])
    assert debug["detail"]["level"] == "DEBUG"
    warning = _by_message(_python("run()", {"PORTABLE_FN_LOG_LEVEL": "WARNING"})[0])
    assert list(warning) == ["low stock", "failed here"]


def test_a_level_set_later_reaches_the_bridged_records() -> None:
    """``log.set_level("DEBUG")`` after the bridge is on: the root logger's level follows, so
    a library's DEBUG records come through (they were filtered before reaching the bridge)."""
    lines, _ = _python("""
        run()
        import portable_fn.log as log
        log.set_level("DEBUG")
        logging.getLogger("later").debug("now visible")
    """)
    assert lines[-1]["message"] == "now visible" and lines[-1]["level"] == "DEBUG"


def test_outside_an_invocation_no_invocation_fields() -> None:
    lines, _ = _python("""
        run()
        logging.getLogger("later").info("after the invocation")
    """)
    after = lines[-1]
    assert after["message"] == "after the invocation" and after["logger"] == "later"
    assert "invocation_id" not in after and "function" not in after


def test_a_root_handler_already_there_is_left_alone() -> None:
    # Lambda's runtime, Azure's worker and a user's basicConfig all put one there first.
    lines, stderr = _python("""
        logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
        run()
    """)
    assert lines == []
    assert stderr.splitlines()[0] == "order 7 placed"
    assert stderr.count("low stock") == 1


def test_a_record_logged_while_writing_does_not_loop() -> None:
    lines, stderr = _python("""
        import portable_fn.log as log
        class Noisy:
            def write(self, text):
                logging.getLogger("noisy").warning("writing")
                sys.stdout.write(text)
            def flush(self):
                sys.stdout.flush()
        log.set_stream(Noisy())
        run()
    """)
    assert stderr == ""
    assert [line for line in lines if line["message"] == "writing"] == []
    assert len(lines) == 5


def test_no_logging_import_without_the_app_importing_it() -> None:
    code = """
        import sys
        import portable_fn as pf
        from portable_fn.adapter import dispatch_event
        app = pf.App("p")
        @app.topic("tops")
        def t(event):
            pf.logger.info("line")
        dispatch_event(app, "t", pf.CloudEvent.create(type="a", source="s", data={}),
                       pf.Context(provider="gcp", function_name="t", invocation_id="i"))
        print('{"message": "%s"}' % ("logging" in sys.modules))
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines()[-1] == '{"message": "False"}'


DEV_APP = """
import logging
import portable_fn as pf

app = pf.App("devlogs")

@app.http("/hello", methods=["GET"])
def hello(req):
    logging.getLogger("my.lib").info("stdlib says %s", "hi", extra={"user": "u1"})
    return {"ok": True}
"""


def test_dev_runtime_writes_records_as_the_invocations_lines(tmp_path: Path) -> None:
    """Through a real ``portable-fn dev --json``: uvicorn's own loggers keep their handlers
    (no record twice), the handler's record is a line with the invocation's fields."""
    app = tmp_path / "devlogs.py"
    app.write_text(DEV_APP)
    server = DevServer(str(app), tmp_path / "state")
    try:
        status, _, body = server.request("GET", "/hello")
        assert (status, body) == (200, {"ok": True})
        found = _wait_line(server, lambda line: "stdlib says hi" in line)
    finally:
        server.stop()
    assert len(found) == 1
    line = json.loads(found[0])
    assert line["level"] == "INFO" and line["logger"] == "my.lib" and line["user"] == "u1"
    assert line["function"] == "hello" and line["provider"] == "local"
    assert line["invocation_id"] and line["trace_id"]


def _wait_line(server: DevServer, pred: Callable[[str], bool]) -> list[str]:
    import time

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = [line for line in list(server.lines) if pred(line)]
        if found:
            time.sleep(0.3)  # a duplicate would follow at once
            return [line for line in list(server.lines) if pred(line)]
        time.sleep(0.05)
    raise AssertionError("\n".join(server.lines[-40:]))
