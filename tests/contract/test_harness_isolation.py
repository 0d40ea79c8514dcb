"""What a user's test meets through a provider harness (``adapter.harness()``): no cloud is
reached, nothing is left on the app for the next test, and a test's own mistake (a function of
the wrong kind) is an error, not an outcome to assert on, as with ``portable_fn.testing.invoke``."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

import portable_fn as pf
from portable_fn.errors import FunctionNotFoundError
from portable_fn.testing import Harness, RecordingPublisher, http_request
from tests.contract.portable_app import build


def _publishing_app() -> pf.App:
    app, _ = build()

    @app.http("/orders", methods=["POST"], auth="anonymous")
    def create(req: pf.Request) -> pf.Response:
        pf.publish("orders", req.json(), type="com.example.order.created")
        return pf.Response.json({"ok": True}, status=202)

    return app


def test_a_harness_leaves_the_apps_publisher_as_it_was(harness: Harness) -> None:
    # The AWS, Azure and Cloudflare harnesses installed their provider's publisher on the app
    # and left it there: the next test of the same app published through boto3 (creating the
    # SNS topic in whatever account the machine's credentials named), the Azure SDK, or into a
    # Cloudflare stand-in nobody read, instead of failing as `invoke` does.
    app = _publishing_app()
    response = harness.http(app, http_request("POST", "/orders", json={"sku": "a"}))
    assert response.status == 500
    assert json.loads(response.body)["error"]["status"] == 500
    assert app.publisher is None

    recorder = RecordingPublisher()
    app.use_publisher(recorder)
    response = harness.http(app, http_request("POST", "/orders", json={"sku": "b"}))
    assert response.status == 202
    assert [e.data for e in recorder.to("orders")] == [{"sku": "b"}]
    assert app.publisher is recorder


def test_a_harness_refuses_a_function_of_the_wrong_kind(harness: Harness) -> None:
    # Each was a result a test could assert on: the AWS harness acknowledged a delivery to an
    # HTTP function ([True]: its 400 was not read) and fired a queue function's "schedule";
    # GCP and Cloudflare ran a queue function on a storage notification.
    app, seen = build()
    event = pf.CloudEvent.create(type="t", source="/s", data={})
    when = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
    with pytest.raises(TypeError, match="HTTP"):
        harness.deliver(app, "item", [event])
    with pytest.raises(TypeError, match="not a schedule"):
        harness.schedule(app, "on_job", when)
    with pytest.raises(TypeError, match="not a storage"):
        harness.storage(app, "on_job", bucket="uploads", key="k", size=1, etag="e",
                        action="created")
    with pytest.raises(FunctionNotFoundError):
        harness.deliver(app, "on_jbo", [event])
    assert harness.deliver(app, "on_job", []) == []
    assert seen == []


def test_deliver_to_a_stream_where_streams_do_not_run_is_a_configuration_error(
    harness: Harness,
) -> None:
    """GCP and Cloudflare deploy no stream function: delivering to one is a mistake in the
    test (ConfigurationError, as the CLI's invoke refuses it), not a failed delivery (GCP
    answered [False] after a Flask traceback) nor a KeyError (Cloudflare)."""
    import portable_fn as pf
    from portable_fn.errors import ConfigurationError

    app = pf.App("streams")
    app.stream("clicks", name="clicks")(lambda event: None)
    event = pf.CloudEvent.create(type="click", source="/t", data=1)
    if harness.provider in ("gcp", "cloudflare"):
        with pytest.raises(ConfigurationError, match="stream triggers do not run"):
            harness.deliver(app, "clicks", [event])
    else:
        assert harness.deliver(app, "clicks", [event]) == [True]
