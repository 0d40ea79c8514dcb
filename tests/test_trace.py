"""Trace context: W3C traceparent from the platforms' own headers (``_trace``)."""

from __future__ import annotations

import pytest

from portable_fn import _trace

ROOT = "Root=1-5759e988-bd862e3fe1be46a994272793"
TRACE = "5759e988bd862e3fe1be46a994272793"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"{ROOT};Parent=53995c3f42cd8ad8;Sampled=1", f"00-{TRACE}-53995c3f42cd8ad8-01"),
        (f"{ROOT};Parent=53995C3F42CD8AD8;Sampled=0", f"00-{TRACE}-53995c3f42cd8ad8-00"),
        # Lambda's header carries a Lineage field since 2024; order is not fixed.
        (
            f"Sampled=1;Parent=53995c3f42cd8ad8; {ROOT};Lineage=a87bd80c:1|68fd508a:5",
            f"00-{TRACE}-53995c3f42cd8ad8-01",
        ),
        ("Root=2-5759e988-bd862e3fe1be46a994272793", None),
        ("Root=1-5759e988-xyz", None),
        # 8 hex digits of epoch time, then 24 random: a dash elsewhere is not an X-Ray id.
        ("Root=1-5759e98-8bd862e3fe1be46a994272793", None),
        ("Root=1-5759e988bd862e3f-e1be46a994272793", None),
        ("Sampled=1", None),
        ("", None),
    ],
)
def test_xray_header_as_traceparent(header: str, expected: str | None) -> None:
    """https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader"""
    assert _trace.from_xray(header) == expected
    assert _trace.from_xray(header) == expected  # and again, from the last-header cache


def test_xray_header_without_parent_gets_one_span_per_header() -> None:
    first = _trace.from_xray(f"{ROOT};Sampled=1")
    assert first is not None and first.startswith(f"00-{TRACE}-") and first.endswith("-01")
    assert _trace.from_xray(f"{ROOT};Sampled=1") == first  # the same invocation's header
    other = _trace.from_xray("Root=1-00000000-000000000000000000000001;Sampled=1")
    assert other is not None and other.startswith("00-00000000000000000000000000000001-")


W3C = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    "header",
    [
        W3C.upper(),  # HEXDIGLC: upper-case hex is not a traceparent (W3C 3.2.2)
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
        "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
    ],
)
def test_invalid_traceparents_are_ignored(header: str) -> None:
    """https://www.w3.org/TR/trace-context/#traceparent-header-field-values"""
    assert _trace.parse(header) is None and _trace.normalized(header) is None


def test_a_higher_version_is_read_by_its_first_four_fields() -> None:
    future = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds"
    assert _trace.normalized(future) == W3C
    assert _trace.normalized(f" {W3C} ") == W3C  # optional white space around a header value


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["congo=t61rcWkgMzE"], "congo=t61rcWkgMzE"),
        # Several tracestate headers are one list, in order (W3C 3.3.1.1).
        (["congo=t61rcWkgMzE", "rojo=00f067aa0ba902b7"], "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
        ([" rojo=1 , ,congo=2 "], "rojo=1,congo=2"),
        (["", " "], None),
        ([], None),
    ],
)
def test_tracestate_is_carried_as_one_list(values: list[str], expected: str | None) -> None:
    """https://www.w3.org/TR/trace-context/#tracestate-header"""
    assert _trace.tracestate(values) == expected
