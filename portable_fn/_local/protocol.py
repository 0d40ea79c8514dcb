"""uvicorn's HTTP protocol with its own 400 as JSON.

A request its parser cannot read (RFC 9112 section 3: a request line or header field it cannot
parse, a URL past its limit, a raw non-ASCII byte in the target) is answered by uvicorn itself,
before any app code, as ``text/plain`` "Invalid HTTP request received.". Every other error of
the local server is a JSON body, and clients written against it parse one: this subclass writes
the same 400 with a JSON body instead, and with httptools also refuses what h11 refuses in its
parser: an HTTP/1.1 request without one Host header. uvicorn is imported only when
``portable-fn dev`` runs.
"""

from __future__ import annotations

import importlib
from typing import Any

BODY = b'{"error":{"status":400,"message":"invalid HTTP request"}}'
_CLASSES = {"httptools": "HttpToolsProtocol", "h11": "H11Protocol"}


def with_json_400(name: str) -> Any:
    """The protocol class for uvicorn's ``http=`` setting ``name`` ("httptools" or "h11"), its
    parser errors answered in JSON; ``name`` itself when this uvicorn is built otherwise (its
    own text 400 is still an answer, so the server runs as before)."""
    module = importlib.import_module(f"uvicorn.protocols.http.{name}_impl")
    base = getattr(module, _CLASSES[name], None)
    if base is None or not callable(getattr(base, "send_400_response", None)):
        return name

    class JsonErrors(base):  # type: ignore[misc,valid-type]
        def send_400_response(self, msg: str) -> None:
            # Written whole and the connection closed, as uvicorn's own does: the parser is in
            # an error state and no later byte of this connection is read.
            head = [b"HTTP/1.1 400 Bad Request\r\n"]
            for header, value in getattr(self.server_state, "default_headers", ()):
                head.append(header + b": " + value + b"\r\n")  # date, server: as on any answer
            head.append(
                b"content-type: application/json\r\ncontent-length: "
                + str(len(BODY)).encode("ascii")
                + b"\r\nconnection: close\r\n\r\n"
            )
            self.transport.write(b"".join(head) + BODY)
            self.transport.close()

    protocol: Any = JsonErrors
    if name == "httptools":

        class OneHost(JsonErrors):
            def on_headers_complete(self) -> None:
                # RFC 9112 section 3.2: a server MUST answer 400 to an HTTP/1.1 request without
                # a Host header or with two. h11 refuses it in its parser; httptools (the one
                # CPython installs) served it, so the same request got 200 or 400 by which
                # parser was installed. Raised here, it takes the parser's own 400 path.
                hosts = sum(1 for header, _ in self.headers if header == b"host")
                if hosts > 1 or (not hosts and self.parser.get_http_version() == "1.1"):
                    import httptools

                    raise httptools.HttpParserError("an HTTP/1.1 request needs one Host header")
                super().on_headers_complete()

        protocol = OneHost
    protocol.__name__ = protocol.__qualname__ = f"JsonErrors{base.__name__}"
    return protocol
