# SPDX-License-Identifier: Apache-2.0
"""Indexing: what ``azure.functions`` reports for the generated app is what the host reads."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from portable_fn import App
from portable_fn.testing import RecordingPublisher
from portable_fn.triggers import Stream, Topic

from portable_fn_azure import AzureOptions, function_app
from portable_fn_azure._functionapp import FALLBACK, azure_route

SNAPSHOT = Path(__file__).parent / "snapshots" / "shop_bindings.json"


def bindings(app: App, options: AzureOptions | None = None) -> dict[str, Any]:
    """Per function: the function.json the worker reports, plus its retry policy (sent to the
    host as RpcFunctionMetadata.retry_options, outside the bindings)."""
    native = function_app(app, options)
    found = {}
    for f in native.get_functions():
        meta = json.loads(f.get_function_json())
        retry = f.get_settings_dict("retry_policy")
        if retry:
            meta["retry"] = retry
        found[f.get_function_name()] = meta
    return found


def test_shop_binding_metadata_matches_snapshot(shop: Any) -> None:
    app, _ = shop
    found = bindings(app)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")
    assert found == json.loads(SNAPSHOT.read_text())


def test_shop_has_one_function_per_handler_plus_the_http_fallback(shop: Any) -> None:
    app, _ = shop
    assert list(bindings(app)) == [*app.functions, FALLBACK]


def test_each_function_has_exactly_one_trigger(shop: Any) -> None:
    app, _ = shop
    for name, meta in bindings(app).items():
        triggers = [b for b in meta["bindings"] if b["type"].endswith("Trigger")]
        assert len(triggers) == 1, name


def _app() -> App:
    app = App("opts")
    app.use_publisher(RecordingPublisher())

    @app.http("/files/{path+}", methods=["GET", "PUT"], auth="anonymous")
    def files(req: Any) -> str:
        return "ok"

    @app.queue("jobs", max_retries=2)
    def job(event: Any) -> None: ...

    @app.topic("news")
    def news(event: Any) -> None: ...

    @app.storage("photos", on=("created", "deleted"), prefix="raw/", suffix=".png")
    def photo(event: Any) -> None: ...

    @app.schedule("*/15 9-17 * * 1-5")
    def office_hours(event: Any) -> None: ...

    @app.stream("telemetry")
    def telemetry(event: Any) -> None: ...

    return app


def test_greedy_route_and_anonymous_auth() -> None:
    found = bindings(_app())["files"]["bindings"][0]
    assert found["route"] == "files/{*path}"
    assert found["authLevel"] == "ANONYMOUS"
    assert found["methods"] == ["GET", "PUT", "HEAD"]


@pytest.mark.parametrize(("path", "route"), [
    ("/", ""), ("/orders", "orders"), ("/orders/{id}", "orders/{id}"),
    ("/a/{b}/c/{rest+}", "a/{b}/c/{*rest}"),
])
def test_azure_route(path: str, route: str) -> None:
    assert azure_route(path) == route


def test_default_services() -> None:
    found = bindings(_app())
    assert found["job"]["bindings"][0] == {
        "direction": "IN", "type": "queueTrigger", "name": "msg", "queueName": "jobs",
        "connection": "AzureWebJobsStorage", "dataType": "BINARY"}
    assert found["news"]["bindings"][0]["subscriptionName"] == "news"
    assert found["photo"]["bindings"][0]["type"] == "eventGridTrigger"
    assert found["office_hours"]["bindings"][0]["schedule"] == "0 */15 9-17 * * 1-5"
    hub = found["telemetry"]
    assert hub["bindings"][0]["cardinality"].lower() == "many"
    assert hub["bindings"][0]["eventHubName"] == "telemetry"
    assert hub["retry"]["strategy"] == "exponential_backoff"
    assert hub["retry"]["max_retry_count"] == "4"
    assert hub["retry"]["minimum_interval"] == "00:00:01"
    assert hub["retry"]["maximum_interval"] == "00:05:00"


def test_a_timer_retries_a_failed_run() -> None:
    # Timer triggers take the runtime's retry policy (functions-bindings-error-pages#retries):
    # without one a failed run is not retried. A schedule declares no max_retries: twice, as
    # the local runtime and Lambda retry it, with the same exponential backoff.
    retry = bindings(_app())["office_hours"]["retry"]
    assert retry["strategy"] == "exponential_backoff"
    assert retry["max_retry_count"] == "2"
    assert retry["minimum_interval"] == "00:00:01"
    assert retry["maximum_interval"] == "00:05:00"


def test_alternative_services() -> None:
    options = AzureOptions(queues="servicebus", topics="eventgrid", storage_events="blob")
    found = bindings(_app(), options)
    assert found["job"]["bindings"][0]["type"] == "serviceBusTrigger"
    assert found["job"]["bindings"][0]["queueName"] == "jobs"
    assert found["news"]["bindings"][0]["type"] == "eventGridTrigger"
    assert found["photo"]["bindings"][0] == {
        "direction": "IN", "type": "blobTrigger", "name": "blob",
        "path": "photos/raw/{name}.png", "connection": "AzureWebJobsStorage"}


def test_bad_option_is_a_configuration_error() -> None:
    from portable_fn.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        AzureOptions(queues="kafka")  # type: ignore[arg-type]


def test_options_are_immutable_values() -> None:
    options = AzureOptions(queues="servicebus")
    assert options == AzureOptions(queues="servicebus") != AzureOptions()
    assert options.changed() == {"queues": "servicebus"}
    assert repr(options) == "AzureOptions(queues='servicebus')"
    with pytest.raises(AttributeError):
        options.queues = "storage"  # type: ignore[misc]


def test_the_fallback_can_be_left_out(shop: Any) -> None:
    app, _ = shop
    assert FALLBACK not in bindings(app, AzureOptions(http_fallback=False))


def test_a_fifo_service_bus_queue_is_received_with_sessions() -> None:
    # A session-enabled queue (Service Bus's FIFO) refuses a receiver without sessions:
    # the trigger must say isSessionsEnabled (functions-bindings-service-bus-trigger#attributes).
    app = App("fifo")

    @app.queue("ordered", fifo=True)
    def ordered(event: Any) -> None: ...

    @app.queue("loose")
    def loose(event: Any) -> None: ...

    found = bindings(app, AzureOptions(queues="servicebus"))
    assert found["ordered"]["bindings"][0]["isSessionsEnabled"] is True
    assert "isSessionsEnabled" not in found["loose"]["bindings"][0]


def test_topic_subscription_names_are_valid_and_distinct() -> None:
    # Service Bus subscription names: 1-50 characters, starting and ending with a letter or
    # digit (learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
    # #microsoftservicebus); two functions sharing one would compete instead of fanning out.
    app = App("fanout")
    long_a, long_b = "notify_" + "x" * 44 + "_a", "notify_" + "x" * 44 + "_b"
    app.register(lambda event: None, Topic(name="news"), name=long_a)
    app.register(lambda event: None, Topic(name="news"), name=long_b)
    app.register(lambda event: None, Topic(name="news"), name="trailing_")
    app.register(lambda event: None, Topic(name="news"), name="short")
    found = bindings(app)
    names = [found[n]["bindings"][0]["subscriptionName"] for n in (long_a, long_b, "trailing_")]
    assert len({n.lower() for n in names}) == 3, names
    for name in names:
        assert 1 <= len(name) <= 50 and name[0].isalnum() and name[-1].isalnum(), name
    assert found["short"]["bindings"][0]["subscriptionName"] == "short"


def test_stream_consumer_groups_of_long_names_stay_distinct() -> None:
    # Event Hubs consumer group names: 1-50 characters, letters, digits, '.', '-' and '_',
    # starting and ending with a letter or digit (learn.microsoft.com/azure/
    # azure-resource-manager/management/resource-name-rules#microsofteventhub). Two long
    # function names cut to one group would compete for the hub's partitions, each reading only
    # part of the stream, as two functions on $Default would.
    app = App("hubs")
    base = "clicks_to_the_realtime_analytics_dashboard_projection_"
    for name in ("first", base + "daily", base + "hourly", "x" * 49 + "_tail"):
        app.register(lambda event: None, Stream(name="clicks"), name=name)
    found = bindings(app)
    groups = [found[n]["bindings"][0]["consumerGroup"] for n in app.functions]
    assert groups[0] == "$Default"
    assert len({g.lower() for g in groups}) == len(groups), groups
    for group in groups[1:]:
        assert 1 <= len(group) <= 50 and group[0].isalnum() and group[-1].isalnum(), group


def test_blob_trigger_path_escapes_braces_in_prefix_and_suffix() -> None:
    # A blob trigger path is a pattern: {x} is a binding expression, and a literal brace is
    # written twice ("Blob name patterns", learn.microsoft.com/azure/azure-functions/
    # functions-bindings-storage-blob-trigger#blob-name-patterns: images/{{20140101}}-{name}).
    # Unescaped, a prefix "{tenant}/" matched every first folder, and a lone "{" made a path
    # the host cannot parse.
    app = App("braces")

    @app.storage("uploads", prefix="{2024}/in-", suffix="}.csv")
    def ingest(event: Any) -> None: ...

    found = bindings(app, AzureOptions(storage_events="blob"))
    assert found["ingest"]["bindings"][0]["path"] == "uploads/{{2024}}/in-{name}}}.csv"
