"""uvicorn's HTTP protocol with its own errors as JSON, and a limit on the request head.

A request its parser cannot read (RFC 9112 section 3: a request line or header field it cannot
parse, a raw non-ASCII byte in the target) is answered by uvicorn itself, before any app
code, as ``text/plain`` "Invalid HTTP request received.". Every other error of the local
server is a JSON body, and clients written against it parse one: this subclass writes
the same 400 with a JSON body instead, and with httptools also refuses what h11 refuses in its
parser: an HTTP/1.1 request without one Host header.

The request line and header lines may be at most ``MAX_HEAD_BYTES`` (a JSON 431 past it, and
the connection closed), whichever parser is installed: httptools had no limit at all (a 200 MiB
header line was read into memory), h11 its own 16 KiB, answered as a 400. uvicorn is imported
only when ``portable-fn dev`` runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

BODY = b'{"error":{"status":400,"message":"invalid HTTP request"}}'
_CLASSES = {"httptools": "HttpToolsProtocol", "h11": "H11Protocol"}

# The request line and header lines (each with its CRLF) a request may have: AWS API Gateway's
# HTTP API refuses more than 10240 bytes of "request line and header values", a quota that
# cannot be raised (https://docs.aws.amazon.com/apigateway/latest/developerguide/
# http-api-quotas.html), the smallest of the targets (Cloudflare Workers take 128 KB of
# headers). Counted here with the names and separators, a little stricter than AWS: what is
# served here is served there.
MAX_HEAD_BYTES = 10_240
TOO_LARGE = (
    b'{"error":{"status":431,"message":"the request line and headers are larger than '
    + str(MAX_HEAD_BYTES).encode()
    + b' bytes, the limit of an AWS API Gateway HTTP API"}}'
)


def head_size(method: bytes, target: bytes, headers: Iterable[tuple[bytes, bytes]]) -> int:
    """Bytes of a request line (``HTTP/1.1`` as its version) and header lines, with CRLFs."""
    size = len(method) + len(target) + len(b"  HTTP/1.1\r\n")
    return size + sum(len(name) + len(value) + 4 for name, value in headers)  # ": ", CRLF


def settings(name: str) -> dict[str, Any]:
    """uvicorn ``Config`` settings for its parser ``name`` ("httptools" or "h11"): the protocol
    class below, and h11's limit on a head still incomplete (its ``max_incomplete_event_size``,
    16 KiB by default) at ``MAX_HEAD_BYTES``."""
    return {"http": with_json_400(name), "h11_max_incomplete_event_size": MAX_HEAD_BYTES}


def with_json_400(name: str) -> Any:
    """The protocol class for uvicorn's ``http=`` setting ``name`` ("httptools" or "h11"), its
    parser errors answered in JSON and its request heads limited; ``name`` itself when this
    uvicorn is built otherwise (its own text 400 is still an answer, so the server runs as
    before)."""
    module = importlib.import_module(f"uvicorn.protocols.http.{name}_impl")
    base = getattr(module, _CLASSES[name], None)
    if base is None or not callable(getattr(base, "send_400_response", None)):
        return name

    class JsonErrors(base):  # type: ignore[misc,valid-type]
        head_too_large = False  # the parser error to answer is a head past MAX_HEAD_BYTES

        def send_400_response(self, msg: str) -> None:
            # Written whole and the connection closed, as uvicorn's own does: the parser is in
            # an error state and no later byte of this connection is read.
            if self.head_too_large:
                self.send_json(b"431 Request Header Fields Too Large", TOO_LARGE)
            else:
                self.send_json(b"400 Bad Request", BODY)

        def send_json(self, status: bytes, body: bytes) -> None:
            head = [b"HTTP/1.1 " + status + b"\r\n"]
            for header, value in getattr(self.server_state, "default_headers", ()):
                head.append(header + b": " + value + b"\r\n")  # date, server: as on any answer
            head.append(
                b"content-type: application/json\r\ncontent-length: "
                + str(len(body)).encode("ascii")
                + b"\r\nconnection: close\r\n\r\n"
            )
            self.transport.write(b"".join(head) + body)
            self.transport.close()

    protocol: Any = JsonErrors
    if name == "httptools":

        class Limited(JsonErrors):
            # Bytes received of the head being parsed (or awaited: a connection starts with
            # one, and one follows each request); None from its end to its message's end (a
            # body is limited elsewhere).
            head_bytes: int | None = 0
            completed = 0  # requests parsed whole on this connection

            def data_received(self, data: bytes) -> None:
                # llhttp has no limit of its own (Node counts the bytes in its callbacks), and
                # httptools joins a header's pieces before it hands over the header: the bytes
                # are counted as they arrive, so a head that never ends is refused within a
                # read past the limit, not buffered for ever.
                completed = self.completed
                super().data_received(data)
                if self.head_bytes is None or self.transport.is_closing():
                    return
                if self.completed == completed:  # the whole read belongs to this head
                    self.head_bytes += len(data)
                # else: this head began inside the read, after the end of a request, at a point
                # the parser does not say; the next reads count, and on_headers_complete sees
                # the head whole.
                if self.head_bytes > MAX_HEAD_BYTES:
                    self.logger.warning("Invalid HTTP request received.")  # as for a 400
                    self.head_too_large = True
                    self.send_400_response("request head too large")

            def on_message_complete(self) -> None:
                self.completed += 1
                self.head_bytes = 0
                super().on_message_complete()

            def on_headers_complete(self) -> None:
                self.head_bytes = None
                import httptools

                # The head as a whole, which one read can bring with its end (the count in
                # data_received sees only what is still incomplete after a read).
                if head_size(self.parser.get_method(), self.url, self.headers) > MAX_HEAD_BYTES:
                    self.head_too_large = True
                    raise httptools.HttpParserError("request head too large")
                # RFC 9112 section 3.2: a server MUST answer 400 to an HTTP/1.1 request without
                # a Host header or with two. h11 refuses it in its parser; httptools (the one
                # CPython installs) served it, so the same request got 200 or 400 by which
                # parser was installed. Raised here, it takes the parser's own 400 path.
                hosts = sum(1 for header, _ in self.headers if header == b"host")
                if hosts > 1 or (not hosts and self.parser.get_http_version() == "1.1"):
                    raise httptools.HttpParserError("an HTTP/1.1 request needs one Host header")
                super().on_headers_complete()

        protocol = Limited
    else:
        import h11

        class Connection(h11.Connection):
            """h11's connection, refusing a whole head past the limit too: its own
            ``max_incomplete_event_size`` counts only a head still incomplete after a read,
            and one read can bring a whole head. ``refused`` keeps the status h11 suggests for
            the request it refused (431: "Receive buffer too long"), which uvicorn drops."""

            refused: int | None = None

            def next_event(self) -> Any:
                try:
                    event = super().next_event()
                    if isinstance(event, h11.Request) and (
                        head_size(event.method, event.target, event.headers) > MAX_HEAD_BYTES
                    ):
                        raise h11.RemoteProtocolError(
                            "request head too large", error_status_hint=431
                        )
                except h11.RemoteProtocolError as exc:
                    self.refused = exc.error_status_hint
                    raise
                return event

        class LimitedH11(JsonErrors):
            conn: Connection

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self.conn = Connection(h11.SERVER, self.conn._max_incomplete_event_size)

            def send_400_response(self, msg: str) -> None:
                self.head_too_large = self.conn.refused == 431
                super().send_400_response(msg)

        protocol = LimitedH11
    protocol.__name__ = protocol.__qualname__ = f"JsonErrors{base.__name__}"
    return protocol
