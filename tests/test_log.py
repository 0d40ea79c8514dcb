"""Log lines: one JSON object per line, written from a template with the bound fields encoded
once per logger. Every line must be exactly what encoding the whole record gives: the same
members, in the same order, each key once."""

from __future__ import annotations

import builtins
import io
import json
import sys
from typing import Any

import pytest

from portable_fn import log
from portable_fn.log import Logger

BOUND = {"function": "work", "provider": "aws", "cold_start": False, "attempt": 2, "x": None}


@pytest.fixture(autouse=True)
def _level(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.delenv("PORTABLE_FN_LOG_LEVEL", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_LOG_LEVEL", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    log.set_level(None)
    yield
    log.set_level(None)


def members(line: str) -> list[tuple[str, Any]]:
    """The line's members in order, duplicates kept (a dict would hide them)."""
    assert line.endswith("\n") and line.count("\n") == 1 and line.isascii()
    pairs: list[tuple[str, Any]] = json.loads(line, object_pairs_hook=list)
    return pairs


def written(logger_fields: dict[str, Any], call: Any) -> list[tuple[str, Any]]:
    stream = io.StringIO()
    call(Logger(logger_fields, stream))
    return members(stream.getvalue())


def without_timestamp(pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(key, value) for key, value in pairs if key != "timestamp"]


def test_a_line_is_the_record_in_order() -> None:
    pairs = written(BOUND, lambda logger: logger.info("paid", order="o-1", total=12.5))
    assert [key for key, _ in pairs][:4] == ["level", "severity", "message", "timestamp"]
    assert without_timestamp(pairs) == [
        ("level", "INFO"),
        ("severity", "INFO"),
        ("message", "paid"),
        *BOUND.items(),
        ("order", "o-1"),
        ("total", 12.5),
    ]


def test_the_bound_fields_are_encoded_once_and_reused() -> None:
    stream = io.StringIO()
    logger = Logger(BOUND, stream)
    logger.info("one")
    logger.warning("two", n=2)
    first, second = (members(line + "\n") for line in stream.getvalue().splitlines())
    assert without_timestamp(first)[3:] == list(BOUND.items())
    assert without_timestamp(second)[3:] == [*BOUND.items(), ("n", 2)]
    assert dict(second)["level"] == "WARNING"


@pytest.mark.parametrize("in_lambda", [True, False])
def test_in_lambda_level_names_are_the_ones_its_filter_knows(
    monkeypatch: pytest.MonkeyPatch, in_lambda: bool
) -> None:
    """Lambda's log-level filter knows TRACE, DEBUG, INFO, WARN, ERROR and FATAL and reads any
    other "level" as INFO, which its WARN setting drops
    (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html);
    Cloud Logging's ``severity`` keeps its own names."""
    if in_lambda:
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "work")
    log.set_level(None)
    stream = io.StringIO()
    logger = Logger(BOUND, stream)
    logger.warning("w")
    logger.log("CRITICAL", "c")
    logger.warning("w", level_field="in a record")  # a line built as a record too
    Logger({}, stream).exception("e", exc=ValueError("v"))
    Logger({}, stream).log("FATAL", "f", severity="mine")
    lines = [dict(members(line + "\n")) for line in stream.getvalue().splitlines()]
    expected = ["WARN", "FATAL", "WARN", "ERROR", "FATAL"] if in_lambda else [
        "WARNING", "CRITICAL", "WARNING", "ERROR", "CRITICAL"]
    assert [line["level"] for line in lines] == expected
    assert [line["severity"] for line in lines[:4]] == ["WARNING", "CRITICAL", "WARNING", "ERROR"]


@pytest.mark.parametrize(
    ("lambda_level", "given", "level"),
    [("WARN", "INFO", "WARN"), ("ERROR", "INFO", "ERROR"), ("FATAL", "WARNING", "FATAL"),
     ("WARN", "ERROR", "ERROR"), ("DEBUG", "INFO", "INFO"), (None, "INFO", "INFO")],
)
def test_in_lambda_an_emitted_line_is_at_a_level_its_filter_keeps(
    monkeypatch: pytest.MonkeyPatch, lambda_level: str | None, given: str, level: str
) -> None:
    """Lambda drops a stdout JSON line whose "level" is below the function's application log
    level (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html):
    a metrics line (CloudWatch EMF) at INFO vanished, and its metrics with it, once the level was
    WARN. ``emit`` writes data, not diagnostics: in Lambda, at least at the level kept there."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "work")
    if lambda_level is not None:
        monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", lambda_level)
    monkeypatch.setenv("PORTABLE_FN_LOG_LEVEL", "INFO")  # ours apart from Lambda's
    log.set_level(None)
    line = dict(written(BOUND, lambda logger: logger.emit(given, "portable-fn metrics", n=1)))
    assert (line["level"], line["n"]) == (level, 1)
    # Diagnostics keep their own level (Lambda's filter drops them, as it should).
    assert dict(written(BOUND, lambda logger: logger.info("m")))["level"] == "INFO"


@pytest.mark.parametrize("lambda_level", ["WARN", "ERROR"])
def test_outside_lambda_an_emitted_line_keeps_its_level(
    monkeypatch: pytest.MonkeyPatch, lambda_level: str
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", lambda_level)
    log.set_level(None)
    assert dict(written(BOUND, lambda logger: logger.emit("INFO", "m")))["level"] == "INFO"


def test_a_call_field_named_like_a_bound_one_replaces_it_in_place() -> None:
    pairs = written(BOUND, lambda logger: logger.info("m", attempt=3, extra=True))
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys))
    assert without_timestamp(pairs)[3:] == [
        ("function", "work"),
        ("provider", "aws"),
        ("cold_start", False),
        ("attempt", 3),
        ("x", None),
        ("extra", True),
    ]


def test_bound_fields_named_like_the_line_s_own_members_override_them() -> None:
    pairs = written({"message": "bound", "a": 1}, lambda logger: logger.error("called"))
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)) and dict(pairs)["message"] == "bound"


def test_non_ascii_and_non_string_values_are_escaped_or_stringified() -> None:
    class Money:
        def __str__(self) -> str:
            return "12 €"

    pairs = written({"city": "Zürich"}, lambda logger: logger.info("naïve \"quote\"", m=Money()))
    assert dict(pairs)["message"] == 'naïve "quote"'
    assert dict(pairs)["city"] == "Zürich" and dict(pairs)["m"] == "12 €"


def test_cloud_logging_trace_field_from_the_bound_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "p-1")
    log.set_level(None)  # read the project again
    pairs = written({"trace_id": "ab" * 16}, lambda logger: logger.info("m"))
    assert dict(pairs)["logging.googleapis.com/trace"] == f"projects/p-1/traces/{'ab' * 16}"
    assert len(pairs) == len(dict(pairs))


def test_lines_below_the_level_are_not_written() -> None:
    log.set_level("ERROR")
    stream = io.StringIO()
    logger = Logger(BOUND, stream)
    logger.warning("quiet")
    assert stream.getvalue() == ""
    logger.exception("loud", exc=ValueError("x"))
    assert dict(members(stream.getvalue()))["message"] == "loud"


def raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_an_exception_line_from_the_template_and_from_the_record_agree() -> None:
    error = raised(KeyError("sku"))
    alone = dict(written(BOUND, lambda logger: logger.exception("failed", exc=error)))
    with_fields = dict(
        written(BOUND, lambda logger: logger.exception("failed", exc=error, order="o-1"))
    )
    assert with_fields.pop("order") == "o-1"
    alone.pop("timestamp"), with_fields.pop("timestamp")
    assert alone == with_fields
    assert (alone["error_type"], alone["error"]) == ("KeyError", "'sku'")
    assert alone["stack"].startswith("Traceback (most recent call last):\n")
    assert alone["stack"].endswith("KeyError: 'sku'\n") and "in raised" in alone["stack"]


def test_an_exception_whose_str_fails_still_gets_its_line() -> None:
    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    error = raised(Broken())
    line = dict(written({}, lambda logger: logger.exception("failed", exc=error)))
    assert line["error_type"] == "Broken"
    assert line["error"] == "<Broken: str() failed>"
    assert line["stack"].endswith("Broken: <Broken: str() failed>\n")


def test_exception_without_an_exception_is_a_plain_error_line() -> None:
    line = dict(written({}, lambda logger: logger.exception("no exception here")))
    assert line["level"] == "ERROR" and "stack" not in line


@pytest.mark.parametrize("name", ["level", "severity", "message", "timestamp"])
def test_a_call_field_named_like_the_line_s_own_member_replaces_it(name: str) -> None:
    """Each key once: JSON readers disagree on which of two same-named members they keep."""
    pairs = written(BOUND, lambda logger: logger.info("m", **{name: "given"}))
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)) and dict(pairs)[name] == "given"


def test_values_json_cannot_hold_still_get_their_line() -> None:
    """A log call never raises for what it is given: a dict with non-string keys, a value that
    contains itself, bytes."""
    loop: list[Any] = []
    loop.append(loop)
    stream = io.StringIO()
    logger = Logger({"tags": {("a", 1): "x"}}, stream)
    logger.info("bound")
    logger.info("call", counts={(1, 2): 3}, loop=loop, raw=b"\xff\x00")
    logger.info({1: object(), (2,): 3})  # type: ignore[arg-type]
    bound, call, message = (dict(members(line + "\n")) for line in stream.getvalue().splitlines())
    assert bound["message"] == "bound" and "('a', 1)" in bound["tags"]
    assert "(1, 2)" in call["counts"] and isinstance(call["loop"], str)
    assert call["raw"] == "b'\\xff\\x00'"
    assert "(2,)" in message["message"]


def test_nan_and_infinity_are_written_as_text_so_the_line_stays_json() -> None:
    """``{"v":NaN}`` is not JSON: Cloud Logging and CloudWatch would keep the whole line as
    plain text, its severity and trace lost."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} in a log line")

    stream = io.StringIO()
    logger = Logger({"ratio": float("inf")}, stream)
    logger.info("bound")
    logger.info("call", score=float("nan"), low=-float("inf"), fine=1.5)
    logger.emit("INFO", "emitted", rows=[float("nan")])
    bound, call, emitted = (
        json.loads(line, parse_constant=refuse) for line in stream.getvalue().splitlines()
    )
    assert bound["ratio"] == "inf"
    assert (call["score"], call["low"], call["fine"]) == ("nan", "-inf", 1.5)
    assert emitted["rows"] == "[nan]"


def test_a_stream_that_cannot_be_written_loses_the_line_not_the_invocation() -> None:
    """A reader gone from a pipe (BrokenPipeError) or a closed stream (ValueError): the line is
    lost, the handler that logged it still runs to its end."""
    import portable_fn as pf
    from portable_fn.adapter import Context, dispatch_event
    from portable_fn.events import CloudEvent

    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    closed = io.StringIO()
    closed.close()
    app = pf.App("pipes")
    done: list[str] = []

    @app.queue("jobs")
    def job(event: pf.CloudEvent, ctx: pf.Context) -> None:
        ctx.logger.info("working")
        done.append(event.id)

    for stream in (Broken(), closed):
        Logger({"f": 1}, stream).info("lost")
        Logger({}, stream).exception("lost", exc=ValueError("x"))
        done.clear()
        log.set_stream(stream)
        try:
            event = CloudEvent.create(type="t", source="/s", data={})
            ctx = Context(provider="test", function_name="job", invocation_id="i")
            assert dispatch_event(app, "job", event, ctx).ok
        finally:
            log.set_stream(None)
        assert done == [event.id]


def test_any_failure_of_the_stream_loses_the_line_not_the_invocation() -> None:
    """``sys.stdout`` is None when the process started without one (a daemon, ``pythonw``), and
    a stream the runtime or a user put there may raise anything: a log call never raises."""
    class Failing(io.StringIO):
        def write(self, text: str) -> int:
            raise RuntimeError("the collector is gone")

    Logger({"f": 1}, Failing()).info("lost")
    Logger({}, Failing()).exception("lost", exc=ValueError("x"))
    saved = sys.stdout
    sys.stdout = None  # type: ignore[assignment]
    try:
        Logger({"f": 1}).info("lost")
        log.logger.warning("lost")
    finally:
        sys.stdout = saved


@pytest.mark.parametrize(
    ("given", "level"),
    [
        ("warn", "WARNING"),
        ("Warning", "WARNING"),
        ("FATAL", "CRITICAL"),
        ("critical", "CRITICAL"),
        ("trace", "DEBUG"),
        (30, "WARNING"),  # stdlib logging's numbers (logging.WARNING), as logging.log takes them
        (45, "ERROR"),
        ("verbose", "INFO"),  # no level: written, as Lambda reads a line whose level it lacks
    ],
)
def test_log_takes_any_spelling_of_a_level_and_never_raises(given: Any, level: str) -> None:
    """``logger.log(level, ...)`` with Lambda's names (WARN, FATAL), another case, or stdlib's
    numbers raised KeyError into the handler that logged."""
    log.set_level("DEBUG")
    assert dict(written(BOUND, lambda logger: logger.log(given, "m")))["level"] == level
    assert dict(written(BOUND, lambda logger: logger.emit(given, "m")))["severity"] == level


def test_critical_is_a_level_method_as_the_others() -> None:
    """CRITICAL is a level (``PORTABLE_FN_LOG_LEVEL=CRITICAL``, Lambda's FATAL, Cloud Logging's
    CRITICAL severity), and ``logger.critical`` the call a stdlib or Powertools user writes."""
    line = dict(written(BOUND, lambda logger: logger.critical("down", region="eu")))
    assert (line["level"], line["severity"], line["region"]) == ("CRITICAL", "CRITICAL", "eu")


@pytest.mark.parametrize(
    ("lambda_level", "own_level", "debug_written", "info_written"),
    [
        ("DEBUG", None, True, True),
        ("TRACE", None, True, True),
        ("WARN", None, False, False),
        ("ERROR", "DEBUG", True, True),  # PORTABLE_FN_LOG_LEVEL, when set, decides
        ("", None, False, True),
    ],
)
def test_lambda_s_application_log_level_is_the_default_level(
    monkeypatch: pytest.MonkeyPatch,
    lambda_level: str,
    own_level: str | None,
    debug_written: bool,
    info_written: bool,
) -> None:
    """Lambda's advanced logging controls set ``AWS_LAMBDA_LOG_LEVEL`` (TRACE, DEBUG, INFO, WARN,
    ERROR, FATAL) and drop application lines below it
    (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html):
    a function configured at DEBUG there wrote no debug line, and one at WARN wrote INFO lines
    for Lambda to throw away."""
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", lambda_level)
    if own_level is not None:
        monkeypatch.setenv("PORTABLE_FN_LOG_LEVEL", own_level)
    log.set_level(None)
    stream = io.StringIO()
    Logger({}, stream).debug("debug")
    Logger({}, stream).info("info")
    messages = [json.loads(line)["message"] for line in stream.getvalue().splitlines()]
    assert ("debug" in messages, "info" in messages) == (debug_written, info_written)


def test_each_exception_of_a_group_is_in_the_stack() -> None:
    """``ExceptionGroup`` (asyncio.TaskGroup's failure): its message alone says "3 sub-exceptions";
    the stack shows each, nested groups too, as Python prints them."""
    group_type: Any = getattr(builtins, "ExceptionGroup", None)
    if group_type is None:
        pytest.skip("ExceptionGroup is Python 3.11+")

    def fail_inner() -> None:
        raise group_type("inner", [KeyError("sku")])

    errors = [raised(ValueError("price")), raised(TypeError("qty"))]
    errors[0].add_note("order o-1")  # add_note: printed after its exception, as Python does
    try:
        fail_inner()
    except Exception as inner:
        errors.append(inner)
    error = raised(group_type("order failed", errors))
    stack = dict(written({}, lambda logger: logger.exception("failed", exc=error)))["stack"]
    assert "ExceptionGroup: order failed (3 sub-exceptions)" in stack
    for text in ("ValueError: price\n| order o-1\n", "TypeError: qty", "KeyError: 'sku'",
                 "ExceptionGroup: inner (1 sub-exception)", "in fail_inner"):
        assert text in stack
    assert stack.index("order failed") < stack.index("ValueError: price")


def test_an_exception_handled_is_not_said_to_cause_the_next() -> None:
    """Python's own words: ``raise ... from`` is a cause, an error while handling another is not."""

    def handling(suppress: bool) -> BaseException:
        try:
            raise KeyError("k")
        except KeyError as exc:
            return raised(ValueError("while handling")) if not suppress else exc

    implicit = handling(False)
    suppressed = raised(ValueError("alone"))
    suppressed.__context__, suppressed.__suppress_context__ = handling(True), True
    during = dict(written({}, lambda logger: logger.exception("x", exc=implicit)))["stack"]
    alone = dict(written({}, lambda logger: logger.exception("x", exc=suppressed)))["stack"]
    assert "During handling of the above exception, another exception occurred" in during
    assert during.index("KeyError: 'k'") < during.index("ValueError: while handling")
    assert "KeyError" not in alone


def test_a_recursion_s_repeated_frames_are_counted_not_repeated() -> None:
    """A RecursionError's thousand identical frames, collapsed after three as Python prints
    them: the line stays far below the providers' log entry limits (256 KB)."""

    def deep(n: int) -> int:
        return deep(n + 1)

    try:
        deep(0)
    except RecursionError as exc:
        error: BaseException = exc
    stack = dict(written({}, lambda logger: logger.exception("failed", exc=error)))["stack"]
    assert stack.count("in deep\n") == 3
    assert "  [Previous line repeated " in stack and " more times]\n" in stack
    assert stack.splitlines()[-1].startswith("RecursionError: maximum recursion depth exceeded")
    assert len(stack) < 2000


def test_on_gcp_an_error_line_has_the_stack_where_error_reporting_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cloud Error Reporting groups errors from log entries by a ``stack_trace`` member holding
    the language's traceback text; with no trace bound (an adapter's own logger) as with one."""

    def failing(logger: Logger) -> None:
        try:
            raise ValueError("bad order")
        except ValueError as exc:
            logger.exception("failed", exc=exc)

    plain = dict(written({"provider": "gcp"}, failing))
    assert "stack_trace" not in plain  # elsewhere the line is as everywhere
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "p-1")
    log.set_level(None)  # read the project again
    for bound in ({"provider": "gcp"}, {"trace_id": "ab" * 16}):
        pairs = written(bound, failing)
        line = dict(pairs)
        assert line["stack_trace"] == line["stack"] == plain["stack"]
        assert line["stack_trace"].startswith("Traceback (most recent call last):\n")
        assert line["stack_trace"].endswith("ValueError: bad order\n")
        assert len(pairs) == len(line)
    assert "stack_trace" not in dict(written({"provider": "gcp"}, lambda logger: logger.info("m")))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Lambda's own names for its levels (AWS_LAMBDA_LOG_LEVEL: TRACE ... WARN, FATAL), which
        # stdlib `logging` takes too: they are not a typo to be read as INFO.
        ("WARN", "WARNING"),
        ("warn", "WARNING"),
        ("FATAL", "CRITICAL"),
        ("TRACE", "DEBUG"),
        # A value written with a space or line break around it (a YAML template, an .env file).
        (" debug ", "DEBUG"),
        ("ERROR\n", "ERROR"),
        ("error", "ERROR"),
        ("verbose", "INFO"),  # not a level at all: the default
        ("", "INFO"),
    ],
)
def test_the_level_from_the_environment_takes_every_spelling_of_a_level(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv("PORTABLE_FN_LOG_LEVEL", value)
    log.set_level(None)
    assert log.threshold() == log.LEVELS[expected]
    stream = io.StringIO()
    Logger({}, stream).info("written at INFO and below")
    assert bool(stream.getvalue()) is (log.LEVELS[expected] <= log.LEVELS["INFO"])


def test_set_level_takes_the_same_spellings() -> None:
    log.set_level("warn")
    assert log.threshold() == log.LEVELS["WARNING"]
    with pytest.raises(KeyError):
        log.set_level("verbose")


def test_an_exception_raised_again_from_its_own_group_is_shown_once() -> None:
    """``except* E as group: raise group.exceptions[0]`` (unwrapping a TaskGroup's failure)
    makes the exception's context the group that holds it: Python prints the group once, the
    member without its context again; following the context inside the group printed the group
    again in every member, ten levels deep."""
    group_type: Any = getattr(builtins, "ExceptionGroup", None)
    if group_type is None:
        pytest.skip("ExceptionGroup is Python 3.11+")
    first = raised(ValueError("first"))
    siblings = [raised(KeyError(f"k{n}")) for n in range(5)]
    try:
        try:
            raise group_type("task group failed", [first, *siblings])
        except Exception:
            raise first  # noqa: B904 - the context is the point
    except ValueError as exc:
        error: BaseException = exc
    assert error.__context__ is not None and first in error.__context__.exceptions
    stack = dict(written({}, lambda logger: logger.exception("failed", exc=error)))["stack"]
    assert stack.count("ExceptionGroup: task group failed (6 sub-exceptions)") == 1
    assert stack.count("KeyError: 'k4'") == 1
    assert stack.count("ValueError: first") == 2  # in the group, and raised again after it
    assert stack.count("During handling of the above exception") == 1
    assert stack.endswith("ValueError: first\n")


# Cloud Logging keeps a LogEntry of at most 256 KB (https://cloud.google.com/logging/quotas),
# CloudWatch Logs an event of at most 256 KB, EMF documents included
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html),
# and Workers Logs 256 KB of log events per invocation
# (https://developers.cloudflare.com/changelog/2025-04-07-increase-trace-events-limit).
PLATFORM_LIMIT = 256 * 1000


@pytest.mark.parametrize("project", ["", "p-1"])
def test_a_line_too_long_for_the_platforms_is_cut_and_stays_one_json_object(
    monkeypatch: pytest.MonkeyPatch, project: str
) -> None:
    """A handler logging a whole payload (a 300 KB message, a field as long, an exception whose
    text is the payload) got a line past those limits: cut or refused there, it lost its JSON
    (level, severity, trace) or the whole entry, and on Workers the rest of the invocation's
    lines. Each long value is cut instead; the line's own members are kept whole."""
    if project:
        monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", project)
    log.set_level(None)
    payload = "x" * 300_000
    stream = io.StringIO()
    logger = Logger({"function": "f", "trace_id": "ab" * 16, "big_bound": "é" * 100_000}, stream)
    logger.info(payload, order={"items": ["y" * 1000] * 300}, sku="s-1")
    try:
        raise ValueError(payload)
    except ValueError as exc:
        logger.exception("failed", exc=exc)
    logger.warning("short", sku="s-2")
    first, error, short = stream.getvalue().splitlines(keepends=True)
    for line in (first, error):
        assert len(line) <= 64 * 1024 < PLATFORM_LIMIT
        record = dict(members(line))
        assert record["function"] == "f" and record["trace_id"] == "ab" * 16
        if project:
            assert record["logging.googleapis.com/trace"] == f"projects/p-1/traces/{'ab' * 16}"
    record = dict(members(first))
    assert (record["level"], record["severity"]) == ("INFO", "INFO")
    assert record["message"].startswith("xxx") and "truncated" in record["message"]
    assert record["sku"] == "s-1"
    assert record["timestamp"].endswith("Z")
    record = dict(members(error))
    assert (record["level"], record["error_type"]) == ("ERROR", "ValueError")
    assert record["message"] == "failed"
    assert record["stack"].startswith("Traceback (most recent call last):\n")
    assert dict(members(short))["message"] == "short"  # the lines after are as ever


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda logger: logger.info("order %s of %d", "o-1", 3), "order o-1 of 3"),
        (lambda logger: logger.log("WARN", "order %(id)s", {"id": "o-1"}), "order o-1"),
        (lambda logger: logger.error("%d%%", 50), "50%"),
        # Arguments that do not fit the message: stdlib prints "--- Logging error ---" and
        # loses the line; the line is kept with the arguments after the message.
        (lambda logger: logger.warning("order %d", "o-1"), "order %d ('o-1',)"),
        (lambda logger: logger.info("no placeholder", "o-1"), "no placeholder ('o-1',)"),
    ],
)
def test_stdlib_style_arguments_are_formatted_into_the_message(call: Any, message: str) -> None:
    """``logger.info("order %s", order_id)``: the call a stdlib or Powertools Logger user writes
    (https://docs.python.org/3/library/logging.html#logging.Logger.debug) raised TypeError into
    the handler that logged, failing its message (or, in an ``except`` block, hiding the error
    being reported). A log call never raises."""
    assert dict(written(BOUND, call))["message"] == message


def test_exception_takes_stdlib_style_arguments_too() -> None:
    def failing(logger: Logger) -> None:
        try:
            raise ValueError("bad order")
        except ValueError:
            logger.exception("failed %s", "o-1")

    line = dict(written(BOUND, failing))
    assert (line["message"], line["error_type"], line["error"]) == (
        "failed o-1", "ValueError", "bad order")
    assert line["stack"].endswith("ValueError: bad order\n")


@pytest.mark.parametrize("exc_info", [True, "error", "tuple"])
def test_exc_info_logs_the_exception_as_exception_does(exc_info: Any) -> None:
    """``logger.error("failed", exc_info=True)`` (stdlib and Powertools Logger: the exception's
    traceback on the line) wrote ``"exc_info": true`` and lost the exception it was meant to
    show."""

    def failing(logger: Logger) -> None:
        try:
            raise ValueError("bad order")
        except ValueError as exc:
            given = {"error": exc, "tuple": sys.exc_info()}.get(exc_info, exc_info)
            logger.error("failed", exc_info=given, order="o-1")

    line = dict(written(BOUND, failing))
    assert "exc_info" not in line
    assert (line["level"], line["message"], line["order"]) == ("ERROR", "failed", "o-1")
    assert (line["error_type"], line["error"]) == ("ValueError", "bad order")
    assert line["stack"].endswith("ValueError: bad order\n")
    # Without an exception to show (exc_info=False, or outside an except block): the line only.
    line = dict(written(BOUND, lambda logger: logger.warning("m", exc_info=True)))
    assert "exc_info" not in line and "stack" not in line and line["message"] == "m"


def test_an_exception_given_in_the_place_of_exc_is_the_error() -> None:
    """``exception("failed", err)``: ``exc`` was the second positional parameter before
    ``exception`` took format arguments, so such a call keeps its meaning."""
    stream = io.StringIO()
    try:
        raise KeyError("k")
    except KeyError as err:
        caught = err
    Logger({}, stream=stream).exception("failed", caught)
    line = json.loads(stream.getvalue())
    assert (line["message"], line["error_type"]) == ("failed", "KeyError")


def test_exception_logs_the_exception_its_exc_info_names() -> None:
    """``exception("failed", exc_info=err)`` outside an ``except`` block: stdlib logs ``err``;
    the keyword was dropped and the line had no error members."""
    stream = io.StringIO()
    err = ValueError("v")
    Logger({}, stream=stream).exception("failed", exc_info=err)
    Logger({}, stream=stream).exception("failed", exc_info=(ValueError, err, None))
    for text in stream.getvalue().splitlines():
        line = json.loads(text)
        assert (line["error_type"], line["error"]) == ("ValueError", "v")
