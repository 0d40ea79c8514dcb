"""Log lines: one JSON object per line, written from a template with the bound fields encoded
once per logger. Every line must be exactly what encoding the whole record gives: the same
members, in the same order, each key once."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from portable_fn import log
from portable_fn.log import Logger

BOUND = {"function": "work", "provider": "aws", "cold_start": False, "attempt": 2, "x": None}


@pytest.fixture(autouse=True)
def _level(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.delenv("PORTABLE_FN_LOG_LEVEL", raising=False)
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
