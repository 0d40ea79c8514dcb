# SPDX-License-Identifier: Apache-2.0
"""HTTP values: the ``Request`` every HTTP handler receives, the ``Response`` it may return.

Adapters build a ``Request`` from the provider's native shape and turn a ``Response`` back into
it, so a handler sees the same thing on every provider (DESIGN section 2). Header and query maps
are immutable and multi-valued; header names fold case (RFC 9110 section 5.1).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from portable_fn import _json
from portable_fn._multimap import Headers, MultiMap, QueryParams, RawPairs
from portable_fn._value import Value, setters
from portable_fn.errors import BadRequest

__all__ = ["Headers", "QueryParams", "Request", "Response", "UploadedFile", "to_response"]


_EMPTY_HEADERS = Headers()
_JSON_HEADERS = Headers((("content-type", "application/json"),))
_EMPTY_QUERY = QueryParams()
_NO_PARAMS: Mapping[str, str] = MappingProxyType({})


class Request(Value):
    """An HTTP request, the same on every provider.

    ``body`` is the raw bytes (base64 already undone by the adapter); ``path`` is decoded and
    starts with ``/``; ``path_params`` come from the route pattern (``/orders/{order_id}``).

    What a path parameter guarantees, and no more: it is the decoded text of one segment, never
    empty and never holding ``/`` (a greedy ``{name+}`` spans segments and does). It may be
    ``.`` or ``..`` (sent as ``%2e%2e``), hold a backslash, a NUL or a line break: check it
    before joining it to a file path or a storage key, as with ``UploadedFile.filename``.
    """

    method: str
    path: str
    headers: Headers = _EMPTY_HEADERS
    query: QueryParams = _EMPTY_QUERY
    body: bytes = b""
    path_params: Mapping[str, str] = _NO_PARAMS
    client_ip: str | None = None

    def __init__(
        self,
        *,
        method: str,
        path: str,
        headers: Headers = _EMPTY_HEADERS,
        query: QueryParams = _EMPTY_QUERY,
        body: bytes = b"",
        path_params: Mapping[str, str] = _NO_PARAMS,
        client_ip: str | None = None,
    ) -> None:
        # Written out: one request per invocation, on the hot path.
        _Request_method(self, method)
        _Request_path(self, path)
        _Request_headers(self, headers)
        _Request_query(self, query)
        _Request_body(self, body)
        _Request_path_params(self, path_params)
        _Request_client_ip(self, client_ip)

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies from every ``Cookie`` header; a malformed pair is skipped, not fatal.

        Two ``Cookie`` lines reach some handlers as one value joined with a comma (WSGI and
        gunicorn, the Azure Functions host, the Fetch ``Headers`` of a Worker), not with the
        ``"; "`` RFC 9113 section 8.2.3 asks for: ``a=1; b=2, c=3``. A cookie value has no comma
        (RFC 6265 section 4.1.1), so a comma followed by ``name=`` starts another cookie."""
        jar: dict[str, str] = {}
        for header in self.headers.getall("cookie"):
            pairs = header.split(";") if "," not in header else _joined_cookies(header)
            for part in pairs:
                name, sep, value = part.partition("=")
                name = name.strip()  # RFC 6265 section 5.2: whitespace is not the name's
                # Of two cookies of one name the first wins: a browser lists the one with the
                # longer path first (section 5.4), as Werkzeug, Go and Express read it.
                if sep and name and name not in jar:
                    jar[name] = _unquote_cookie(value.strip())
        return jar

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def text(self) -> str:
        """The body decoded with the ``charset`` of its Content-Type (RFC 9110 section 8.3.2),
        UTF-8 when it names none; ``BadRequest`` when the body is not in it or the charset is
        unknown."""
        content_type = self.headers.get("content-type")
        if content_type is not None and "=" in content_type:  # parameters: maybe a charset
            charset = _charset(content_type)
            if charset is not None:
                return _decoded(self.body, charset)
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("request body is not valid UTF-8") from None

    def json(self) -> Any:
        """The body parsed as JSON; ``BadRequest`` (400) when it is empty or not JSON."""
        body = self.body
        if not body:
            raise BadRequest("request body is empty; expected JSON")
        if _PYODIDE and _json.too_deep(body):
            raise BadRequest(f"request body nests JSON deeper than {_json.MAX_DEPTH} levels")
        try:
            # JSON on the wire is UTF-8 (RFC 8259 section 8.1): decode directly rather than
            # through json.loads' per-call encoding detection.
            return _json.loads(body.decode("utf-8"), strict=True)
        except UnicodeDecodeError:
            return _detected_json(body)  # UTF-16/32, which json.loads detects
        except (ValueError, RecursionError):  # RecursionError: nested deeper than it recurses
            if body.startswith(_UTF8_BOM):  # section 8.1: a parser may ignore it; json.loads does
                return _detected_json(body)
            raise BadRequest("request body is not valid JSON") from None

    def form(self) -> QueryParams:
        """The text fields of an HTML form body, ``application/x-www-form-urlencoded`` (a
        webhook's, a form's) or ``multipart/form-data`` (RFC 7578), in order with repeated
        names kept, as ``query`` holds the URL's. ``BadRequest`` (400) for a malformed body,
        an ``HTTPError`` 415 for a body of another type. Parsed on each call."""
        from portable_fn._form import fields

        return fields(self)

    def files(self) -> list[UploadedFile]:
        """The file parts of a ``multipart/form-data`` body, in order (none for a URL-encoded
        form); errors as ``form()``."""
        from portable_fn._form import files

        return files(self)

    def with_path_params(self, params: Mapping[str, str]) -> Request:
        return Request(
            method=self.method,
            path=self.path,
            headers=self.headers,
            query=self.query,
            body=self.body,
            path_params=params,
            client_ip=self.client_ip,
        )


(
    _Request_method,
    _Request_path,
    _Request_headers,
    _Request_query,
    _Request_body,
    _Request_path_params,
    _Request_client_ip,
) = setters(Request)


_UTF8_BOM = b"\xef\xbb\xbf"


class UploadedFile(Value):
    """One file part of a ``multipart/form-data`` body (``Request.files()``): ``field`` is the
    form field's name, ``filename`` what the client sent (a name, not a safe path: never join
    it to a folder unchecked), ``content_type`` the part's own (``application/octet-stream``
    when it has none, RFC 7578 section 4.4), ``data`` its bytes as sent."""

    field: str
    filename: str
    content_type: str
    data: bytes


def _charset(content_type: str) -> str | None:
    """The ``charset`` parameter of a media type (RFC 9110 section 5.6.6: the name folds case,
    the value may be a quoted string), None when there is none."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return value or None
    return None


def _decoded(body: bytes, charset: str) -> str:
    try:
        return body.decode(charset)
    except LookupError:  # unknown, or a bytes-to-bytes codec such as base64
        raise BadRequest(f"request body charset {charset!r} is not supported") from None
    except ValueError:  # UnicodeError, or a codec's own complaint ("undefined", "idna")
        raise BadRequest(f"request body is not valid {charset}") from None


def _detected_json(body: bytes) -> Any:
    try:
        # json.loads' own detection (UTF-16/32, a UTF-8 BOM), then the strict read.
        return _json.loads(body.decode(json.detect_encoding(body)), strict=True)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BadRequest("request body is not valid JSON") from None


_COOKIE_JOIN: re.Pattern[str] | None = None  # compiled on the first Cookie header with a comma


def _joined_cookies(header: str) -> list[str]:
    """The pairs of a ``Cookie`` value, split at ``;`` and at a comma that starts a new
    ``name=`` (two headers joined with ``,``); a comma inside a value stays in it."""
    global _COOKIE_JOIN
    if _COOKIE_JOIN is None:
        # RFC 9110 token characters, then "=": the next cookie's name.
        _COOKIE_JOIN = re.compile(r"[;,](?=\s*[!#$%&'*+\-.^_`|~0-9A-Za-z]+=)|;")
    return _COOKIE_JOIN.split(header)


def _unquote_cookie(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        from http.cookies import CookieError, SimpleCookie  # rare: quoted cookie values

        try:
            jar: SimpleCookie = SimpleCookie()
            jar.load(f"x={value}")
        except CookieError:
            return value[1:-1]
        # A quoted value SimpleCookie cannot read (an unescaped quote or a trailing
        # backslash, RFC 6265 section 4.1.1 allows neither) is skipped silently: keep it.
        morsel = jar.get("x")
        return value[1:-1] if morsel is None else morsel.value
    return value


def _jsonable(value: Any) -> Any:
    """What a response body holds besides JSON's own types, as JSON values: a pydantic model
    (its JSON-mode dump: datetimes as RFC 3339, enums as values) or a dataclass, nested too
    (a list of models). Called by the encoder only for what it cannot write itself."""
    dump = getattr(value, "model_dump", None)  # pydantic 2
    if callable(dump):
        return dump(mode="json")
    if hasattr(type(value), "__fields__") and callable(getattr(value, "json", None)):
        return json.loads(value.json())  # a pydantic 1 model (pydantic.v1)
    if hasattr(type(value), "__dataclass_fields__"):
        from dataclasses import asdict  # only a user's dataclass brings us here

        return asdict(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# One compact encoder, built once (json.dumps builds one per call).
_dumps = _json.encoder(_jsonable)
# Under Pyodide (Cloudflare Workers) a deep parse overflows the JavaScript stack, which is fatal
# for the whole isolate, so bodies are checked first; CPython's decoder raises RecursionError,
# caught as any bad body, so its requests skip the check (two byte counts a request).
_PYODIDE = sys.platform == "emscripten"
_TEXTUAL = ("text/", "application/json", "application/xml", "application/javascript")


class Response(Value):
    """An HTTP response; every adapter turns it into the provider's native response."""

    status: int = 200
    headers: Headers = _EMPTY_HEADERS
    body: bytes = b""

    def __init__(
        self,
        *,
        status: int = 200,
        headers: RawPairs = _EMPTY_HEADERS,
        body: bytes | bytearray | memoryview | str = b"",
    ) -> None:
        if not 100 <= status <= 599:
            raise ValueError(f"HTTP status must be 100-599, got {status}")
        _Response_status(self, status)
        _Response_headers(self, headers if type(headers) is Headers else Headers(headers))
        _Response_body(self, body if type(body) is bytes else _body_bytes(body))

    @classmethod
    def json(
        cls, value: Any, *, status: int = 200, headers: RawPairs | None = None
    ) -> Response:
        # backslashreplace: a lone surrogate (from a client's bad bytes echoed in a message)
        # becomes a backslash-u JSON escape instead of an encoding error.
        text = _dumps(value)
        try:
            body = text.encode("utf-8")
        except UnicodeEncodeError:
            body = text.encode("utf-8", "backslashreplace")
        if headers is None:  # the common case: share one immutable header map
            if status == 200 and cls is Response:  # nothing to check: built as is, per request
                response = _new(Response)
                _Response_status(response, 200)
                _Response_headers(response, _JSON_HEADERS)
                _Response_body(response, body)
                return response
            return cls(status=status, headers=_JSON_HEADERS, body=body)
        return cls(status=status, headers=_with_type(headers, "application/json"), body=body)

    @classmethod
    def text(
        cls, value: str, *, status: int = 200, headers: RawPairs | None = None
    ) -> Response:
        return cls(
            status=status,
            headers=_with_type(headers, "text/plain; charset=utf-8"),
            body=value.encode("utf-8"),
        )

    @classmethod
    def binary(
        cls,
        value: bytes,
        *,
        content_type: str = "application/octet-stream",
        status: int = 200,
        headers: RawPairs | None = None,
    ) -> Response:
        return cls(status=status, headers=_with_type(headers, content_type), body=bytes(value))

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def is_text(self) -> bool:
        """Whether the body can travel as UTF-8 text; otherwise adapters base64 it."""
        content_type = self.headers.get("content-type")
        if content_type is None:
            return not self.body
        media = content_type.split(";", 1)[0].strip().lower()
        return media.startswith(_TEXTUAL) or media.endswith(("+json", "+xml"))

    def with_headers(self, headers: RawPairs) -> Response:
        """A copy with ``headers`` set: each name given replaces the values it had (several
        values of one name, as pairs, all kept), the others stay (a middleware's headers)."""
        given = Headers(headers) if type(headers) is not Headers else headers
        names = set(given.keys())
        kept = [(name, value) for name, value in self.headers.items() if name not in names]
        return Response(status=self.status, headers=[*kept, *given.items()], body=self.body)


_Response_status, _Response_headers, _Response_body = setters(Response)
_new = object.__new__


def _check_fields(headers: Headers) -> None:
    """``ValueError`` for a header whose name or value holds CR, LF or NUL: "invalid and
    dangerous" (RFC 9110 section 5.5). A handler that copies input into a header (a redirect's
    Location from ``?next=``) would otherwise let the client add headers or a body of its own
    (OWASP "HTTP Response Splitting"); raised here, in the handler, it is its JSON 500 on every
    provider, as werkzeug refuses such a header when it is set. Checked in ``to_response``,
    which the dispatcher calls on whatever a handler returned; the shared header maps of the
    plain constructors are known good."""
    if headers is _JSON_HEADERS or headers is _EMPTY_HEADERS:
        return
    for name, value in headers.items():
        text = name + value if type(value) is str else name
        if "\n" in text or "\r" in text or "\0" in text:
            raise ValueError(
                f"response header {name!r} holds a line break or NUL: {value!r} "
                "(RFC 9110 section 5.5)"
            )


def _body_bytes(body: object) -> bytes:
    """A body given as text (UTF-8, as Starlette, Chalice and Powertools encode it) or as a
    buffer, as the bytes every adapter reads."""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    raise TypeError(f"Response body must be bytes or str, got {type(body).__name__}")


def _with_type(headers: RawPairs | None, content_type: str) -> Headers:
    if headers is None:
        return Headers((("content-type", content_type),))
    given = Headers(headers)
    return given if "content-type" in given else given.merged({"content-type": content_type})


_NO_CONTENT = Response(status=204)


def to_response(value: Any) -> Response:
    """What a handler returned, as a ``Response``: dict/list -> JSON 200, str -> text,
    bytes -> octet-stream, None -> 204, a dataclass or pydantic model -> its fields as JSON
    (in a list too), and Flask's
    ``(body, status)`` or ``(body, status, headers)`` -> the body's response with that status."""
    if type(value) is dict or type(value) is list:
        return Response.json(value)
    if isinstance(value, Response):
        _check_fields(value.headers)
        return value
    if value is None:
        return _NO_CONTENT
    if isinstance(value, str):
        return Response.text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return Response.binary(bytes(value))
    if type(value) is tuple and _is_status_tuple(value):
        response = _with_status(*value)
        _check_fields(response.headers)
        return response
    if isinstance(value, dict | list | tuple | int | float | bool):
        return Response.json(value)
    kind = type(value)
    if any(hasattr(kind, mark) for mark in ("__dataclass_fields__", "model_dump", "__fields__")):
        return Response.json(value)  # a dataclass or a pydantic model: see _jsonable
    raise TypeError(f"a handler returned {type(value).__name__}, which is not a response")


def _is_status_tuple(value: tuple[Any, ...]) -> bool:
    """``(body, status)`` or ``(body, status, headers)``, the status an int or ``HTTPStatus``:
    any other tuple is a JSON array."""
    if not 2 <= len(value) <= 3 or not isinstance(value[1], int) or isinstance(value[1], bool):
        return False
    return len(value) == 2 or isinstance(value[2], Mapping | list | tuple | MultiMap)


def _with_status(body: Any, status: int, headers: RawPairs | None = None) -> Response:
    """The body's response with ``status``; ``headers`` replace the body's of the same name
    (Flask's ``headers.update``)."""
    inner = to_response(body)
    if headers is None:
        return Response(status=int(status), headers=inner.headers, body=inner.body)
    extra = Headers(headers)
    kept = [(name, value) for name, value in inner.headers.items() if name not in extra]
    return Response(status=int(status), headers=[*kept, *extra.items()], body=inner.body)
