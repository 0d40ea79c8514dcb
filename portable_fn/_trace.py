# SPDX-License-Identifier: Apache-2.0
"""W3C Trace Context (https://www.w3.org/TR/trace-context/) for one trace id across every hop.

An invocation's trace comes from, in order (``_invocation``): the event's ``traceparent``
extension (CloudEvents distributed-tracing extension), the HTTP request's ``traceparent``, the
context the adapter set (``ctx.traceparent``), the request's ``X-Amzn-Trace-Id`` (AWS X-Ray) or
``X-Cloud-Trace-Context`` (Google Cloud) header, or Lambda's ``_X_AMZN_TRACE_ID``. With none, a
new trace starts. ``pf.publish`` sends a child span of it, and
the ``tracestate`` that came with the traceparent the trace continues (W3C section 3.3: carried,
unchanged, by a participant that adds no state of its own).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

_HEX = frozenset("0123456789abcdef")


def _is_hex(text: str, length: int) -> bool:
    return len(text) == length and set(text) <= _HEX and text.strip("0") != ""


def parse(traceparent: str | None) -> tuple[str, str, str] | None:
    """(trace id, parent span id, flags) of a valid version-00 ``traceparent``, else None."""
    if not traceparent:
        return None
    # No lower(): upper-case hex is not a traceparent (HEXDIGLC), and one is to be ignored.
    parts = traceparent.strip().split("-")
    if len(parts) < 4 or len(parts[0]) != 2 or not set(parts[0]) <= _HEX or parts[0] == "ff":
        return None
    version, trace_id, span_id, flags = parts[0], parts[1], parts[2], parts[3]
    if version == "00" and len(parts) != 4:
        return None
    if not (_is_hex(trace_id, 32) and _is_hex(span_id, 16) and len(flags) == 2
            and set(flags) <= _HEX):
        return None
    return trace_id, span_id, flags


def normalized(traceparent: str | None) -> str | None:
    """A valid ``traceparent`` as this implementation propagates it: version 00, lower case,
    no surrounding space (W3C section 3.2: a higher version is read by its first four fields
    and sent on as the version the sender supports). None when it is not valid."""
    parsed = parse(traceparent)
    if parsed is None:
        return None
    return f"00-{parsed[0]}-{parsed[1]}-{parsed[2]}"


# W3C section 3.3.1.3: a key is lcalpha then up to 255 of lcalpha, digits and ``_-*/``, or a
# tenant (up to 241) "@" a system (up to 14); a value up to 256 printable ASCII characters but
# "," and "=", not ending in a space. Compiled on first need: most deliveries carry no state.
_KEY = r"(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})"
_VALUE = r"[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]"
_member: Any = None
_MAX_MEMBERS = 32


def tracestate(values: Iterable[str]) -> str | None:
    """The ``tracestate`` list from its header values (several headers are one list, in order;
    empty members are dropped, W3C section 3.3.1.1), or None when it holds nothing or is not
    a valid list: a member that is no ``key=value``, a key twice, more than 32 members. W3C's
    test suite expects such a list discarded whole (OpenTelemetry's propagator drops it too),
    not carried to every hop after."""
    global _member
    members = [member.strip() for value in values for member in value.split(",")]
    members = [member for member in members if member]
    if not members:
        return None
    if len(members) > _MAX_MEMBERS:
        return None
    if _member is None:
        import re

        _member = re.compile(f"({_KEY})=({_VALUE})")
    keys: set[str] = set()
    for member in members:
        match = _member.fullmatch(member)
        if match is None or match.group(1) in keys:
            return None
        keys.add(match.group(1))
    joined = ",".join(members)
    if len(joined) > _MAX_CARRIED:
        joined = _truncated(members)
    return joined or None


# W3C section 3.3.1.5: a vendor SHOULD propagate at least 512 characters of the list, and one
# that truncates drops members over 128 characters first, then members from the end. 1024
# carries the W3C test suite's longest valid lists whole (two keys of 256 and 256 characters).
# A client's 16 KB list was otherwise copied into every event its request published (a queue
# event went past the 48 KiB limit: a 500 for a request that worked without the header).
_MAX_CARRIED, _LONG_MEMBER = 1024, 128


def _truncated(members: list[str]) -> str:
    kept = [member for member in members if len(member) <= _LONG_MEMBER]
    while kept and len(",".join(kept)) > _MAX_CARRIED:
        kept.pop()
    return ",".join(kept)


def new_span_id() -> str:
    return os.urandom(8).hex()


def new_traceparent() -> str:
    ids = os.urandom(24).hex()  # one system call for trace id and span id
    return f"00-{ids[:32]}-{ids[32:]}-01"


def child(traceparent: str) -> str:
    """The same trace, a new span (what a published event carries)."""
    parsed = parse(traceparent)
    if parsed is None:
        return new_traceparent()
    trace_id, _, flags = parsed
    return f"00-{trace_id}-{new_span_id()}-{flags}"


_last_xray: tuple[str, str | None] = ("", None)


def from_xray(header: str | None) -> str | None:
    """``Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`` as a
    traceparent (AWS X-Ray's header; the X-Ray trace id is the W3C one without its dashes).

    The last header's conversion is kept: Lambda sets one per invocation in
    ``_X_AMZN_TRACE_ID``, and every message of a batch that logs asks again (2.5 µs a parse).
    """
    global _last_xray
    if not header:
        return None
    last = _last_xray  # one tuple, read and replaced whole: safe across threads
    if last[0] == header:
        return last[1]
    converted = _parse_xray(header)
    _last_xray = (header, converted)
    return converted


def _parse_xray(header: str) -> str | None:
    fields = dict(
        part.strip().split("=", 1) for part in header.split(";") if "=" in part
    )
    root = fields.get("Root", "")
    pieces = root.split("-")
    # Version 1, 8 hex digits of epoch seconds, 24 random: the W3C id is the two joined, so a
    # dash elsewhere would make one X-Ray never issued.
    if len(pieces) != 3 or pieces[0] != "1" or len(pieces[1]) != 8:
        return None
    trace_id = (pieces[1] + pieces[2]).lower()
    parent = fields.get("Parent", "").lower()
    if not _is_hex(trace_id, 32):
        return None
    span = parent if _is_hex(parent, 16) else new_span_id()
    return f"00-{trace_id}-{span}-{'01' if fields.get('Sampled') == '1' else '00'}"


def from_cloud_trace(header: str | None) -> str | None:
    """``TRACE_ID/SPAN_ID;o=1`` (Google Cloud's X-Cloud-Trace-Context; span id in decimal).

    The span and the options may each be left out (``TRACE_ID/;o=1``, ``TRACE_ID;o=1``,
    ``TRACE_ID``: Google's own runtimes read them all): the trace goes on, from a new span.
    https://cloud.google.com/trace/docs/trace-context#legacy-http-header
    """
    if not header:
        return None
    ids, _, options = header.partition(";")
    trace_id, _, span_text = ids.partition("/")
    trace_id = trace_id.lower()
    if not _is_hex(trace_id, 32) or (
        span_text and not (span_text.isascii() and span_text.isdigit())
    ):
        return None
    span = f"{int(span_text) & 0xFFFFFFFFFFFFFFFF:016x}" if span_text else "0" * 16
    if span == "0" * 16:
        span = new_span_id()
    return f"00-{trace_id}-{span}-{'01' if options.strip() == 'o=1' else '00'}"


def trace_id(traceparent: str | None) -> str | None:
    parsed = parse(traceparent)
    return parsed[0] if parsed else None
