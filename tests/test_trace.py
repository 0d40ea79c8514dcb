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


LCALPHA = "abcdefghijklmnopqrstuvwxyz"
ALL_VALUE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in ",=")


@pytest.mark.parametrize(
    "values",
    [
        [f"{LCALPHA}0123456789_-*/={ALL_VALUE}"],
        [f"{LCALPHA}0123456789_-*/@a-z0-9_-*/={ALL_VALUE}"],
        ["foo=1 \t , \t bar=2, \t baz=3"],
        [",".join(f"k{n}=v" for n in range(32))],
        ["a" * 256 + "=1", "t" * 241 + "@" + "s" * 14 + "=1"],
    ],
)
def test_a_valid_tracestate_is_kept(values: list[str]) -> None:
    """The W3C trace-context test suite's valid tracestate headers (test/test.py): every
    allowed character, white space around members, 32 members, the longest keys."""
    members = [member.strip(" \t") for value in values for member in value.split(",")]
    assert _trace.tracestate(values) == ",".join(members)


def test_a_long_tracestate_is_truncated_as_w3c_says() -> None:
    """W3C 3.3.1.5: past what is carried (1024 characters here, at least the 512 it asks), the
    members over 128 characters go first, then members from the end. 32 members of 256 + 256
    characters were carried whole into every event a request published."""
    long = [f"k{n}={'v' * 200}" for n in range(4)]
    short = [f"s{n:02d}={'v' * 60}" for n in range(28)]  # 64 characters each
    carried = _trace.tracestate([",".join(long[:2] + short + long[2:])])
    assert carried is not None and len(carried) <= 1024
    assert carried == ",".join(short[: len(carried.split(","))])
    assert len(carried.split(",")) == 15  # 15 * 64 + 14 commas = 974; 16 would be 1039


@pytest.mark.parametrize(
    "values",
    [
        ["foo=1,foo=1"],
        ["foo=1,foo=2"],
        ["foo=1", "foo=2"],  # the same key in two headers: one list, a duplicate
        ["foo =1"],
        ["FOO=1"],
        ["foo.bar=1"],
        ["foo@=1,bar=2"],
        ["@foo=1,bar=2"],
        ["foo@@bar=1,bar=2"],
        ["foo@bar@baz=1,bar=2"],
        ["foo=bar=baz"],
        ["foo=,bar=3"],
        ["bar=2,foo"],
        [",".join(f"k{n}=v" for n in range(33))],
        ["a" * 257 + "=1"],
        ["t" * 242 + "@s=1"],
        ["t@" + "s" * 15 + "=1"],
        ["foo=" + "v" * 257],
        ["foo=v\u00e9"],
    ],
)
def test_an_invalid_tracestate_is_dropped_whole(values: list[str]) -> None:
    """The W3C trace-context test suite (test/test.py: duplicated keys, illegal key characters,
    illegal vendor format, illegal value characters, 33 members, key length limits) expects
    such a tracestate discarded, not sent on to every hop that follows; OpenTelemetry's
    propagator drops it too, so a span and the event published under it disagreed."""
    assert _trace.tracestate(values) is None


CLOUD = "105445aa7843bc8bf206b12000100000"


@pytest.mark.parametrize(
    ("header", "span", "flags"),
    [
        (f"{CLOUD}/1;o=1", "0000000000000001", "01"),
        (f"{CLOUD}/789", "0000000000000315", "00"),
        (f"{CLOUD}/789;o=", "0000000000000315", "00"),
        # The span is optional: the trace alone, with or without its options, is still the
        # trace to continue (a new span of it).
        (f"{CLOUD}/;o=1", None, "01"),
        (f"{CLOUD}/", None, "00"),
        (f"{CLOUD};o=1", None, "01"),
        (f"{CLOUD};o=", None, "00"),
        (CLOUD, None, "00"),
    ],
)
def test_cloud_trace_header_with_or_without_its_span(
    header: str, span: str | None, flags: str
) -> None:
    """X-Cloud-Trace-Context is ``TRACE_ID/SPAN_ID;o=OPTIONS``
    (https://cloud.google.com/trace/docs/trace-context#legacy-http-header); Google's own App
    Engine runtime reads every form with a part left out (its TraceContextHelper lists
    ``TRACE/;o=1``, ``TRACE/``, ``TRACE;o=1``, ``TRACE``), which started a new trace here."""
    parsed = _trace.parse(_trace.from_cloud_trace(header))
    assert parsed is not None
    assert parsed[0] == CLOUD and parsed[2] == flags
    if span is not None:
        assert parsed[1] == span


@pytest.mark.parametrize(
    "header", ["", "/1;o=1", f"{CLOUD[:-1]}/1", f"{CLOUD}/x1;o=1", f"{'0' * 32}/1", f"{CLOUD}x"]
)
def test_a_cloud_trace_header_without_a_trace_id_is_none(header: str) -> None:
    assert _trace.from_cloud_trace(header) is None
