# SPDX-License-Identifier: Apache-2.0
"""Whether HTTP can carry a handler's ``Response`` as the answer (``portable_fn.adapter``).

Every adapter checks before it hands a response to its front end, which would otherwise answer
one of its own: API Gateway and the ALB a bare 502, gunicorn an HTML page or a dropped
connection, the Azure host's Kestrel a bare 500 (it refuses a header value outside ASCII,
dotnet/aspnetcore#4727). The adapter answers the portable JSON 500 instead and logs why.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from portable_fn._memo import LastConverted

if TYPE_CHECKING:
    from portable_fn.http import Headers, Response

__all__ = ["NO_CONTENT", "unsendable"]

# RFC 9110 sections 15.3.5, 15.3.6, 15.4.5: these statuses have no content; a body sent after
# one is read by the client as the start of the next response.
NO_CONTENT = frozenset((204, 205, 304))
# RFC 9110 section 5: a field name is a token; a value is Latin-1 text without a control
# character but tab (CR, LF or NUL end the field early: header injection). Compiled on the
# first check, not at import (every cold start imports this module), and kept compiled: through
# ``re``'s own cache each match cost a lookup, doubling the check of a response's headers.
_PATTERNS = {
    "name": r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+",
    "non-Latin-1": r"[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]",
    "non-ASCII": r"[^\t\x20-\x7e]",
}
_compiled: dict[str, re.Pattern[str]] = {}


def _pattern(key: str) -> re.Pattern[str]:
    found = _compiled.get(key)
    if found is None:
        found = _compiled[key] = re.compile(_PATTERNS[key])
    return found


def _problem(headers: Headers, what: str) -> str | None:
    name_ok, bad = _pattern("name").fullmatch, _pattern(what).search
    for name, value in headers.items():
        if not name_ok(name):
            return f"header name {name!r} is not a token (RFC 9110 section 5.1)"
        if bad(value):
            return f"header {name!r} holds a line break, a control or a {what} character"
    return None


# Handlers mostly return the core's shared JSON header map: checked once, not per call.
_latin1: LastConverted[Headers, str | None] = LastConverted(
    lambda headers: _problem(headers, "non-Latin-1")
)
_ascii: LastConverted[Headers, str | None] = LastConverted(
    lambda headers: _problem(headers, "non-ASCII")
)


def unsendable(response: Response, *, ascii_only: bool = False) -> str | None:
    """Why HTTP cannot carry ``response`` as the answer, or None: a 1xx status (interim, RFC
    9110 section 15.2: a client waits for the final answer after it), a header name that is no
    token, a value with a control character or outside Latin-1 (outside ASCII where the front
    end sends only that: ``ascii_only``)."""
    if response.status < 200:
        return f"status {response.status} is interim (RFC 9110 section 15.2), not an answer"
    headers = response.headers
    return (_ascii if ascii_only else _latin1)(headers, headers)
