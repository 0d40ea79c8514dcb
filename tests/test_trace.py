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
