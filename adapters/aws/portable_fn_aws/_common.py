# SPDX-License-Identifier: Apache-2.0
"""Small helpers every AWS codec shares: the Lambda context Protocol, body and time decoding.

Standard library only: this module is imported on every cold start of a packaged function.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, Protocol

from portable_fn._json import loads
from portable_fn.errors import EventDecodeError

PROVIDER = "aws"
UTC = timezone.utc


class LambdaContext(Protocol):
    """What the Lambda runtime passes as ``context`` (duck-typed, so no AWS import is needed).

    https://docs.aws.amazon.com/lambda/latest/dg/python-context.html
    """

    aws_request_id: str
    function_name: str

    def get_remaining_time_in_millis(self) -> int: ...


def decode_error(trigger: str, field: str, message: str) -> EventDecodeError:
    return EventDecodeError(message, provider=PROVIDER, trigger=trigger, field=field)


def body_bytes(event: dict[str, Any], trigger: str) -> bytes:
    """The raw HTTP body of an API Gateway / ALB / Function URL event (base64 undone)."""
    body = event.get("body")
    if not body:
        return b""
    if event.get("isBase64Encoded"):
        # base64 and urllib.parse (with ipaddress) load on first use, not in every cold start:
        # together they were 3 ms of the generated entry's import.
        from base64 import b64decode

        try:
            return b64decode(body, validate=True)
        except ValueError:  # binascii.Error is a ValueError
            raise decode_error(
                trigger, "body", "isBase64Encoded is set but body is not base64"
            ) from None
    if type(body) is not str:
        raise decode_error(trigger, "body", f"must be a string, got {type(body).__name__}")
    return body.encode("utf-8")


def decoded_path(raw: str) -> str:
    """A path that arrives percent-encoded (REST API ``path``, ALB ``path``, function URL
    ``rawPath``) as ``Request.path`` holds it: decoded, once.

    HTTP API paths arrive decoded already and must not come through here: decoding them again
    would turn a literal ``%41`` (sent as ``%2541``) into ``A``.
    """
    if "%" not in raw:
        return raw
    from urllib.parse import unquote

    return unquote(raw)


class LazyQuery:
    """Query pairs parsed only when a handler first reads the query (most never do)."""

    __slots__ = ("_raw",)

    def __init__(self, raw: str) -> None:
        self._raw = raw

    def __iter__(self) -> Iterator[tuple[str, str]]:
        from urllib.parse import parse_qsl

        return iter(parse_qsl(self._raw, keep_blank_values=True))


# What a JSON text can begin with (RFC 8259 section 2) besides an object or array; "NaN" and
# "Infinity" cannot, so a body of those words stays text.
_SCALAR_START = frozenset('"-0123456789tfn')
# JSON's insignificant whitespace (RFC 8259 section 2), which may precede the value.
_JSON_WS = " \t\n\r"
_BOM = "\ufeff"
TEXT = "text/plain; charset=utf-8"


def text_payload(text: str) -> tuple[Any, str]:
    """Decode a message body with no declared content type: JSON when it parses, else text.

    SQS, SNS and Kinesis carry strings without a content type; JSON is what producers send in
    practice, and anything else is kept verbatim as ``text/plain``. Any JSON value counts, a
    number or a string as well as an object, and a leading byte order mark is ignored (RFC 8259
    section 8.1; .NET's ``Encoding.UTF8`` writers emit one): the same body is the same data on
    Azure and Google Cloud, whose queues read it so. So is whitespace before the value, which
    the JSON grammar allows (RFC 8259 section 2) and their ``json.loads`` skips.
    """
    body = text[1:] if text[:1] == _BOM else text
    first = body[:1]
    if first and first in _JSON_WS:
        body = body.lstrip(_JSON_WS)
        first = body[:1]
    if first == "{" or first == "[" or first in _SCALAR_START:
        try:  # the strict read: NaN, the infinities and 1e999 are not JSON numbers
            return loads(body, strict=True), "application/json"
        except (ValueError, RecursionError):
            # RecursionError: JSON nested deeper than the parser recurses (RFC 8259 section 9
            # lets a parser limit it), text as any body that does not parse; raised, it failed
            # the whole batch.
            pass
    return text, TEXT


def epoch_millis(value: Any, trigger: str, field: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError):
        raise decode_error(
            trigger, field, f"not an epoch-milliseconds timestamp: {value!r}"
        ) from None


def epoch_seconds(value: Any, trigger: str, field: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError, OverflowError):
        raise decode_error(trigger, field, f"not an epoch-seconds timestamp: {value!r}") from None


# What reading a native payload of the wrong shape raises (a list where an object belongs,
# a number where text does...): turned into the typed EventDecodeError at each decode site.
# OverflowError: a JSON number past a float's range (`1e309`, read as inf) where an int goes.
MALFORMED = (TypeError, AttributeError, ValueError, KeyError, IndexError, OverflowError)


def malformed(trigger: str, exc: BaseException) -> EventDecodeError:
    """A typed decode error for a payload whose shape a codec did not anticipate."""
    return decode_error(trigger, "record", f"malformed payload ({type(exc).__name__}: {exc})")


def require(obj: Any, key: str, trigger: str) -> Any:
    """``obj[key]`` or an ``EventDecodeError`` naming the missing field."""
    try:
        value = obj[key]
    except (KeyError, TypeError, IndexError):
        raise decode_error(trigger, key, "is missing") from None
    if value is None:
        raise decode_error(trigger, key, "is null")
    return value
