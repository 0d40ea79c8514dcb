# SPDX-License-Identifier: Apache-2.0
"""JSON answers for the requests functions-framework refuses before a portable function runs.

functions-framework answers some requests itself: a CloudEvent function sent something that is
neither a CloudEvent nor a legacy event it can convert gets werkzeug's HTML 400 page, whose
description echoes every request header (a push subscription's ``Authorization`` bearer token
among them) and the body; a JSON body that is not an object crashes its conversion (500
``text/plain``); a GET is an HTML 405. Every other answer of a portable function is JSON
``{"error": {"status", "message"}}`` with no detail of the failure, so these are too.

The generated ``main.py`` installs the handlers through functions-framework's documented
``errorhandler`` (https://github.com/GoogleCloudPlatform/functions-framework-python#error-handling,
Flask's ``errorhandler``: https://flask.palletsprojects.com/en/stable/errorhandling/), which
``create_app`` points at the app it is building while ``main.py`` is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from portable_fn.http import Response
from portable_fn.log import Logger

from portable_fn_gcp import http

__all__ = ["install"]

# functions-framework's crash_handler marks a 500 so; its log pipeline reads the mark.
_CRASH = ("X-Google-Status", "crash")

Register = Callable[[Any], Callable[[Callable[[Any], Any]], Any]]


def install(errorhandler: Register) -> None:
    """Register the JSON handlers with ``errorhandler`` (``functions_framework.errorhandler``)."""
    from werkzeug.exceptions import HTTPException, InternalServerError

    # Registered for the class that crash_handler was registered for (code 500), so it
    # replaces that handler; any other HTTP error falls to the HTTPException handler.
    errorhandler(InternalServerError)(crashed)
    errorhandler(HTTPException)(refused)


def refused(exc: Any) -> Any:
    """A werkzeug ``HTTPException`` raised by the framework or Flask, as JSON."""
    status = exc.code if isinstance(exc.code, int) else 500
    if status >= 500:
        return crashed(exc)
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() == "allow"]
    # Why, for the operator; never the description, which may hold the request's headers.
    Logger({"provider": "gcp"}).warning(
        "request refused by functions-framework", status=status, error=type(exc).__name__
    )
    return _json(status, str(exc.name).lower(), headers)


def crashed(exc: Any) -> Any:
    """A 500: Flask has logged the exception with its stack already; the answer holds none."""
    return _json(500, "internal server error", [_CRASH])


def _json(status: int, message: str, headers: list[tuple[str, str]]) -> Any:
    body = {"error": {"status": status, "message": message}}
    return http.from_response(Response.json(body, status=status, headers=headers))
