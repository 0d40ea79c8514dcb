# SPDX-License-Identifier: Apache-2.0
"""The trace of an event delivery: Cloud Run's request trace headers reach ``ctx`` (``tracing``),
so an event function's log lines join the delivery's trace in Cloud Logging, as HTTP ones do."""

from __future__ import annotations

import portable_fn as pf
import pytest
from portable_fn.events import CloudEvent

from portable_fn_gcp.harness import _client, published_envelope

TRACE_ID = "7c8f7a1d2e3b4c5d6e7f8091a2b3c4d5"


def _deliver(extra: dict[str, str], event: CloudEvent) -> list[str | None]:
    app = pf.App("trace")
    seen: list[str | None] = []

    @app.topic("traced")
    def listen(event: pf.CloudEvent, ctx: pf.Context) -> None:
        seen.append(ctx.trace_id)

    headers, body = published_envelope(event, "traced")
    response = _client(app, "listen").post("/", headers={**headers, **extra}, data=body)
    assert response.status_code == 200
    return seen


@pytest.mark.parametrize(
    "headers",
    [
        # W3C header Cloud Run adds to every incoming request: https://cloud.google.com/run/docs/trace
        {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"},
        # Google's legacy header, TRACE_ID/SPAN_ID;o=OPTIONS with a decimal span id:
        # https://cloud.google.com/trace/docs/trace-context#legacy-http-header
        {"X-Cloud-Trace-Context": f"{TRACE_ID}/12345678901234567;o=1"},
        # ... whose span and options may be left out (Google's own runtimes read these too).
        {"X-Cloud-Trace-Context": f"{TRACE_ID};o=1"},
        {"X-Cloud-Trace-Context": f"{TRACE_ID}/;o=1"},
        {"X-Cloud-Trace-Context": TRACE_ID},
    ],
)
def test_event_delivery_continues_the_request_trace(headers: dict[str, str]) -> None:
    event = CloudEvent(id="1", source="/s", type="t", data={"a": 1})
    assert _deliver(headers, event) == [TRACE_ID]


def test_the_events_own_traceparent_wins() -> None:
    """An event portable-fn published carries its producer's trace end to end."""
    own = "0af7651916cd43dd8448eb211c80319c"
    event = CloudEvent(
        id="1", source="/s", type="t", extensions={"traceparent": f"00-{own}-b7ad6b7169203331-01"}
    )
    headers = {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
    assert _deliver(headers, event) == [own]


# W3C Trace Context, traceparent: https://www.w3.org/TR/trace-context/#traceparent-header
# (version ff is invalid; a higher version is parsed by its first four fields, the rest ignored).
_SPAN = "00f067aa0ba902b7"


@pytest.mark.parametrize(
    ("traceparent", "expected"),
    [
        (f"00-{TRACE_ID}-{_SPAN}-01", f"00-{TRACE_ID}-{_SPAN}-01"),
        (f"cc-{TRACE_ID}-{_SPAN}-01-what-the-future-will-be-like", f"00-{TRACE_ID}-{_SPAN}-01"),
        (f"ff-{TRACE_ID}-{_SPAN}-01", None),
        (f"00-{TRACE_ID}-{_SPAN}-01-extra", None),
        (f"00-{'0' * 32}-{_SPAN}-01", None),
    ],
)
def test_traceparent_versions(traceparent: str, expected: str | None) -> None:
    from portable_fn_gcp.tracing import delivery_traceparent

    assert delivery_traceparent({"HTTP_TRACEPARENT": traceparent}) == expected


def test_an_invalid_traceparent_falls_back_to_the_cloud_trace_header() -> None:
    """Cloud Run sends both; a version-ff ``traceparent`` is invalid, the legacy header is not
    (https://cloud.google.com/trace/docs/trace-context#legacy-http-header)."""
    from portable_fn_gcp.tracing import delivery_traceparent

    environ = {
        "HTTP_TRACEPARENT": f"ff-{TRACE_ID}-{_SPAN}-01",
        "HTTP_X_CLOUD_TRACE_CONTEXT": f"{TRACE_ID}/1;o=1",
    }
    assert delivery_traceparent(environ) == f"00-{TRACE_ID}-0000000000000001-01"
