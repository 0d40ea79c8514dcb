# SPDX-License-Identifier: Apache-2.0
"""HTML form bodies: ``application/x-www-form-urlencoded`` and ``multipart/form-data``.

Loaded by ``Request.form()``/``Request.files()`` on first use: most functions take JSON, and
the cold start of every function imports ``http``.

URL-encoded: the WHATWG URL standard's ``application/x-www-form-urlencoded`` parser (``+`` is a
space, percent-escapes are UTF-8). Multipart: RFC 7578 over RFC 2046 section 5.1.1, parsed here
byte-exact (``email``'s parser rewrites line endings inside binary parts), with what browsers
do that the RFC does not say: a name or filename's ``"``, CR and LF escaped as ``%22``, ``%0D``,
``%0A`` (WHATWG HTML, "multipart/form-data encoding algorithm"), and a raw UTF-8 filename.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from portable_fn._multimap import QueryParams
from portable_fn.errors import BadRequest, HTTPError

if TYPE_CHECKING:
    from portable_fn.http import Request, UploadedFile

__all__ = ["fields", "files"]


_URLENCODED = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
# One parameter of a header value: a token, or a quoted string with backslash escapes.
_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_QUOTED_PAIR = re.compile(r"\\(.)")
_BROWSER_ESCAPES = {"%22": '"', "%0D": "\r", "%0A": "\n", "%0d": "\r", "%0a": "\n"}
_BROWSER_ESCAPE = re.compile(r"%22|%0[DdAa]")


def _media_type(request: Request) -> tuple[str, dict[str, str]]:
    """The Content-Type's media type (lower case) and parameters (names lower case)."""
    content_type = request.headers.get("content-type") or ""
    media, _, rest = content_type.partition(";")
    return media.strip().lower(), _params(";" + rest if rest else "")


def _params(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in _PARAM.findall(text):
        value = value.strip()
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = _QUOTED_PAIR.sub(r"\1", value[1:-1])
        params.setdefault(name.lower(), value)
    return params


def _not_a_form(media: str) -> HTTPError:
    return HTTPError(
        f"request body is {media or 'untyped'}; expected {_URLENCODED} or {_MULTIPART}",
        status=415,
    )


def fields(request: Request) -> QueryParams:
    """The text fields of a form body, in order, repeated names kept."""
    media, params = _media_type(request)
    if media == _URLENCODED:
        return _urlencoded(request.body, params.get("charset") or "utf-8")
    if media == _MULTIPART:
        texts: list[tuple[str, str]] = []
        charset = "utf-8"
        parts = _parts(request.body, params)
        for name, filename, _, _headers, data in parts:
            if filename is None and name == "_charset_":  # RFC 7578 section 4.6
                charset = _text(data, "ascii", name).strip() or charset
        for name, filename, _, headers, data in parts:
            if filename is None:
                part_charset = _params(";" + headers.get("content-type", "").partition(";")[2])
                texts.append((name, _text(data, part_charset.get("charset") or charset, name)))
        return QueryParams(texts)
    raise _not_a_form(media)


def files(request: Request) -> list[UploadedFile]:
    """The file parts of a ``multipart/form-data`` body, in order (none in a URL-encoded one)."""
    from portable_fn.http import UploadedFile

    media, params = _media_type(request)
    if media == _URLENCODED:
        return []
    if media != _MULTIPART:
        raise _not_a_form(media)
    return [
        UploadedFile(
            field=name,
            filename=filename,
            content_type=content_type or "application/octet-stream",
            data=data,
        )
        for name, filename, content_type, _, data in _parts(request.body, params)
        if filename is not None
    ]


def _urlencoded(body: bytes, charset: str) -> QueryParams:
    from urllib.parse import parse_qsl

    try:
        # The serializer percent-encodes every byte but ASCII letters and digits; raw UTF-8
        # (``curl -d 'name=café'``) is read as the WHATWG parser reads it, as the charset's.
        text = body.decode(charset)
        return QueryParams(
            parse_qsl(text, keep_blank_values=True, encoding=charset, errors="strict")
        )
    except UnicodeDecodeError:
        raise BadRequest(f"form body is not valid {charset} once decoded") from None
    except LookupError:
        raise BadRequest(f"form body names an unknown charset {charset!r}") from None


def _text(data: bytes, charset: str, name: str) -> str:
    try:
        return data.decode(charset)
    except UnicodeDecodeError:
        raise BadRequest(f"form field {name!r} is not valid {charset}") from None
    except LookupError:
        raise BadRequest(f"form field {name!r} names an unknown charset {charset!r}") from None


# A part: its field name, its filename (None for a text field), its Content-Type (None when
# it has none), its headers (names lower case) and its bytes.
_Part = tuple[str, str | None, str | None, dict[str, str], bytes]


def _parts(body: bytes, params: dict[str, str]) -> list[_Part]:
    """The parts of a multipart body (RFC 2046 section 5.1.1): a preamble, then each part after
    ``--boundary`` and a line break, the last followed by ``--boundary--``."""
    boundary = params.get("boundary")
    if not boundary or len(boundary) > 70:  # RFC 2046: 1 to 70 characters
        raise BadRequest("multipart/form-data request without a valid boundary parameter")
    delimiter = b"--" + boundary.encode("latin-1", "replace")
    if body.startswith(delimiter):
        position = len(delimiter)
    else:
        found = body.find(b"\r\n" + delimiter)
        if found < 0:
            raise BadRequest("multipart body does not contain its boundary")
        position = found + 2 + len(delimiter)
    separator = b"\r\n" + delimiter
    parts: list[_Part] = []
    while True:
        if body.startswith(b"--", position):
            return parts  # the close delimiter; what follows is the epilogue
        line_end = body.find(b"\r\n", position)
        # Transport padding (linear whitespace) may follow a delimiter before its line break.
        if line_end < 0 or body[position:line_end].strip(b" \t"):
            raise BadRequest("multipart body is malformed after a boundary")
        start = line_end + 2
        end = body.find(separator, start)
        if end < 0:
            raise BadRequest("multipart body ends before its closing boundary")
        parts.append(_part(body[start:end]))
        position = end + len(separator)


def _part(raw: bytes) -> _Part:
    if raw.startswith(b"\r\n"):
        head, data = b"", raw[2:]
    else:
        head, found, data = raw.partition(b"\r\n\r\n")
        if not found:
            raise BadRequest("multipart part without the blank line that ends its headers")
    headers: dict[str, str] = {}
    for line in head.split(b"\r\n") if head else ():
        key, colon, value = line.partition(b":")
        if not colon:
            raise BadRequest("multipart part with a malformed header line")
        # Browsers send a non-ASCII filename as raw UTF-8 in the header.
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = value.decode("latin-1")
        headers.setdefault(key.strip().decode("latin-1").lower(), text.strip())
    disposition = headers.get("content-disposition", "")
    kind, _, rest = disposition.partition(";")
    params = _params(";" + rest)
    if kind.strip().lower() != "form-data" or "name" not in params:
        raise BadRequest("multipart part without Content-Disposition: form-data; name=...")
    filename = params.get("filename")
    extended = params.get("filename*")
    if extended is not None:  # RFC 5987, which RFC 7578 section 4.2 discourages but some send
        filename = _extended(extended) or filename
    name = _unescaped(params["name"])
    return (
        name,
        None if filename is None else _unescaped(filename),
        headers.get("content-type"),
        headers,
        data,
    )


def _unescaped(value: str) -> str:
    return _BROWSER_ESCAPE.sub(lambda match: _BROWSER_ESCAPES[match.group()], value)


def _extended(value: str) -> str | None:
    """An RFC 5987 ``charset'language'percent-encoded`` value, None when it is not one."""
    from urllib.parse import unquote

    charset, quote, rest = value.partition("'")
    _, quote2, encoded = rest.partition("'")
    if not quote or not quote2:
        return None
    try:
        return unquote(encoded, encoding=charset or "utf-8", errors="strict")
    except (LookupError, UnicodeDecodeError):
        return None
