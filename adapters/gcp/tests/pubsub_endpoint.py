# SPDX-License-Identifier: Apache-2.0
"""A minimal Pub/Sub Publish endpoint on 127.0.0.1 speaking the real gRPC wire protocol.

No Google emulator binary can be installed here, so this servicer stands in for it: it serves
``google.pubsub.v1.Publisher/Publish`` with the ``PublishRequest``/``PublishResponse`` messages
that ship in google-cloud-pubsub, over a real grpcio server. google-cloud-pubsub's
``PublisherClient`` reaches it through ``PUBSUB_EMULATOR_HOST`` exactly as it reaches the real
emulator. It records what arrives; it does not store or deliver messages.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Received:
    topic: str
    data: bytes
    attributes: dict[str, str]
    ordering_key: str
    message_id: str


class PublishEndpoint:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server: Any = None
        self.port = 0

    def start(self) -> None:
        import grpc
        from google.pubsub_v1.types import PublishRequest, PublishResponse

        def publish(request: Any, context: Any) -> Any:
            ids = []
            with self._lock:
                for message in request.messages:
                    message_id = str(len(self.received) + 1)
                    self.received.append(
                        Received(
                            topic=request.topic,
                            data=bytes(message.data),
                            attributes=dict(message.attributes),
                            ordering_key=message.ordering_key,
                            message_id=message_id,
                        )
                    )
                    ids.append(message_id)
            return PublishResponse(message_ids=ids)

        handler = grpc.method_handlers_generic_handler(
            "google.pubsub.v1.Publisher",
            {
                "Publish": grpc.unary_unary_rpc_method_handler(
                    publish,
                    request_deserializer=PublishRequest.deserialize,
                    response_serializer=PublishResponse.serialize,
                )
            },
        )
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers((handler,))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None).wait()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def wait_for(self, predicate: Any, timeout: float = 15.0) -> Received:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for item in self.received:
                    if predicate(item):
                        return item
            time.sleep(0.05)
        raise AssertionError(f"no matching message arrived; got {self.received!r}")

    def __iter__(self) -> Iterator[Received]:
        with self._lock:
            return iter(list(self.received))
