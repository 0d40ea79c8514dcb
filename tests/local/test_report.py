"""The console reporter and the readable rendering of handler logs."""

from __future__ import annotations

import io
import json

from portable_fn._local.logs import ReadableLogs
from portable_fn._local.report import Reporter


def test_json_lines_are_one_object_per_record_and_http_lines_are_buffered() -> None:
    out = io.StringIO()
    reporter = Reporter(json_lines=True, stream=out)
    reporter.record("http", method="GET", path="/x", status=200, function="f", duration_ms=1)
    assert out.getvalue() == ""  # buffered until a flush or another record
    reporter.record("invocation", function="f", outcome="ok", kind="queue")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert (first["event"], first["status"]) == ("http", 200)
    assert (second["event"], second["kind"], second["outcome"]) == ("invocation", "queue", "ok")
    reporter.record("http", method="GET", path="/y", status=404, function=None, duration_ms=1)
    reporter.flush()
    assert json.loads(out.getvalue().splitlines()[-1])["path"] == "/y"


def test_readable_lines_retry_delay_and_loud_dead_letter() -> None:
    out = io.StringIO()
    reporter = Reporter(json_lines=False, stream=out)
    common = {
        "function": "fulfil",
        "trigger": "queue:fulfilment",
        "id": "e1",
        "type": "t",
        "max_attempts": 4,
        "duration_ms": 1.5,
    }
    reporter.record("start", **common, attempt=1)  # people read outcomes, not starts
    reporter.record(
        "invocation",
        **common,
        attempt=1,
        outcome="retry",
        error="ValueError: x",
        delay_s=0.7,
        backoff_s=1.0,
    )
    reporter.record(
        "invocation",
        **common,
        attempt=4,
        outcome="dead",
        error="ValueError: x",
        dlq="fulfilment-dlq",
        delivery=6,
    )
    text = out.getvalue()
    assert "start" not in text
    assert (
        "RETRY fulfil [queue:fulfilment]" in text and "retry in 0.7 s (backoff cap 1.0 s)" in text
    )
    assert "DEAD-LETTERED to 'fulfilment-dlq'" in text and "attempt=4/4" in text


def test_a_dead_letter_names_the_dlq_command_for_the_app_dev_runs() -> None:
    """The hint is a command to paste: the APP and --state-dir ``dev`` was started with (quoted
    for the shell), not a literal ``APP``, and the delivery to re-drive."""
    out = io.StringIO()
    reporter = Reporter(json_lines=False, stream=out, app="my app/app.py", state_dir="st")
    reporter.record("invocation", function="f", trigger="queue:q", id="e1", type="t",
                    attempt=3, max_attempts=3, duration_ms=1, outcome="dead", error="E",
                    dlq="q-dlq", delivery=7)
    text = out.getvalue()
    assert "see `portable-fn dlq 'my app/app.py' --state-dir st list`" in text, text
    assert "re-drive with `portable-fn dlq 'my app/app.py' --state-dir st redrive 7`" in text
    plain = io.StringIO()
    Reporter(json_lines=False, stream=plain, app="shop/app.py", state_dir=".portable-fn").record(
        "invocation", function="f", outcome="dead", dlq="q-dlq", delivery=2)
    assert "`portable-fn dlq shop/app.py list`" in plain.getvalue()


def test_a_held_key_reads_as_a_wait_not_an_attempt() -> None:
    out = io.StringIO()
    reporter = Reporter(json_lines=False, stream=out)
    reporter.record(
        "invocation",
        function="once",
        trigger="event:test.once",
        id="e1",
        type="t",
        attempt=2,
        max_attempts=9,
        duration_ms=0.4,
        outcome="retry",
        error="IdempotencyConflict: event e1 from /s is being processed",
        delay_s=0.2,
        due=1.0,
        counted=False,
    )
    text = out.getvalue()
    assert "look again in 0.2 s (not counted as an attempt)" in text
    assert "backoff cap" not in text


def test_handler_log_lines_become_readable() -> None:
    out = io.StringIO()
    sink = ReadableLogs(Reporter(json_lines=False, stream=out))
    line = json.dumps(
        {
            "level": "INFO",
            "message": "order fulfilled",
            "function": "fulfil",
            "invocation_id": "x-1",
            "event_id": "e1",
            "order_id": "o-7",
        }
    )
    sink.write(line[:10])  # a line may arrive in pieces
    assert out.getvalue() == ""
    sink.write(line[10:] + "\n")
    sink.write(
        json.dumps(
            {
                "level": "ERROR",
                "message": "failed",
                "function": "fulfil",
                "stack": "Traceback (most recent call last):\nValueError: x\n",
            }
        )
        + "\n"
    )
    sink.write("plain text from print\n")
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("INFO  fulfil: order fulfilled  order_id=o-7")
    assert lines[1].endswith("ERROR fulfil: failed")
    assert lines[2:4] == ["    Traceback (most recent call last):", "    ValueError: x"]
    assert lines[4].endswith("plain text from print")


def test_a_request_path_cannot_write_terminal_escapes_or_forge_lines() -> None:
    # uvicorn percent-decodes the path: GET /%1b]52;c;...%07 or /x%0aOK... from any client (a
    # web page's no-cors fetch to 127.0.0.1 included) reached the developer's terminal raw.
    out = io.StringIO()
    reporter = Reporter(json_lines=False, stream=out)
    path = "/x\x1b]0;pwned\x07\r\n12:00:00.000  OK    forged [queue:q]\x9b2J"
    reporter.record("http", method="GET", path=path, status=404, function=None, duration_ms=1)
    reporter.record("log", level="INFO", function="f", message="a\x1b[2Jb")
    text = out.getvalue()
    assert not any(c in text for c in "\x1b\x07\r\x9b"), repr(text)
    assert len(text.rstrip("\n").splitlines()) == 2, repr(text)
    assert "/x\\x1b]0;pwned" in text and "a\\x1b[2Jb" in text


def test_the_serving_banner_shows_what_each_function_declares() -> None:
    """``dev``'s first lines list the functions as ``inspect`` does, with their timeout and
    memory when they declare them (the shop's nightly report)."""
    from examples.shop.app import app
    from portable_fn._local.inspect import describe

    out = io.StringIO()
    Reporter(json_lines=False, stream=out).record(
        "serving", app="shop", url="http://127.0.0.1:8080", state_dir=".s",
        functions=describe(app),
    )
    lines = {line.split()[0]: line for line in out.getvalue().splitlines()[1:]}
    assert lines["nightly_report"].endswith("rate(1 day) (timeout 120 s, memory 512 MB)")
    assert lines["fulfil"].endswith("fulfilment-dlq)")


def test_the_serving_banner_says_when_timeout_0_lifts_the_declared_timeouts() -> None:
    from examples.shop.app import app
    from portable_fn._local.inspect import describe

    out = io.StringIO()
    Reporter(json_lines=False, stream=out).record(
        "serving", app="shop", url="http://127.0.0.1:8080", state_dir=".s",
        functions=describe(app, timeouts=False), timeouts_off=True,
    )
    text = out.getvalue()
    assert "timeout 120 s" not in text and "(memory 512 MB)" in text
    assert "timeouts: off (--timeout 0)" in text
