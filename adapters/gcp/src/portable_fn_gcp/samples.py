# SPDX-License-Identifier: Apache-2.0
"""Sample native events (``portable-fn events gcp KIND``), shaped as Google's published samples
(googleapis/google-cloudevents ``examples/structured/``): structured-mode CloudEvent JSON, with
an order of the example shop as the Pub/Sub message; ``http`` is a request to an HTTP function;
``event`` is how an ``@app.event`` function of an application type gets its event: a message on
the app's bus topic carrying it in the Pub/Sub binding's binary mode
(googleapis/google-cloudevents ``docs/spec/pubsub.md``), as ``pf.emit`` publishes it."""

from __future__ import annotations

from typing import Any

__all__ = ["SAMPLES"]

SAMPLES: dict[str, dict[str, Any]] = {
    # An HTTP function is served by functions-framework: the request as ``adapter.invoke``
    # takes it (path, method, headers, body), sent to the function's own URL.
    "http": {
        "method": "POST",
        "path": "/orders",
        "headers": {"content-type": "application/json"},
        "body": '{"sku": "book"}',
    },
    "pubsub": {
        "specversion": "1.0",
        "id": "3103425958877813",
        "source": "//pubsub.googleapis.com/projects/test-project/topics/my-topic",
        "type": "google.cloud.pubsub.topic.v1.messagePublished",
        "time": "2021-02-05T04:06:14.109Z",
        "datacontenttype": "application/json",
        "data": {
            "message": {
                "attributes": {"attr1": "attr1-value"},
                "data": "eyJpZCI6ICJvLTEiLCAic2t1IjogImJvb2sifQ==",  # {"id": "o-1", "sku": "book"}
                "messageId": "message-id",
                "publishTime": "2021-02-05T04:06:14.109Z",
            },
            "subscription": "projects/test-project/subscriptions/my-subscription",
        },
    },
    "event": {
        "specversion": "1.0",
        "id": "3103425958877820",
        "source": "//pubsub.googleapis.com/projects/test-project/topics/shop-events",
        "type": "google.cloud.pubsub.topic.v1.messagePublished",
        "time": "2021-02-05T04:06:14.109Z",
        "datacontenttype": "application/json",
        "data": {
            "message": {
                "attributes": {
                    "ce-specversion": "1.0",
                    "ce-id": "A234-1234-1234",
                    "ce-type": "com.example.invoice.paid",
                    "ce-source": "/billing/invoices",
                    "ce-time": "2021-02-05T04:06:14.001Z",
                    "content-type": "application/json",
                },
                # {"invoice_id": "inv-9", "amount": "19.99"}
                "data": "eyJpbnZvaWNlX2lkIjogImludi05IiwgImFtb3VudCI6ICIxOS45OSJ9",
                "messageId": "3103425958877820",
                "publishTime": "2021-02-05T04:06:14.109Z",
            },
            "subscription": "projects/test-project/subscriptions/invoice-paid",
        },
    },
    "storage": {
        "specversion": "1.0",
        "id": "1234567",
        "source": "//storage.googleapis.com/projects/_/buckets/uploads",
        "type": "google.cloud.storage.object.v1.finalized",
        "subject": "objects/folder/Test.cs",
        "time": "2020-04-23T07:38:57.230Z",
        "datacontenttype": "application/json",
        "data": {
            "bucket": "uploads",  # the shop's bucket, as every sample is shaped for it
            "name": "folder/Test.cs",
            "contentType": "text/plain",
            "etag": "CNHZkbuF/ugCEAE=",
            "generation": "1587627537231057",
            "size": "352",
            "timeCreated": "2020-04-23T07:38:57.230Z",
        },
    },
    "scheduler": {
        "specversion": "1.0",
        "id": "7d3e1a9e-0000-4000-8000-000000000001",
        "source": (
            "//cloudscheduler.googleapis.com/projects/test-project/locations/us-central1/jobs/nightly"
        ),
        "type": "google.cloud.scheduler.job.v1.executed",
        "time": "2021-02-05T03:00:00Z",
        "datacontenttype": "application/json",
        "data": {"customData": ""},
    },
}
