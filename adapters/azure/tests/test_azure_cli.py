# SPDX-License-Identifier: Apache-2.0
"""``portable-fn inspect`` through the Azure adapter names the poison queue the Functions host
moves a message to after its last attempt: ``<queue>-poison`` on Storage Queues, the default
(https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#poison-messages)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from portable_fn.cli import main

SHOP = str(Path(__file__).resolve().parents[3] / "examples" / "shop" / "app.py")


def test_inspect_names_the_poison_queue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", SHOP, "--json"]) == 0
    dead = json.loads(capsys.readouterr().out)["dead_letters"]
    assert dead["azure"]["fulfil"] == "fulfilment-poison"


def test_invoke_with_another_triggers_sample_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The worker would hand a queue trigger a ServiceBusMessage and the handler's first read
    # would raise AttributeError, reported as the function's failure (exit 1).
    argv = ["invoke", SHOP, "fulfil", "--provider", "azure", "--event", "servicebus"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("portable-fn invoke: ") and "queueTrigger" in err
    assert "samples for it: queue" in err


@pytest.mark.parametrize(
    ("kind", "phrase"),
    [("eventgrid", "an eventGridTrigger invocation"), ("eventhub", "an eventHubTrigger invocation"),
     ("timer", "a timerTrigger invocation")],
)
def test_the_usage_error_takes_a_or_an_by_the_binding_name(
    capsys: pytest.CaptureFixture[str], kind: str, phrase: str
) -> None:
    # It read "a eventGridTrigger invocation".
    argv = ["invoke", SHOP, "fulfil", "--provider", "azure", "--event", kind]
    assert main(argv) == 2
    assert phrase in capsys.readouterr().err


# Each sample kind, and the shop function whose trigger it is under the default options (blob:
# a blob-trigger app, AzureOptions(storage_events="blob"); eventhub: the shop has no stream).
SHOP_FUNCTION = {
    "http": "create_order", "queue": "fulfil", "servicebus": "notify_customer",
    "eventgrid": "invoice_paid", "cloudevent": "invoice_paid", "storage": "on_upload",
    "timer": "nightly_report", "blob": None, "eventhub": None,
}


def test_every_sample_runs_on_the_shop_function_of_its_trigger(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`invoke examples/shop/app.py FUNCTION --provider azure --event KIND` succeeds for each
    kind of its trigger: the queue sample's order had "orderId", not "id", and the servicebus
    one was `{"lucky_number": 23}`, so the shop's fulfil and notify_customer failed (exit 1)."""
    from portable_fn_azure.adapter import AzureAdapter

    assert set(AzureAdapter().sample_events()) == set(SHOP_FUNCTION)
    for kind, function in SHOP_FUNCTION.items():
        if function is None:
            continue
        code = main(["invoke", SHOP, function, "--provider", "azure", "--event", kind])
        out, err = capsys.readouterr()
        assert code == 0, (kind, out)
        if kind == "storage":  # the handler ran: the sample's container is the shop's bucket
            assert '"message":"upload received"' in err, err


def test_invoke_with_a_service_bus_batch_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A Service Bus function takes one message per invocation (``cardinality: one``, the
    trigger's default); a ``cardinality: many`` document (the per-message ``*Array`` metadata of
    https://learn.microsoft.com/azure/azure-functions/functions-bindings-service-bus-trigger
    #message-metadata, which the library's converter turns into a list) is refused as a usage
    error, as another trigger's sample is, rather than reported as the function failing with
    ``AttributeError: 'list' object has no attribute 'delivery_count'``."""
    import base64

    batch = {
        "binding": "serviceBusTrigger",
        "data": {"type": "collection_bytes",
                 "value": [base64.b64encode(b'{"order": 1}').decode()]},
        "metadata": {"MessageIdArray": ["m1"], "DeliveryCountArray": [1],
                     "SequenceNumberArray": [1], "ContentTypeArray": ["application/json"],
                     "EnqueuedTimeUtcArray": ["2020-06-18T05:39:12.17Z"],
                     "UserPropertiesArray": [{}], "ApplicationPropertiesArray": [{}]},
    }
    event = tmp_path / "batch.json"
    event.write_text(json.dumps(batch))
    argv = ["invoke", SHOP, "notify_customer", "--provider", "azure", "--event", str(event)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("portable-fn invoke: ") and "one message per invocation" in err


def test_an_azure_response_shows_the_content_type_the_worker_sends() -> None:
    """``invoke --provider azure`` prints the response as the worker sends it: azure-functions'
    ``HttpResponseConverter.encode`` adds ``; charset=`` to a ``text/`` mimetype only; the
    report added it to every type (``application/octet-stream; charset=utf-8``). (Here, where
    the library is installed: the core's tests have no azure.functions and skipped it.)"""
    import azure.functions as func
    from azure.functions.http import HttpResponseConverter
    from portable_fn._local.invoke import _native_plain

    for mimetype in ("application/octet-stream", "application/json", "text/plain", "text/html"):
        sent = HttpResponseConverter.encode(
            func.HttpResponse(b"x", mimetype=mimetype), expected_type=None
        ).value["headers"]["content-type"].value
        shown = _native_plain(func.HttpResponse(b"x", mimetype=mimetype))
        assert shown["headers"]["content-type"] == sent


def test_inspect_names_the_dead_letter_queue_of_the_subscription_the_package_creates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A topic function gets a Service Bus subscription named after it as Service Bus allows
    (at most 50 characters, ending in a letter or digit: options.subscription_name), and its
    dead letters go to that subscription's ``$deadletterqueue``
    (https://learn.microsoft.com/azure/service-bus-messaging/service-bus-dead-letter-queues):
    inspect names the same subscription, not the function name cut to 50 characters."""
    from portable_fn_azure.options import subscription_name

    long_name = "notify_the_customer_that_the_order_has_shipped_by_courier"
    app_file = tmp_path / "app.py"
    app_file.write_text(
        "import portable_fn as pf\n"
        "app = pf.App('subs')\n"
        f"@app.topic('order-events')\ndef {long_name}(event): pass\n"
        "@app.topic('order-events')\ndef notify_(event): pass\n"
    )
    assert main(["inspect", str(app_file), "--json"]) == 0
    dead = json.loads(capsys.readouterr().out)["dead_letters"]["azure"]
    for name in (long_name, "notify_"):
        assert subscription_name(name) != name[:50]
        assert dead[name] == (
            f"order-events/Subscriptions/{subscription_name(name)}/$deadletterqueue")


def _usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert captured.out == "" and err.startswith("portable-fn invoke: ") and "\n" not in err, err
    return err


def test_a_request_that_routes_to_another_function_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The host routes a request by its route template
    (https://learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger
    #customize-the-http-endpoint): the sample's ``POST /orders`` reaches ``create_order``, so
    given to ``get_order`` it answered 404 "no route for /orders" with exit 0. It is refused as
    the Cloudflare adapter refuses it (exit 2)."""
    argv = ["invoke", SHOP, "get_order", "--provider", "azure", "--event", "http"]
    err = _usage_error(capsys, argv)
    assert "POST /orders routes to 'create_order', not 'get_order'" in err, err


@pytest.mark.parametrize("native", [{"foo": 1}, {"binding": "queueTrigger"}, [1], "text"])
def test_an_event_not_in_the_invocation_shape_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], native: object
) -> None:
    """``{"foo": 1}`` was run and reported the adapter's ``KeyError: 'binding'`` as
    ``"raised"`` (exit 1, as if the function had failed); it is a usage error naming the shape
    expected, as the portable ``invoke`` reports a bad ``--event`` file."""
    event = tmp_path / "foo.json"
    event.write_text(json.dumps(native))
    argv = ["invoke", SHOP, "fulfil", "--provider", "azure", "--event", str(event)]
    err = _usage_error(capsys, argv)
    assert '{"binding": "queueTrigger", "data": ...' in err and "samples for it: queue" in err


def test_a_blob_event_of_another_container_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A storage function's Event Grid subscription is filtered to its container (README
    "Triggers"): the deployed function is never sent another one's blob events, and ``invoke``
    ran nothing and printed nothing for one. It is refused, naming the samples that fit."""
    from portable_fn_azure.adapter import AzureAdapter

    sample = AzureAdapter().sample_events()["storage"]
    value = sample["data"]["value"]
    value["subject"] = value["subject"].replace("/containers/uploads/", "/containers/other/")
    event = tmp_path / "other.json"
    event.write_text(json.dumps(sample))
    argv = ["invoke", SHOP, "on_upload", "--provider", "azure", "--event", str(event)]
    err = _usage_error(capsys, argv)
    assert "container other" in err and "samples for it: storage" in err, err
