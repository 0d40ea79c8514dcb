"""``portable-fn invoke``: a bad ``--event`` is a usage error (exit 2, one line), no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portable_fn.cli import main

SHOP = str(Path(__file__).resolve().parents[2] / "examples" / "shop" / "app.py")


@pytest.mark.parametrize(
    ("function", "event", "says"),
    [
        ("fulfil", "{not json", "not JSON"),
        ("get_order", "{}", "give a concrete"),  # the route has a {order_id} parameter
    ],
)
def test_bad_event_exits_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], function: str, event: str, says: str
) -> None:
    path = tmp_path / "event.json"
    path.write_text(event)
    assert main(["invoke", SHOP, function, "--event", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("portable-fn invoke: ") and says in err
    assert "Traceback" not in err



class _Raising:
    """Stands in for a provider adapter (the core's tests run without any installed): its
    ``invoke`` raises the handler's error, as the AWS adapter does for an asynchronous event
    (Lambda retries it) and the Azure one for any failed invocation."""

    name = "raising"

    def sample_events(self) -> dict[str, object]:
        return {"order": {"sku": "a"}}

    def invoke(self, app: object, function: str, native: object) -> object:
        raise ValueError("no stock")


def test_a_native_event_whose_handler_raises_is_reported_with_exit_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import portable_fn.adapter

    monkeypatch.setattr(portable_fn.adapter, "load_adapter", lambda name: _Raising())
    assert main(["invoke", SHOP, "fulfil", "--provider", "raising", "--event", "order"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["raised"] == {"type": "ValueError", "message": "no stock"}
    assert report["provider"] == "raising" and "result" not in report


# --- A native event whose handler fails exits 1 on every provider ---------------------------
#
# The samples are the adapters' own (``portable-fn events P KIND``), each shaped as the
# provider documents its delivery; only the message body changes, to the shop's poison order:
# - GCP: a Pub/Sub ``messagePublished`` CloudEvent (googleapis/google-cloudevents
#   examples/structured/pubsub/MessagePublishedData-complex.json; Eventarc delivers it by
#   HTTP and reads any non-2xx answer as a failure to retry:
#   https://cloud.google.com/eventarc/docs/retry-events).
# - Cloudflare: a queue ``MessageBatch`` (https://developers.cloudflare.com/queues/configuration/
#   javascript-apis/#messagebatch); a failed message is ``retry()``ed.
# - AWS: an SQS batch (``sam local generate-event sqs receive-message``); a failed message is
#   listed in ``batchItemFailures`` (https://docs.aws.amazon.com/lambda/latest/dg/
#   services-sqs-errorhandling.html).

POISON = {"id": "p0150n", "sku": "poison"}
GOOD = {"id": "o-1", "sku": "book-1"}


def _gcp(order: dict[str, str]) -> dict[str, object]:
    import base64
    import copy

    from portable_fn_gcp.samples import SAMPLES

    sample = copy.deepcopy(SAMPLES["pubsub"])
    message = sample["data"]["message"]
    message["data"] = base64.b64encode(json.dumps(order).encode()).decode()
    message["attributes"] = {}
    return sample


def _cloudflare(order: dict[str, str]) -> dict[str, object]:
    from portable_fn_cloudflare.adapter import adapter

    sample = dict(adapter.sample_events()["queue"])
    sample["messages"] = [{**sample["messages"][0], "body": order}]
    return sample


def _aws(order: dict[str, str]) -> dict[str, object]:
    from portable_fn_aws.adapter import adapter

    sample: dict[str, object] = json.loads(json.dumps(adapter.sample_events()["sqs"]))
    records: list[dict[str, str]] = sample["Records"]  # type: ignore[assignment]
    records[0]["body"] = json.dumps(order)
    return sample


NATIVE = {"gcp": _gcp, "cloudflare": _cloudflare, "aws": _aws}


@pytest.mark.parametrize("provider", sorted(NATIVE))
def test_a_native_event_that_fails_exits_1_and_one_that_succeeds_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], provider: str
) -> None:
    for order, code in ((POISON, 1), (GOOD, 0)):
        path = tmp_path / f"{provider}-{order['id']}.json"
        path.write_text(json.dumps(NATIVE[provider](order)))
        argv = ["invoke", SHOP, "fulfil", "--provider", provider, "--event", str(path)]
        assert main(argv) == code, (provider, order)
        report = json.loads(capsys.readouterr().out)
        assert report["provider"] == provider and "result" in report
        if code:
            assert report["failed"], report
        else:
            assert "failed" not in report


def test_an_http_5xx_through_an_adapter_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Cloudflare ``fetch`` sample (a Workers ``Request``, https://developers.cloudflare.com/
    workers/runtime-apis/request/) sent to a route whose handler raises: a 500, so exit 1."""
    app_file = tmp_path / "boom.py"
    app_file.write_text(
        "import portable_fn as pf\n"
        "app = pf.App('boom')\n"
        "@app.http('/orders', methods=['POST'])\n"
        "def create(req):\n"
        "    raise RuntimeError('database down')\n"
    )
    argv = ["invoke", str(app_file), "create", "--provider", "cloudflare", "--event", "fetch"]
    assert main(argv) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["result"]["status"] == 500 and "500" in report["failed"]
