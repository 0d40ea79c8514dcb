"""``portable-fn invoke APP FUNCTION --event FILE|SAMPLE [--provider P]``.

With ``--provider``, the file (or the adapter's sample of that name) is a native event and
goes through that adapter's ``invoke``, as the cloud would deliver it. Without, the file is
portable: a structured-mode CloudEvent (or any JSON value, wrapped as the event's ``data``)
for an event function, or a request ``{"method", "path", "headers", "query", "json"|"body"}``
for an HTTP function (``"base64": true`` beside ``"body"`` sends its bytes, as the result
shows a binary body). Events the function publishes are recorded, not sent, and printed.
The result is the only thing on stdout; what the handler prints or logs goes to stderr.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sys
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from portable_fn._dispatch import Outcome, declined
from portable_fn._dispatch_http import _resolve
from portable_fn.app import App
from portable_fn.errors import ConfigurationError, HTTPError
from portable_fn.events import CloudEvent, from_dict
from portable_fn.http import Request, Response
from portable_fn.testing import RecordingPublisher, http_request, invoke
from portable_fn.triggers import Event, Http, Storage


def _json(label: str, raw: bytes) -> Any:
    try:
        # Bytes, so json detects the encoding as RFC 8259 section 8.1 allows: a UTF-8 BOM or
        # UTF-16 is what Windows editors and PowerShell's `>` write.
        return json.loads(raw)
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise ConfigurationError(f"--event {label} is not JSON: {exc}") from None
    except RecursionError:  # nested past the parser: a usage error, not a traceback
        raise ConfigurationError(
            f"--event {label} nests JSON deeper than it can be read") from None


def load_event(ref: str, samples: Any = None) -> Any:
    if ref == "-":  # standard input: `portable-fn events P KIND | portable-fn invoke ... -`
        return _json("'-' (standard input)", sys.stdin.buffer.read())
    path = Path(ref)
    # Any readable path but a directory: a pipe too (`--event <(jq ... )`, /dev/stdin).
    if path.exists() and not path.is_dir():
        return _json(repr(ref), path.read_bytes())
    if samples is not None and ref in samples:
        return samples[ref]
    raise FileNotFoundError(
        f"--event {ref!r}: no such file"
        + (
            f" and no sample of that name (samples: {', '.join(sorted(samples))})"
            if samples is not None
            else " (sample names are native events: pass --provider)"
        )
    )


REQUEST_KEYS = frozenset({"method", "path", "headers", "query", "json", "body", "base64"})


def _check_request(spec: dict[str, Any]) -> None:
    """The request file's fields have the JSON types ``http_request`` takes (a wrong one was a
    traceback, or a body built from a dict's keys)."""

    def fits(key: str, value: Any) -> bool:
        strings = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        if key == "headers":
            return strings
        return isinstance(value, str) or (key == "query" and strings)

    keys = ("method", "path", "headers", "query", "body")
    wrong = [k for k in keys if spec.get(k) is not None and not fits(k, spec[k])]
    if wrong:
        raise ConfigurationError(
            f'request field "{wrong[0]}" of the --event file: "method", "path" and "body" are '
            'strings, "headers" an object of strings, "query" a string or an object of strings'
        )
    if spec.get("json") is not None and spec.get("body"):
        raise ConfigurationError('the --event request: give "json" or "body", not both')
    if spec.get("base64") not in (None, True, False):
        raise ConfigurationError('request field "base64" of the --event file: true or false')


def _request_body(spec: dict[str, Any]) -> bytes | str:
    """The request file's ``body``: its text, or with ``"base64": true`` (as ``invoke`` writes
    a binary response body) the bytes it encodes, so a binary body can be sent."""
    body: str = spec.get("body") or ""
    if not spec.get("base64"):
        return body
    if spec.get("json") is not None:
        raise ConfigurationError('the --event request: "base64" goes with "body", not "json"')
    try:
        return base64.b64decode(body, validate=True)
    except ValueError as exc:  # binascii.Error, or a non-ASCII character
        raise ConfigurationError(f'the --event request: "body" is not base64 ({exc})') from exc


def _reached(app: App, method: str, path: str) -> str:
    """Which function a request reaches instead, for the refusal's message."""
    try:
        other, _ = app.match(method, path)
    except HTTPError:  # NotFound, MethodNotAllowed: none
        return "; no function takes it"
    return f"; it is a request for {other.name!r}"


def portable_value(app: App, function: str, raw: Any) -> Request | CloudEvent:
    fn = app.function(function)
    trigger = fn.trigger
    if isinstance(trigger, Http):
        spec = raw if isinstance(raw, dict) else {"json": raw}
        unknown = sorted(set(spec) - REQUEST_KEYS)
        if unknown:
            # Not silently dropped: `{"sku": "a"}` meant as the body sent an empty request.
            raise ConfigurationError(
                f"the --event file for HTTP function {function!r} is a request "
                '{"method", "path", "headers", "query", "json"|"body" (+"base64")}; unknown key(s) '
                + ", ".join(map(repr, unknown))
                + ' (put a JSON body under "json")'
            )
        _check_request(spec)
        path = spec.get("path") or trigger.path
        if "{" in path:
            raise ConfigurationError(
                f'give a concrete "path" for route {trigger.path!r} in the --event file'
            )
        request = http_request(
            spec.get("method") or trigger.methods[0],
            path,
            json=spec.get("json"),
            body=_request_body(spec),
            headers=spec.get("headers"),
            query=spec.get("query") or "",
        )
        try:
            _resolve(app, request, function)  # as the dispatch routes it to the function
        except HTTPError:
            # The handler would not run: a 404 or 405 reported as invoke's success read as the
            # function's own answer (the shop's POST /orders sample given to get_order).
            method = request.method
            raise ConfigurationError(
                f"the --event request's {method} {request.path} is not a request for "
                f"{function!r} ({'|'.join(trigger.methods)} {trigger.path})"
                + _reached(app, method, request.path)
            ) from None
        return request
    if isinstance(raw, dict) and "specversion" in raw:
        event = from_dict(raw)
    else:
        # Plain data for an event function takes the type (and source) it is routed by: any
        # other would be declined by its own filter.
        kind, source = f"{app.name}.{trigger.kind}", "/portable-fn/cli/invoke"
        if isinstance(trigger, Event):
            kind = kind if trigger.type.endswith("*") else trigger.type
            source = trigger.source or source
        elif isinstance(trigger, Storage) and isinstance(raw, dict):
            # Storage data always carries size and etag (event-mapping rule 4), None where
            # unknown: the data `_WANTED` asks for, given, must be data a handler can read.
            raw = {"size": None, "etag": None, **raw}
        event = CloudEvent.create(
            type=kind, source=source, data=raw, datacontenttype="application/json"
        )
    reason = declined(fn, event)
    if reason is not None:
        # Nothing would run: reported as a success, it read as one.
        raise ConfigurationError(
            f"the --event is one function {function!r} would not run ({reason}): "
            + _WANTED.get(trigger.kind, "give an event its trigger takes")
        )
    return event


_WANTED = {
    "storage": 'give the data {"bucket", "key", "action"} of an action it takes, or a '
    "storage CloudEvent",
    "event": "give a CloudEvent of a type (and source) it takes, or plain data",
}


def _response(resp: Response) -> dict[str, Any]:
    body: Any = resp.body.decode("utf-8") if resp.is_text else base64.b64encode(resp.body).decode()
    return {
        "status": resp.status,
        "headers": resp.headers.to_multi(),
        "body": body,
        "base64": not resp.is_text,
    }


def _azure_content_type(mimetype: str, charset: Any) -> str:
    """The Content-Type the Azure worker sends for a ``func.HttpResponse`` that names none: the
    ``mimetype``, with ``; charset=`` for a ``text/`` type only (azure-functions'
    ``HttpResponseConverter.encode``, azure/functions/http.py). A charset on every type showed
    ``application/octet-stream; charset=utf-8``, which the worker never sends."""
    if mimetype.startswith("text/") and charset:
        return f"{mimetype}; charset={charset}"
    return mimetype


def _native_plain(value: Any) -> Any:
    """A native result JSON cannot hold, for the report: an SDK's HTTP response object (Azure's
    ``func.HttpResponse``: ``status_code``, ``headers``, ``mimetype``, ``get_body()``) as the
    fields a portable response shows, header names lower-cased; anything else as its text."""
    status, get_body = getattr(value, "status_code", None), getattr(value, "get_body", None)
    if isinstance(status, int) and callable(get_body):
        body = get_body()
        headers = getattr(value, "headers", None)
        fields = {k.lower(): v for k, v in headers.items()} if headers is not None else {}
        mimetype = getattr(value, "mimetype", None)
        if isinstance(mimetype, str) and "content-type" not in fields:
            fields["content-type"] = _azure_content_type(mimetype, getattr(value, "charset", None))
        try:
            text: Any = body.decode("utf-8")
            binary = False
        except (AttributeError, UnicodeDecodeError):
            text, binary = base64.b64encode(bytes(body or b"")).decode(), True
        return {
            "status": status,
            "headers": fields,
            "body": text,
            "base64": binary,
        }
    return str(value)


def _published(recorder: RecordingPublisher) -> list[dict[str, Any]]:
    return [
        {
            "kind": p.kind,
            "name": p.name,
            "id": p.event.id,
            "type": p.event.type,
            "data": p.event.data,
        }
        for p in recorder.sent
    ]


@runtime_checkable
class NativeVerdict(Protocol):
    """What an adapter's harness offers to read its native result: why the platform would
    count the delivery as failed (a 5xx, a message listed in ``batchItemFailures``, one that
    was ``retry()``ed or dead-lettered), None when it succeeded. Optional: without it only a
    raised error counts as a failure, which is all a third-party adapter can promise."""

    def invoke_failure(self, app: App, function: str, result: Any) -> str | None: ...


def _native_failure(adapter: Any, app: App, function: str, result: Any) -> str | None:
    make = getattr(adapter, "harness", None)
    harness = make() if callable(make) else None
    if isinstance(harness, NativeVerdict):
        return harness.invoke_failure(app, function, result)
    return None


def _invoke_portable(app: App, function: str, value: Request | CloudEvent) -> Response | Outcome:
    """The function's response or outcome. A handler's ``sys.exit()`` fails its invocation,
    as Lambda fails one whose runtime exits (``Runtime.ExitError``): the dispatcher lets
    ``SystemExit`` through, and ``invoke`` exited with the handler's code, printing nothing."""
    try:
        with contextlib.redirect_stdout(sys.stderr):
            return invoke(app, function, value, provider="local")
    except SystemExit as exc:
        from portable_fn._local.delivery import HandlerExited  # asyncio: only on this path

        exited = HandlerExited(exc)
        print(f"portable-fn invoke: {exited}", file=sys.stderr)
        if isinstance(value, Request):
            return Response.json(
                {"error": {"status": 500, "message": "internal server error"}}, status=500
            )
        return Outcome(False, exited, True)


def run_invoke(app: App, function: str, event_ref: str, provider: str | None) -> int:
    recorder = RecordingPublisher()
    app.use_publisher(recorder)
    if provider is not None:
        from portable_fn import adapter as adapters

        adapter = adapters.load_adapter(provider)
        native = load_event(event_ref, adapter.sample_events())
        report: dict[str, Any] = {"provider": provider}
        try:
            with contextlib.redirect_stdout(sys.stderr):
                report["result"] = adapter.invoke(app, function, native)
                failed = _native_failure(adapter, app, function, report["result"])
            if failed is not None:
                # The adapter answered as the platform would to a failure (GCP's 500, a
                # Cloudflare retry()): the same exit as when it raises.
                report["failed"] = failed
        except ConfigurationError:
            raise  # a usage error (exit 2), not the function's failure
        except SystemExit as exc:  # the handler's sys.exit(): its invocation failed, not ours
            from portable_fn._local.delivery import HandlerExited  # asyncio: only on this path

            exited = HandlerExited(exc)
            report["raised"] = {"type": type(exited).__name__, "message": str(exited)}
        except Exception as exc:
            # How the platform learns of a failure where it retries the whole event (an
            # asynchronous Lambda event, an Azure invocation): reported, not a traceback. The
            # handler's error line on stderr has the stack.
            report["raised"] = {"type": type(exc).__name__, "message": str(exc)}
        report["published"] = _published(recorder)
        print(json.dumps(report, indent=2, default=_native_plain))
        return 1 if "raised" in report or "failed" in report else 0
    value = portable_value(app, function, load_event(event_ref))
    outcome = _invoke_portable(app, function, value)
    published = _published(recorder)
    if isinstance(outcome, Response):
        print(
            json.dumps(
                {"response": _response(outcome), "published": published}, indent=2, default=str
            )
        )
        return 1 if outcome.status >= 500 else 0
    # What a failure is to the platform (retried or dead-lettered) only where there is one.
    failure = {} if outcome.ok else {"retryable": outcome.retryable, "error": outcome.reason}
    print(
        json.dumps(
            {"ok": outcome.ok, **failure, "published": published}, indent=2, default=str
        )
    )
    return 0 if outcome.ok else 1
