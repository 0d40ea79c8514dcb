# SPDX-License-Identifier: Apache-2.0
"""The contract-suite harness: portable values -> the invocation the Functions host would send
-> the generated function, run as the worker runs it -> back to portable values.

Routing happens in the host, before the worker: a request that matches no route, or a route
with another method, reaches the app's catch-all function (``portable_fn_fallback``), as on
Azure. Messages go one per invocation (Azure has no batches for queues, topics and Event Grid),
so a failure is that message's alone; Event Hubs delivers one batch and fails it whole.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlencode

from portable_fn.errors import HTTPError
from portable_fn.events import CloudEvent, format_time, to_dict, to_json
from portable_fn.http import Headers, Request, Response
from portable_fn.testing import harness_function, offline
from portable_fn.triggers import Event, Queue, Stream, Topic

from portable_fn_azure._functionapp import FALLBACK
from portable_fn_azure.options import subscription_name
from portable_fn_azure.publisher import STRUCTURED

if TYPE_CHECKING:
    from portable_fn.app import App

    from portable_fn_azure.adapter import AzureAdapter

__all__ = ["AzureHarness", "blob_event", "http_invocation", "message_invocation"]

ACCOUNT_SOURCE = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/portable-fn/providers/"
    "Microsoft.Storage/storageAccounts/portablefn"
)


def http_invocation(request: Request, params: Mapping[str, str]) -> dict[str, Any]:
    """The host's RpcHttp for a request: repeated headers joined with ", " (as ASP.NET Core
    does), the path percent-encoded in the URL (as the host prints it), the query both in the URL
    and, last value wins, in ``query``; the client's address, if any, as the front end's
    ``X-Forwarded-For`` (``ip:port``)."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    if request.client_ip:
        hop = f"[{request.client_ip}]" if ":" in request.client_ip else request.client_ip
        headers["x-forwarded-for"] = f"{hop}:52314"
    pairs = request.query.items()
    url = "https://portable-fn.azurewebsites.net" + quote(request.path)
    if pairs:
        url += "?" + urlencode(pairs)
    return {
        "binding": "httpTrigger",
        "data": {"type": "http", "value": {
            "method": request.method, "url": url, "headers": headers,
            "query": dict(pairs), "params": dict(params),
            "body": {"type": "bytes", "base64": base64.b64encode(request.body).decode()},
        }},
    }


def message_invocation(kind: str, event: CloudEvent, attempt: int = 1) -> dict[str, Any]:
    """How an event that ``pf.send``/``pf.publish`` wrote reaches a queue or topic function."""
    now = format_time(datetime.now(timezone.utc))
    body = to_json(event).decode()
    if kind == "queueTrigger":
        return {"binding": kind, "data": {"type": "string", "value": body}, "metadata": {
            "Id": event.id, "DequeueCount": attempt, "InsertionTime": now,
            "ExpirationTime": now, "NextVisibleTime": now, "PopReceipt": "AgAAAAMAAAAAAAAA"}}
    return {"binding": "serviceBusTrigger", "data": {"type": "string", "value": body},
            "metadata": {"MessageId": event.id, "DeliveryCount": attempt,
                         "EnqueuedTimeUtc": now, "ContentType": STRUCTURED,
                         "SequenceNumber": 1, "LockToken": "00000000-0000-0000-0000-000000000001",
                         "UserProperties": {}, "ApplicationProperties": {}}}


def blob_event(*, container: str, key: str, size: int, etag: str,
               action: Literal["created", "deleted"]) -> dict[str, Any]:
    """An Event Grid schema blob event, shaped as in event-schema-blob-storage.md."""
    data: dict[str, Any] = {
        "api": "PutBlob" if action == "created" else "DeleteBlob",
        "requestId": "4c2359fe-001e-00ba-0e04-585868000000",
        "eTag": etag, "contentType": "application/octet-stream", "blobType": "BlockBlob",
        "url": f"https://portablefn.blob.core.windows.net/{container}/{key}",
        "sequencer": "00000000000004420000000000028963",
        "storageDiagnostics": {"batchId": "b68529f3-68cd-4744-baa4-3c0498ec19f0"},
    }
    if action == "created":
        data["contentLength"] = size
    return {
        "topic": ACCOUNT_SOURCE,
        "subject": f"/blobServices/default/containers/{container}/blobs/{key}",
        "eventType": "Microsoft.Storage.BlobCreated" if action == "created"
        else "Microsoft.Storage.BlobDeleted",
        "eventTime": format_time(datetime.now(timezone.utc)),
        "id": f"{container}-{key}-{etag}-{action}",
        "data": data, "dataVersion": "", "metadataVersion": "1",
    }


def _response(native: Any) -> Response:
    from portable_fn_azure.worker import encode_http_return

    # What the worker hands the host: status, headers and body as Datums, cookies apart.
    value = encode_http_return(native).value
    # An empty content type is no header: the host sets it as the reply's ContentType, which
    # ASP.NET Core removes for an empty value (http.to_native).
    pairs = [(name, datum.value) for name, datum in value["headers"].items()
             if datum.value or name.lower() != "content-type"]
    for cookie in value.get("cookies") or []:
        pairs.extend(("set-cookie", morsel.OutputString()) for morsel in cookie.values())
    return Response(status=int(value["status_code"].value), headers=Headers(pairs),
                    body=value["body"].value or b"")


class AzureHarness:
    provider = "azure"

    def __init__(self, adapter: AzureAdapter) -> None:
        self._adapter = adapter

    def dead_letters(self, app: App) -> dict[str, str]:
        """Where each queue and topic function's failed messages end up: a Storage Queue's
        ``<queue>-poison`` (functions-bindings-storage-queue-trigger#poison-messages), a Service
        Bus entity's ``$deadletterqueue`` (service-bus-dead-letter-queues), one subscription per
        function, named as ``_register_events`` creates it (``subscription_name``). Event Grid
        dead-letters to a blob container only when one is configured, so it has no entry."""
        options, out = self._adapter.options, {}
        for name, fn in app.functions.items():
            t = fn.trigger
            if isinstance(t, Queue):
                out[name] = (f"{t.name}-poison" if options.queues == "storage"
                             else f"{t.name}/$deadletterqueue")
            elif isinstance(t, Topic) and options.topics == "servicebus":
                # The subscription the package creates (subscription_name), not the name cut to
                # 50 characters: the two differ for a long name or one ending in "_".
                out[name] = (f"{t.name}/Subscriptions/{subscription_name(name)}"
                             "/$deadletterqueue")
        return out

    def invoke_failure(self, app: App, function: str, result: Any) -> str | None:
        """Why ``AzureAdapter.invoke``'s result is a failure, else None. A failed event
        invocation raises, as the host sees it; an HTTP function's ``HttpResponse`` fails on a
        5xx status (https://learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-output)."""
        status = getattr(result, "status_code", None)
        if isinstance(status, int) and status >= 500:
            return f"HTTP {status}"
        return None

    def _run(self, app: App, function: str, invocation: Any) -> bool:
        try:
            self._adapter.invoke(app, function, invocation)
        except Exception:  # the invocation failed: the host redelivers
            return False
        return True

    def http(self, app: App, request: Request) -> Response:
        try:
            function, params = app.match(request.method, request.path)
            name = function.name
        except HTTPError:
            name, params = FALLBACK, {}
        with offline(app):
            return _response(self._adapter.invoke(app, name, http_invocation(request, params)))

    def deliver(self, app: App, function: str, events: Sequence[CloudEvent]) -> list[bool]:
        trigger = harness_function(app, function, "deliver").trigger
        if not events:
            return []
        with offline(app):
            return self._deliver(app, function, trigger, events)

    def _deliver(
        self, app: App, function: str, trigger: Any, events: Sequence[CloudEvent]
    ) -> list[bool]:
        options = self._adapter.options
        if isinstance(trigger, Stream):
            ok = self._run(app, function, _eventhub_batch(events))
            return [ok] * len(events)
        if isinstance(trigger, Event) or (
                isinstance(trigger, Topic) and options.topics == "eventgrid"):
            return [self._run(app, function, {"binding": "eventGridTrigger",
                                              "data": {"type": "json", "value": to_dict(e)}})
                    for e in events]
        if isinstance(trigger, Queue) and options.queues == "storage":
            return [self._run(app, function, message_invocation("queueTrigger", e))
                    for e in events]
        return [self._run(app, function, message_invocation("serviceBusTrigger", e))
                for e in events]

    def schedule(self, app: App, function: str, scheduled_time: datetime) -> None:
        harness_function(app, function, "schedule")
        due = format_time(scheduled_time)
        status = {"Last": format_time(scheduled_time - timedelta(days=1)), "Next": due,
                  "LastUpdated": due}
        # An occurrence long gone runs as the host runs one it missed: past due (else it reads
        # as a manual run on a stale status, timer.scheduled_time).
        past_due = scheduled_time < datetime.now(timezone.utc) - timedelta(minutes=1)
        with offline(app):
            self._adapter.invoke(app, function, {"binding": "timerTrigger", "data": {
                "type": "json", "value": {"Schedule": {"AdjustForDST": True},
                                          "ScheduleStatus": status, "IsPastDue": past_due}}})

    def storage(self, app: App, function: str, *, bucket: str, key: str, size: int, etag: str,
                action: Literal["created", "deleted"]) -> None:
        harness_function(app, function, "storage")
        if self._adapter.options.storage_events == "blob":
            if action == "deleted":
                return  # the blob trigger never fires on deletion (reported by findings)
            invocation: dict[str, Any] = {
                "binding": "blobTrigger", "data": {"type": "bytes", "base64": ""},
                "metadata": {"BlobTrigger": f"{bucket}/{key}",
                             "Uri": f"https://portablefn.blob.core.windows.net/{bucket}/{key}",
                             "Properties": {"ContentLength": size, "ETag": f'"{etag}"',
                                            "ContentType": "application/octet-stream"}}}
        else:
            invocation = {"binding": "eventGridTrigger", "data": {"type": "json", "value": (
                blob_event(container=bucket, key=key, size=size, etag=etag, action=action))}}
        with offline(app):
            self._adapter.invoke(app, function, invocation)


def _eventhub_batch(events: Sequence[CloudEvent]) -> dict[str, Any]:
    now = format_time(datetime.now(timezone.utc))
    props = [{"EnqueuedTimeUtc": now, "SequenceNumber": i, "Offset": str(i * 100),
              "PartitionKey": None} for i, _ in enumerate(events)]
    return {"binding": "eventHubTrigger",
            "data": {"type": "collection_string", "value": [to_json(e).decode() for e in events]},
            "metadata": {"SystemPropertiesArray": props,
                         "PartitionContext": {"PartitionId": "0", "EventHubName": "stream"}}}
