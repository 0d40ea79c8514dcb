# SPDX-License-Identifier: Apache-2.0
"""``Set-Cookie`` values rewritten into what the worker can hand the host.

The library parses every ``Set-Cookie`` of an ``HttpResponse`` with ``http.cookies.SimpleCookie``
and the worker copies each morsel into an ``RpcHttpCookie`` (name, value, domain, path, expires,
secure, http_only, same_site, max_age: azure-functions-python-worker ``bindings/datumdef.py``,
``parse_to_rpc_http_cookie_list``), from which the host writes the header. Three things go wrong
on the way: an attribute SimpleCookie does not know and that has no value (``Partitioned``) makes
it drop the whole cookie; one with a value (``Priority=High``) becomes a second cookie of that
name; an ``Expires`` in the RFC 850 form (``Wednesday, 21-Oct-25 07:28:00 GMT``, which user agents
accept, RFC 6265 section 5.1.1) drops the cookie, and one the worker's date parser cannot read
fails the invocation (the host then answers a bare 500). So each cookie keeps its name, value and
the attributes the RPC can carry, ``Expires`` as the IMF-fixdate SimpleCookie reads; an
``Expires`` or ``Max-Age`` no user agent could read is left out, as RFC 6265 section 5.2 has user
agents ignore it. Other attributes have no place in ``RpcHttpCookie`` and are not sent.
"""

from __future__ import annotations

import re

__all__ = ["for_worker"]

# Canonical spelling of the attributes an RpcHttpCookie carries (RFC 6265 section 4.1.1).
_VALUED = {"domain": "Domain", "path": "Path", "samesite": "SameSite"}
_FLAGS = {"secure": "Secure", "httponly": "HttpOnly"}
_IMF_FIXDATE = re.compile(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT")
_DELTA_SECONDS = re.compile(r"-?\d+")


def for_worker(header: str) -> str | None:
    """The ``Set-Cookie`` value that survives SimpleCookie and the RPC as the user agent would
    have read ``header``; None for a cookie SimpleCookie cannot read as one cookie of its name
    (``carried``), which the caller reports instead of sending."""
    pair, *attributes = header.split(";")
    out = [pair.strip()]
    for attribute in attributes:
        name, sep, value = attribute.strip().partition("=")
        key, value = name.strip().lower(), value.strip()
        if key in _FLAGS:
            out.append(_FLAGS[key])
        elif key in _VALUED and sep:
            out.append(f"{_VALUED[key]}={value}")
        elif key == "max-age" and _DELTA_SECONDS.fullmatch(value):
            out.append(f"Max-Age={value}")
        elif key == "expires":
            moment = _expires(value)
            if moment is not None:
                out.append(f"Expires={moment}")
    cookie = "; ".join(out)
    return cookie if carried(cookie, pair.partition("=")[0].strip()) else None


def carried(cookie: str, name: str) -> bool:
    """Whether the library's SimpleCookie reads ``cookie`` as one cookie named ``name``. It
    drops, without a word, a cookie whose value has a space, a double quote inside, a backslash
    or a non-token character, and one named like an attribute (``path``, ``expires``,
    ``version``); it splits one at a comma into two; and a name with a separator (``a/b``,
    ``a(b)``) raises ``CookieError`` in the library's encoder, failing the invocation (RFC 6265
    section 4.1.1 allows none of these, though user agents read most)."""
    from http.cookies import CookieError, SimpleCookie  # loaded with azure.functions already

    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie)
    except CookieError:
        return False
    return list(jar) == [name]


def _expires(value: str) -> str | None:
    if _IMF_FIXDATE.fullmatch(value):
        return value
    from datetime import timezone  # rare: other date forms
    from email.utils import format_datetime, parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if moment.tzinfo is None:  # the asctime form, which is GMT (RFC 9110 section 5.6.7)
        moment = moment.replace(tzinfo=timezone.utc)
    return format_datetime(moment.astimezone(timezone.utc), usegmt=True)
