# SPDX-License-Identifier: Apache-2.0
"""The CLI through the GCP adapter: ``inspect`` names the dead-letter topics ``deploy.sh``
creates, ``invoke --provider gcp`` exits 1 when Eventarc would redeliver, and bad input is one
line.

Pub/Sub sets a dead-letter topic per subscription
(https://cloud.google.com/pubsub/docs/handling-failures), so each subscriber of a topic has its
own. The sample is the adapter's Pub/Sub ``messagePublished`` CloudEvent
(googleapis/google-cloudevents MessagePublishedData-complex.json) with the shop's orders as its
message; Eventarc reads any non-2xx answer as a failure to retry
(https://cloud.google.com/eventarc/docs/retry-events).
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest
from portable_fn.cli import main

from portable_fn_gcp.samples import SAMPLES

SHOP = str(Path(__file__).resolve().parents[3] / "examples" / "shop" / "app.py")


def test_inspect_names_the_dead_letter_topic_of_each_subscription(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["inspect", SHOP, "--json"]) == 0
    dead = json.loads(capsys.readouterr().out)["dead_letters"]
    # The app's name first, as deploy.sh names it: another app may have a notify_customer.
    assert dead["gcp"]["notify_customer"] == "shop-notify-customer-dlq"
    assert dead["gcp"]["request_fulfilment"] == "shop-request-fulfilment-dlq"
    assert dead["gcp"]["fulfil"] == "fulfilment-dlq"  # a declared name is kept
    assert dead["local"]["notify_customer"] == "order-events-dlq"
    assert main(["inspect", SHOP]) == 0
    line = next(
        x for x in capsys.readouterr().out.splitlines()
        if x.strip().startswith("notify_customer") and "dlq" in x and "topic" not in x
    )
    assert "gcp shop-notify-customer-dlq" in line


def _published(order: dict[str, str]) -> dict[str, object]:
    sample = copy.deepcopy(SAMPLES["pubsub"])
    message = sample["data"]["message"]
    message["data"] = base64.b64encode(json.dumps(order).encode()).decode()
    message["attributes"] = {}
    return sample


@pytest.mark.parametrize(
    ("order", "code"), [({"id": "p0150n", "sku": "poison"}, 1), ({"id": "o-1", "sku": "b"}, 0)]
)
def test_invoke_exits_1_when_the_delivery_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], order: dict[str, str], code: int
) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(_published(order)))
    assert main(["invoke", SHOP, "fulfil", "--provider", "gcp", "--event", str(path)]) == code
    report = json.loads(capsys.readouterr().out)
    assert report["provider"] == "gcp" and "result" in report
    assert bool(report.get("failed")) is bool(code), report


def test_package_into_an_unwritable_place_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("")
    out = str(tmp_path / "a-file" / "out")
    assert main(["package", SHOP, "--provider", "gcp", "--out", out]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("portable-fn package: ") and "a-file" in err and "\n" not in err


# Each sample kind, and the shop function whose trigger it is.
SHOP_FUNCTION = {
    "http": "create_order", "pubsub": "fulfil", "storage": "on_upload",
    "scheduler": "nightly_report", "event": "invoice_paid",
}


def test_every_sample_runs_on_the_shop_function_of_its_trigger(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`invoke examples/shop/app.py FUNCTION --provider gcp --event KIND` succeeds for each kind
    of its trigger. The pubsub sample's message was the text "test message 3", on which the
    shop's queue and topic functions fail (exit 1), and there was no HTTP sample at all, so an
    HTTP function could not be invoked by sample name."""
    assert set(SAMPLES) == set(SHOP_FUNCTION)
    for kind, function in SHOP_FUNCTION.items():
        code = main(["invoke", SHOP, function, "--provider", "gcp", "--event", kind])
        out = capsys.readouterr().out
        assert code == 0, (kind, out)
    assert main(["invoke", SHOP, "notify_customer", "--provider", "gcp", "--event", "pubsub"]) == 0
    capsys.readouterr()
    assert main(["invoke", SHOP, "create_order", "--provider", "gcp", "--event", "http"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["result"]["status"] == 202, report
    assert [p["name"] for p in report["published"]] == ["order-events"]


def test_invoke_posts_a_push_body_or_a_legacy_event_as_their_senders_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Pub/Sub push body (the request body example of
    https://cloud.google.com/pubsub/docs/push#receive_push, ``events/push_documented.json``,
    its message an order) and a 1st-gen background event (functions-framework-conformance's
    ``legacy_storage_change-legacy-input.json``, ``events/legacy_storage_change.json``) are
    native events the deployed function takes: Pub/Sub and the 1st-gen runtime POST them as
    JSON. ``invoke`` sent them as a bodiless GET (an HTTP request with no ``method``), so
    every one was a 405 and exit 1; so was a binary-mode request (``headers`` and ``body``, the
    ``ce-*`` headers of https://cloud.google.com/eventarc/docs/cloudevents) that names no
    method, though Eventarc only POSTs. An attribute-only message (no ``data``) reaches the
    function through the push intake ``main.py`` installs, as deployed."""
    events = Path(__file__).parent / "events"
    push = json.loads((events / "push_documented.json").read_text())
    order = {"id": "o-9", "sku": "book"}
    push["message"]["data"] = base64.b64encode(json.dumps(order).encode()).decode()
    attribute_only = copy.deepcopy(push)
    del attribute_only["message"]["data"]
    binary = {
        "headers": {
            "ce-specversion": "1.0",
            "ce-id": "1",
            "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
            "ce-source": "//pubsub.googleapis.com/projects/p/topics/fulfilment",
            "content-type": "application/json",
        },
        "body": json.dumps(push),
    }
    cases = [
        ("fulfil", push),
        ("fulfil", binary),
        ("request_fulfilment", attribute_only),
        ("on_upload", json.loads((events / "legacy_storage_change.json").read_text())),
    ]
    for number, (function, native) in enumerate(cases):
        path = tmp_path / f"{number}.json"
        path.write_text(json.dumps(native))
        code = main(["invoke", SHOP, function, "--provider", "gcp", "--event", str(path)])
        report = json.loads(capsys.readouterr().out)
        assert (code, report["result"]["status"]) == (0, 200), (function, report)


def test_the_event_sample_runs_an_event_function(capsys: pytest.CaptureFixture[str]) -> None:
    """An ``@app.event`` function had no sample: every GCP sample was acknowledged by the
    shop's ``invoice_paid`` without running it (not its type). The ``event`` sample is the
    delivery ``deploy.sh`` sets up for an application event type: Eventarc's
    ``messagePublished`` for the app's bus topic, whose message carries the event in the
    binary mode of the Pub/Sub binding
    (https://github.com/googleapis/google-cloudevents/blob/main/docs/spec/pubsub.md), as
    ``pf.emit`` publishes it."""
    assert main(["invoke", SHOP, "invoice_paid", "--provider", "gcp", "--event", "event"]) == 0
    logs = capsys.readouterr().err
    ran = [json.loads(line) for line in logs.splitlines() if '"invoice paid"' in line]
    assert len(ran) == 1, logs
    assert ran[0]["event_type"] == "com.example.invoice.paid"
    assert ran[0]["invoice"] == {"invoice_id": "inv-9", "amount": "19.99"}


def _misfit_app(tmp_path: Path) -> str:
    path = tmp_path / "misfit.py"
    path.write_text(
        "import portable_fn as pf\n"
        "app = pf.App('misfit')\n"
        "@app.storage('uploads')\n"
        "def up(event: pf.CloudEvent) -> None: ...\n"
        "@app.event('com.example.invoice.*')\n"
        "def paid(event: pf.CloudEvent) -> None: ...\n"
        "@app.http('/hello')\n"
        "def hello(req: pf.Request) -> str:\n"
        "    return 'hi'\n"
        "@app.stream('clicks')\n"
        "def clicks(event: pf.CloudEvent) -> None: ...\n"
    )
    return str(path)


def _usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert captured.out == "" and err.startswith("portable-fn invoke: ") and "\n" not in err, err
    assert "Traceback" not in err
    return err


def test_a_stream_function_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Streams do not run on GCP (``inspect`` reports them unsupported; ``deploy.sh`` does not
    deploy them). ``invoke`` of one printed functions-framework's traceback and a 500 "crash"
    (exit 1); bad input is one line, exit 2 (docs/cli.md)."""
    app = _misfit_app(tmp_path)
    err = _usage_error(capsys, ["invoke", app, "clicks", "--provider", "gcp", "--event", "pubsub"])
    assert "clicks" in err and "stream" in err and "gcp" in err


@pytest.mark.parametrize(
    ("function", "kind", "fitting"),
    [
        ("up", "http", "storage"),  # was 400 "bad request", exit 1
        ("up", "scheduler", "storage"),  # was 200 OK, the handler not run, no log line
        ("up", "pubsub", "storage"),  # a message that is no Cloud Storage notification
        ("paid", "http", "pubsub, event"),
        ("paid", "storage", "pubsub, event"),  # an app event type arrives on the bus topic
        ("hello", "pubsub", "http"),  # was 404 "no route for /", exit 0
    ],
)
def test_a_sample_that_cannot_reach_the_function_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], function: str, kind: str, fitting: str
) -> None:
    """What ``deploy.sh`` wires is all a deployed function is sent: an HTTP function its
    requests, a storage function its bucket's Eventarc events
    (https://cloud.google.com/functions/docs/calling/storage), an application ``@app.event``
    the messages of the app's bus topic. Another sample is a mistake in the invocation, refused
    as the Azure adapter refuses a binding that is not the function's, naming the samples that
    fit."""
    app = _misfit_app(tmp_path)
    err = _usage_error(capsys, ["invoke", app, function, "--provider", "gcp", "--event", kind])
    assert f"(samples for it: {fitting})" in err, err


def test_a_request_carrying_ce_headers_still_reaches_an_http_function(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A webhook route may take binary-mode CloudEvents (``ce-*`` headers): to an HTTP function
    such a request is a request, which invoke sends, not an event it refuses."""
    import json

    request = {"method": "GET", "path": "/hello",
               "headers": {"ce-type": "com.partner.thing", "ce-source": "/p", "ce-id": "1",
                           "ce-specversion": "1.0", "content-type": "application/json"},
               "body": "{}"}
    event = tmp_path / "ce_request.json"
    event.write_text(json.dumps(request))
    app = _misfit_app(tmp_path)
    assert main(["invoke", app, "hello", "--provider", "gcp", "--event", str(event)]) == 0
    assert json.loads(capsys.readouterr().out)["result"]["status"] == 200


def test_a_request_that_routes_to_another_function_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each HTTP function has its own URL on GCP, but the sample's ``POST /orders`` is
    ``create_order``'s route: sent to ``get_order`` it answered 404 "no route for /orders"
    with exit 0. It is refused as the Cloudflare adapter refuses it (exit 2)."""
    argv = ["invoke", SHOP, "get_order", "--provider", "gcp", "--event", "http"]
    err = _usage_error(capsys, argv)
    assert "POST /orders routes to 'create_order', not 'get_order'" in err, err


def _binary_app(tmp_path: Path) -> str:
    path = tmp_path / "binary.py"
    path.write_text(
        "import portable_fn as pf\n"
        "app = pf.App('binary')\n"
        "@app.http('/logo')\n"
        "def logo(req: pf.Request) -> pf.Response:\n"
        "    return pf.Response(body=b'\\x89PNG\\r\\n\\x1a\\n\\xff', headers=[\n"
        "        ('content-type', 'image/png'), ('set-cookie', 'a=1'), ('set-cookie', 'b=2')])\n"
    )
    return str(path)


def test_a_binary_response_is_base64_and_repeated_headers_are_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A PNG body failed with ``UnicodeDecodeError`` and two ``Set-Cookie`` headers showed
    one: the body is printed as base64 with ``"base64": true`` (as the portable ``invoke``
    and AWS's ``isBase64Encoded`` show it), each header with all of its values."""
    event = tmp_path / "get.json"
    event.write_text(json.dumps({"method": "GET", "path": "/logo"}))
    argv = ["invoke", _binary_app(tmp_path), "logo", "--provider", "gcp", "--event", str(event)]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)["result"]
    assert base64.b64decode(result["body"]) == b"\x89PNG\r\n\x1a\n\xff"
    assert result["base64"] is True
    assert result["headers"]["set-cookie"] == ["a=1", "b=2"]
    assert main(["invoke", SHOP, "create_order", "--provider", "gcp", "--event", "http"]) == 0
    result = json.loads(capsys.readouterr().out)["result"]
    assert result["base64"] is False and "id" in json.loads(result["body"])


def test_a_storage_event_of_another_bucket_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``deploy.sh`` subscribes a storage function to its own bucket's events only
    (https://cloud.google.com/functions/docs/calling/storage, ``--trigger-event-filters
    bucket=``), and the samples are shaped for ``examples/shop`` (bucket ``uploads``): the
    storage sample named ``sample-bucket`` and still ran the handler. Another bucket is
    refused; the bucket ``deploy.sh`` watches in its place (``BUCKET_UPLOADS``) is taken."""
    sample = copy.deepcopy(SAMPLES["storage"])
    assert sample["data"]["bucket"] == "uploads"
    sample["source"] = "//storage.googleapis.com/projects/_/buckets/other"
    sample["data"]["bucket"] = "other"
    event = tmp_path / "other.json"
    event.write_text(json.dumps(sample))
    argv = ["invoke", SHOP, "on_upload", "--provider", "gcp", "--event", str(event)]
    err = _usage_error(capsys, argv)
    assert "bucket other" in err and "(samples for it: storage)" in err, err
    monkeypatch.setenv("BUCKET_UPLOADS", "other")
    assert main(argv) == 0, capsys.readouterr()
