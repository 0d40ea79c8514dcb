# SPDX-License-Identifier: Apache-2.0
"""Identity-based connections: no connection string, only the settings the host reads instead
(https://learn.microsoft.com/azure/azure-functions/functions-reference
#configure-an-identity-based-connection).

Storage Queues are proven against a real server: Azurite over HTTPS with ``--oauth basic``
(``azurite_oauth`` in conftest), which takes a bearer token only if its issuer, audience and
lifetime are right (not its signature). The credential azure-identity would give is replaced by
:class:`Token`, which hands out such a JWT and records the scopes asked for: there is no Entra
ID here. Event Grid is proven against an HTTPS stand-in on 127.0.0.1 (no emulator), which
records the bearer token the real azure-eventgrid client sends. Service Bus has no emulator
here: its client is constructed and inspected, not used.
"""

from __future__ import annotations

import base64
import json
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from portable_fn import App
from portable_fn.errors import NonRetryable, PublishError
from portable_fn.events import CloudEvent

from portable_fn_azure import AzureOptions, _identity, function_app, worker
from portable_fn_azure.publisher import AzurePublisher, move_to_poison, queue_client


def _b64(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()


def jwt(audience: str, issuer: str = "https://sts.windows.net/00000000-0000-0000-0000-0000000000aa/"
        ) -> str:
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {"aud": audience, "iss": issuer, "iat": now - 60, "nbf": now - 60, "exp": now + 3600}
    return ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()),
                     _b64(b"unsigned: Azurite's basic check skips the signature")])


class Token:
    """Stands in for an azure-identity credential class: records how it was made and the
    scopes asked for; its token carries ``audience``."""

    audience = "https://storage.azure.com"
    made: list[Token] = []  # noqa: RUF012 (reset by the fixture)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs
        self.scopes: list[str] = []
        Token.made.append(self)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(jwt(self.audience), int(time.time()) + 3600)


class Default(Token):
    pass


class Managed(Token):
    pass


class Secret(Token):
    pass


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Token]]:
    """azure.identity's credential classes, replaced: what the publisher makes is recorded."""
    import azure.identity

    Token.made = []
    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", Default)
    monkeypatch.setattr(azure.identity, "ManagedIdentityCredential", Managed)
    monkeypatch.setattr(azure.identity, "ClientSecretCredential", Secret)
    yield Token.made


def _event(**data: Any) -> CloudEvent:
    return CloudEvent.create(type="com.example.job", source="/jobs", data=data)


# -- Storage Queues, against Azurite with OAuth -----------------------------------------------


def test_send_with_identity_settings_only_puts_the_message(
        azurite_oauth: Any, credentials: list[Token], monkeypatch: pytest.MonkeyPatch) -> None:
    """Before identity-based connections, this send failed: "app setting AzureWebJobsStorage is
    not set". Azurite received a bearer token asked for the storage scope, and took it."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(azurite_oauth.cert))
    queue = f"jobs-{uuid.uuid4().hex[:8]}"
    publisher = AzurePublisher(env={
        "AzureWebJobsStorage__queueServiceUri": azurite_oauth.queue_url})
    event = _event(n=1)
    publisher.send(queue, event)
    publisher.send(queue, _event(n=2))
    [credential] = credentials  # one credential for the connection, reused
    assert isinstance(credential, Default)
    assert set(credential.scopes) == {"https://storage.azure.com/.default"}
    read = queue_client(azurite_oauth.connection, queue)  # the account key, over HTTPS
    bodies = [json.loads(m.content) for m in read.receive_messages(messages_per_page=32)]
    assert [b["id"] for b in bodies][:1] == [event.id]
    assert [b["data"] for b in bodies] == [{"n": 1}, {"n": 2}]


def test_azurite_refuses_a_token_for_another_audience(
        azurite_oauth: Any, credentials: list[Token], monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: Azurite really checks the token (else the test above proves nothing)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(azurite_oauth.cert))
    monkeypatch.setattr(Token, "audience", "https://vault.azure.net")
    publisher = AzurePublisher(env={
        "AzureWebJobsStorage__queueServiceUri": azurite_oauth.queue_url})
    with pytest.raises(PublishError, match="audience"):
        publisher.send(f"jobs-{uuid.uuid4().hex[:8]}", _event())


def test_non_retryable_goes_to_the_poison_queue_at_once_with_identity(
        azurite_oauth: Any, credentials: list[Token], monkeypatch: pytest.MonkeyPatch) -> None:
    """Before, the poison move needed the connection string and, without it, let the host
    spend every retry on a message that can never succeed. A second bad message reuses the
    poison queue's client and credential (each move built both, a token fetch per message)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(azurite_oauth.cert))
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    monkeypatch.setenv("AzureWebJobsStorage__queueServiceUri", azurite_oauth.queue_url)
    monkeypatch.setenv("AzureWebJobsStorage__credential", "managedidentity")
    queue = f"jobs-{uuid.uuid4().hex[:8]}"
    app = App("identity")
    seen: list[CloudEvent] = []

    @app.queue(queue, max_retries=2)
    def work(event: CloudEvent) -> None:
        if event.data.get("sku") == "never":
            raise NonRetryable("no such sku")
        seen.append(event)

    native = function_app(app)  # its publisher reads os.environ, as on Azure
    assert app.publisher is not None
    events = [CloudEvent.create(type="t", source="/s", data={"sku": "never"}) for _ in "ab"]
    for event in events:
        app.publisher.send(queue, event)
    read = queue_client(azurite_oauth.connection, queue)
    messages = list(read.receive_messages(visibility_timeout=30))
    assert len(messages) == 2
    sending = len(credentials)  # the publisher's own
    for message in messages:
        worker.invoke(native, "work", {
            "binding": "queueTrigger",
            "data": {"type": "bytes", "base64": base64.b64encode(message.content).decode()},
            "metadata": {"Id": message.id, "DequeueCount": 1, "PopReceipt": message.pop_receipt,
                         "InsertionTime": message.inserted_on.isoformat(),
                         "ExpirationTime": message.expires_on.isoformat(),
                         "NextVisibleTime": message.next_visible_on.isoformat()},
        })  # returns: acknowledged
    poison = queue_client(azurite_oauth.connection, f"{queue}-poison")
    poisoned = list(poison.receive_messages())
    assert sorted(json.loads(p.content)["id"] for p in poisoned) == sorted(e.id for e in events)
    assert seen == []
    assert len(credentials) == sending + 1  # one for the poison queue, whatever the count
    assert {type(c) for c in credentials} == {Managed}  # __credential, as the host reads it


# -- which URL and which credential (no server) -----------------------------------------------


@pytest.mark.parametrize(("settings", "url"), [
    ({"accountName": "acct"}, "https://acct.queue.core.windows.net"),
    ({"queueServiceUri": "https://q.example/"}, "https://q.example/"),
    ({"serviceUri": "https://s.example"}, "https://s.example"),
    # the host's order: accountName, then queueServiceUri, then the serviceUri alias
    ({"accountName": "acct", "queueServiceUri": "https://q.example"},
     "https://acct.queue.core.windows.net"),
    ({"serviceUri": "https://s.example", "queueServiceUri": "https://q.example"},
     "https://q.example"),
    ({"QUEUESERVICEURI": "https://q.example"}, "https://q.example"),  # keys ignore case
    ({"queueServiceUri": " "}, None),
    ({"blobServiceUri": "https://b.example"}, None),
])
def test_queue_service_url_is_read_as_the_host_reads_it(settings: dict[str, str],
                                                         url: str | None) -> None:
    env = {f"Jobs__{k}": v for k, v in settings.items()}
    assert _identity.queue_service_url(env, "Jobs") == url


@pytest.mark.parametrize(("settings", "kind", "kwargs"), [
    ({}, Default, {}),
    ({"credential": "managedidentity", "clientId": "cid"}, Managed, {"client_id": "cid"}),
    ({"credential": "ManagedIdentity"}, Managed, {"client_id": None}),  # system-assigned
    ({"tenantId": "t", "clientId": "cid", "clientSecret": "s"}, Secret, {}),
    ({"clientId": "cid"}, Default, {}),  # without __credential the host ignores a client id
])
def test_credential_is_chosen_as_the_host_chooses_it(
        credentials: list[Token], settings: dict[str, str], kind: type[Token],
        kwargs: dict[str, Any]) -> None:
    env = {f"Conn__{k}": v for k, v in settings.items()}
    made = _identity.credential(env, "Conn", "Conn")
    assert type(made) is kind
    assert made.kwargs == kwargs
    if kind is Secret:
        assert made.args == ("t", "cid", "s")


def test_connection_string_wins_over_identity_settings(credentials: list[Token]) -> None:
    from portable_fn_azure.publisher import _storage_queue_client

    client = _storage_queue_client({
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "AzureWebJobsStorage__accountName": "acct"}, "AzureWebJobsStorage", "jobs")
    assert client.account_name == "devstoreaccount1"
    assert credentials == []


def test_missing_azure_identity_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "azure.identity", None)
    publisher = AzurePublisher(env={"AzureWebJobsStorage__accountName": "acct"})
    with pytest.raises(ImportError, match=r"azure-identity.*portable-fn-azure\[identity\]") as e:
        publisher.send("jobs", _event())
    assert "AzureWebJobsStorage" in str(e.value) and "\n" not in str(e.value)


def test_neither_connection_string_nor_identity_names_both() -> None:
    with pytest.raises(PublishError, match="AzureWebJobsStorage__queueServiceUri"):
        AzurePublisher(env={}).send("jobs", _event())
    with pytest.raises(PublishError, match="ServiceBusConnection__fullyQualifiedNamespace"):
        AzurePublisher(env={}).publish("news", _event())


def test_poison_move_without_any_setting_lets_the_host_retry() -> None:
    class Message:
        def get_body(self) -> bytes:
            return b"{}"

    error = NonRetryable("no")
    with pytest.raises(NonRetryable):
        move_to_poison(AzureOptions(), "jobs", Message(), error, env={})


# -- Service Bus: construction only (no emulator here) ----------------------------------------


@pytest.mark.parametrize("queues", ["servicebus", "storage"])
def test_servicebus_client_is_built_on_the_namespace_and_credential(
        credentials: list[Token], monkeypatch: pytest.MonkeyPatch, queues: Any) -> None:
    """No Service Bus emulator runs here: the real ServiceBusClient is built from
    ``__fullyQualifiedNamespace`` and the credential, and stopped before it connects."""
    from azure.servicebus import ServiceBusClient

    class Stop(Exception):
        pass

    def refuse(self: Any, entity: str, **kwargs: Any) -> Any:
        raise Stop(entity)

    monkeypatch.setattr(ServiceBusClient, "get_queue_sender", refuse)
    monkeypatch.setattr(ServiceBusClient, "get_topic_sender", refuse)
    publisher = AzurePublisher(AzureOptions(queues=queues), env={
        "ServiceBusConnection__fullyQualifiedNamespace": "shop.servicebus.windows.net",
        "ServiceBusConnection__credential": "managedidentity",
        "ServiceBusConnection__clientId": "11111111-2222-3333-4444-555555555555"})
    with pytest.raises(PublishError, match="refused"):
        if queues == "servicebus":
            publisher.send("orders", _event())
        else:
            publisher.publish("order-events", _event())
    client = publisher._clients[("servicebus", "")]
    assert isinstance(client, ServiceBusClient)
    assert client.fully_qualified_namespace == "shop.servicebus.windows.net"
    [credential] = credentials
    assert isinstance(credential, Managed)
    assert credential.kwargs == {"client_id": "11111111-2222-3333-4444-555555555555"}
    assert client._credential is credential  # private: the SDK exposes no accessor


# -- Event Grid: the key if set, else a bearer token (HTTPS stand-in) -------------------------


@pytest.fixture
def https_topic(tls_cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                ) -> Iterator[tuple[str, list[dict[str, str]]]]:
    received: list[dict[str, str]] = []

    class Topic(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            received.append(dict(self.headers))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    cert, key = tls_cert
    server = HTTPServer(("127.0.0.1", 0), Topic)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_port}/api/events", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_event_grid_without_a_key_sends_a_bearer_token(
        https_topic: Any, credentials: list[Token], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Token, "audience", "https://eventgrid.azure.net")
    url, received = https_topic
    publisher = AzurePublisher(AzureOptions(topics="eventgrid"), env={
        "EVENTGRID_ORDER_EVENTS_ENDPOINT": url, "EVENTGRID_ORDER_EVENTS_KEY": "",
        "EVENTGRID_ORDER_EVENTS__credential": "managedidentity",
        "EVENTGRID_ORDER_EVENTS__clientId": "cid"})
    publisher.publish("order-events", _event())
    [headers] = received
    [credential] = credentials
    assert isinstance(credential, Managed) and credential.kwargs == {"client_id": "cid"}
    assert credential.scopes == ["https://eventgrid.azure.net/.default"]
    assert headers["Authorization"].startswith("Bearer ey")
    assert "aeg-sas-key" not in headers


def test_event_grid_key_is_used_when_set(https_topic: Any, credentials: list[Token]) -> None:
    url, received = https_topic
    AzurePublisher(env={"EVENTGRID_BUS_ENDPOINT": url, "EVENTGRID_BUS_KEY": "k"}).emit(_event())
    [headers] = received
    assert headers["aeg-sas-key"] == "k" and "Authorization" not in headers
    assert credentials == []


def test_real_azure_identity_classes_build_the_client_without_a_request() -> None:
    """Unpatched: the real credential classes are made (they ask for no token until a send)."""
    from portable_fn_azure.publisher import _storage_queue_client

    client = _storage_queue_client({"Jobs__accountName": "acct", "Jobs__credential":
                                    "managedidentity", "Jobs__clientId": "cid"}, "Jobs", "q")
    assert client.url == "https://acct.queue.core.windows.net/q"
    assert type(client.credential).__name__ == "ManagedIdentityCredential"
    assert type(_identity.credential({}, "Jobs", "Jobs")).__name__ == "DefaultAzureCredential"
