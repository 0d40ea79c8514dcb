# SPDX-License-Identifier: Apache-2.0
"""Turn a portable ``Response`` into the pieces every AWS HTTP response shape is made of.

Each HTTP source spells the same response differently (cookies array, multi-value headers,
comma-joined headers) but all of them need the body as text or base64 and the headers grouped
by name; those two steps live here, tuned for the per-invocation hot path.
"""

from __future__ import annotations

from base64 import b64encode
from typing import Any

from portable_fn._memo import LastConverted
from portable_fn.adapter import NO_CONTENT
from portable_fn.http import Headers, Response

# content-type -> "may travel as UTF-8 text"; bounded because content types come from handlers.
_TEXTUAL: dict[str, bool] = {}
_TEXTUAL_MAX = 256
# Handlers mostly return the core's shared JSON header map: group it once, not per call.
_grouped: LastConverted[Headers, dict[str, list[str]]] = LastConverted(Headers.to_multi)


def textual(response: Response) -> bool:
    """Whether the body may travel as UTF-8 text, by its content type alone (cached per content
    type), so a header map's answer holds for every body it goes with. A body without a
    content type may: ``encode_body`` sends it as text when it is UTF-8 and base64 when it is
    not. Sent as base64, a REST API (payload 1.0) passes it to the client still encoded unless
    the API's ``binaryMediaTypes`` match the request's Accept
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/lambda-proxy-binary-media.html):
    ``Response(body="ok")`` reached a REST client as ``b2s=``."""
    content_type = response.headers.get("content-type")
    if content_type is None:
        return True
    flag = _TEXTUAL.get(content_type)
    if flag is None:
        flag = response.is_text
        if len(_TEXTUAL) < _TEXTUAL_MAX:
            _TEXTUAL[content_type] = flag
    return flag


def encode_body(body: bytes, as_text: bool) -> tuple[str, bool]:
    """``(body, isBase64Encoded)``: UTF-8 text when allowed and valid, else base64."""
    if not body:
        return "", False
    if as_text:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:  # declared text but is not UTF-8: base64 keeps it intact
            pass
    return b64encode(body).decode("ascii"), True


def body_out(response: Response) -> tuple[str, bool]:
    """``(body, isBase64Encoded)`` for ``response``."""
    body = response.body
    return encode_body(body, textual(response)) if body else ("", False)


def grouped(headers: Headers) -> dict[str, list[str]]:
    """Name -> values, names lower-cased, in first-seen order. Callers must not mutate it."""
    return _grouped(headers, headers)


def without_content(response: Response) -> Response:
    """``response`` without its body when its status has none: API Gateway and the ALB would
    send the handler's bytes after a 204 or 304, which a client reads as the next response."""
    if response.body and response.status in NO_CONTENT:
        return Response(status=response.status, headers=response.headers)
    return response


# The most JSON bytes one ``str`` character of a body can take: a character outside the BMP
# written as two \uXXXX escapes (before python3.12's runtime).
MAX_BYTES_PER_CHAR = 12


def too_large(out: dict[str, Any], limit: int) -> bool:
    """Whether the JSON Lambda sends for ``out`` exceeds ``limit`` bytes, written as
    awslambdaric writes it: UTF-8 on the python3.12 runtime and later, every non-ASCII
    character as ``\\uXXXX`` (6 bytes, 12 for a surrogate pair outside the BMP) before
    (``lambda_runtime_marshaller.Encoder``). The body dominates it, so the JSON is written out
    only for a body that could come near the limit."""
    body = out.get("body")
    if not isinstance(body, str) or len(body) < limit // MAX_BYTES_PER_CHAR:  # as the caller
        return False
    import json  # only for a large response
    import os

    runtime = os.environ.get("AWS_EXECUTION_ENV", "").removeprefix("AWS_Lambda_python3.")
    if runtime.isdigit() and int(runtime) >= 12:
        return len(json.dumps(out, ensure_ascii=False).encode("utf-8")) > limit
    return len(json.dumps(out)) > limit
