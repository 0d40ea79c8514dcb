"""Done-means 2 (azure): an app packaged with declared retry policies; the generated
``host.json`` carries the Storage Queue policy (``maxDequeueCount`` = max_retries + 1, the first
backoff as ``visibilityTimeout``, poison queue), Event Hubs functions carry an exponential
retry policy the host reads from the indexed metadata, and what Azure cannot honour (exponential
backoff on queues, a named dead-letter queue) is reported as a finding. Real packaging and the
real ``azure.functions`` indexing; nothing is mocked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import portable_fn as pf
import pytest
from portable_fn.adapter import Finding

from portable_fn_azure import function_app
from portable_fn_azure.adapter import AzureAdapter

app = pf.App("retries")
ORDERS = pf.Retry(max_retries=7, initial_backoff=5.0, max_backoff=120.0, jitter=False)
CLICKS = pf.Retry(max_retries=3, initial_backoff=2.0, max_backoff=90.0)


@app.queue("orders", retry=ORDERS, dead_letter="orders-dead")
def take_order(event: pf.CloudEvent) -> None: ...


@app.stream("clicks", max_retries=CLICKS.max_retries)
def count_clicks(event: pf.CloudEvent) -> None: ...


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Finding]]:
    out = tmp_path_factory.mktemp("retries") / "azure"
    return out, AzureAdapter().package(app, f"{__name__}:app", out)


def timespan(value: str) -> float:
    """A .NET TimeSpan's seconds: ``[d.]hh:mm:ss[.fff]``, hours under 24."""
    match = re.fullmatch(r"(?:(\d+)\.)?([01]\d|2[0-3]):([0-5]\d):([0-5]\d(?:\.\d+)?)", value)
    assert match, value
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86_400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def test_host_json_carries_the_queue_policy(packaged: tuple[Path, list[Finding]]) -> None:
    host = json.loads((packaged[0] / "host.json").read_text())
    queues = host["extensions"]["queues"]
    assert queues["maxDequeueCount"] == ORDERS.max_retries + 1
    assert timespan(queues["visibilityTimeout"]) == ORDERS.initial_backoff


def test_what_storage_queues_cannot_honour_is_reported(
    packaged: tuple[Path, list[Finding]],
) -> None:
    mine = [f for f in packaged[1] if f.function == "take_order"]
    assert any("backoff" in f.message for f in mine), [str(f) for f in mine]
    assert any(f.level == "unsupported" and "orders-poison" in f.message for f in mine)


def test_event_hubs_functions_retry_with_exponential_backoff() -> None:
    native = function_app(app)
    (clicks,) = [f for f in native.get_functions() if f.get_function_name() == "count_clicks"]
    retry = clicks.get_settings_dict("retry_policy")
    assert retry is not None
    assert retry["strategy"] == "exponential_backoff"
    assert int(retry["max_retry_count"]) == CLICKS.max_retries


def test_a_sub_second_backoff_still_waits() -> None:
    # visibilityTimeout is a TimeSpan ("00:00:00.5" is valid): a declared 0.5 s first backoff
    # must not become "00:00:00", which retries a failed message at once.
    quick = pf.App("quick")

    @quick.queue("jobs", retry=pf.Retry(max_retries=2, initial_backoff=0.5))
    def job(event: pf.CloudEvent) -> None: ...

    from portable_fn_azure.options import AzureOptions
    from portable_fn_azure.target import host_json

    visibility = host_json(quick, AzureOptions())["extensions"]["queues"]["visibilityTimeout"]
    assert timespan(visibility) > 0, visibility




def test_the_most_patient_queue_sets_the_host_wide_visibility_timeout() -> None:
    """host.json ``queues.visibilityTimeout`` is "the time interval between retries when
    processing of a message fails", one value for every queue of the app
    (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue#host-json).
    The most patient queue wins, as for ``maxDequeueCount``: the longest first backoff, so no
    queue retries sooner than it declared (burning its attempts while what failed it is still
    down). It was the shortest: a dead-letter consumer with the default 1 s set it for billing's
    declared 5 s. The finding names the value each queue really gets."""
    from portable_fn_azure.findings import findings
    from portable_fn_azure.options import AzureOptions
    from portable_fn_azure.target import host_json

    two = pf.App("two")

    @two.queue("billing", retry=pf.Retry(max_retries=3, initial_backoff=5.0, max_backoff=20.0))
    def bill(event: pf.CloudEvent) -> None: ...

    @two.queue("billing-dlq", max_retries=0)
    def dead(event: pf.CloudEvent) -> None: ...

    queues = host_json(two, AzureOptions())["extensions"]["queues"]
    assert timespan(queues["visibilityTimeout"]) == 5.0, queues
    dead_notes = [f.message for f in findings(two, AzureOptions()) if f.function == "dead"]
    assert any("5s" in m and "host-wide" in m for m in dead_notes), dead_notes


def test_a_wait_past_seven_days_is_storage_queues_longest_and_said_so() -> None:
    """A retry's wait hides the message (Update Message), at most 7 days
    (https://learn.microsoft.com/rest/api/storageservices/update-message); 8 days was written
    ``192:00:00``, which TimeSpan reads as 192 days."""
    from portable_fn_azure.findings import findings
    from portable_fn_azure.options import AzureOptions
    from portable_fn_azure.target import host_json

    app = pf.App("patient")

    @app.queue("later", retry=pf.Retry(max_retries=2, initial_backoff=691_200,
                                       max_backoff=691_200))
    def later(event: pf.CloudEvent) -> None: ...

    queues = host_json(app, AzureOptions())["extensions"]["queues"]
    assert queues["visibilityTimeout"] == "7.00:00:00", queues
    assert timespan(queues["visibilityTimeout"]) == 604_800
    notes = [f.message for f in findings(app, AzureOptions()) if f.function == "later"]
    assert any("7 days" in m and "691200s" in m for m in notes), notes


def test_a_queue_that_never_retries_does_not_set_the_host_wide_wait() -> None:
    """A dead-letter consumer with ``max_retries=0`` and a long backoff waits for no retry:
    the other queues' first backoff sets ``visibilityTimeout``."""
    from portable_fn_azure.options import AzureOptions
    from portable_fn_azure.target import host_json

    app = pf.App("waits")

    @app.queue("jobs", retry=pf.Retry(max_retries=3, initial_backoff=2.0, max_backoff=20.0))
    def job(event: pf.CloudEvent) -> None: ...

    @app.queue("jobs-dead", retry=pf.Retry(max_retries=0, initial_backoff=60.0))
    def dead(event: pf.CloudEvent) -> None: ...

    queues = host_json(app, AzureOptions())["extensions"]["queues"]
    assert timespan(queues["visibilityTimeout"]) == 2.0, queues


def test_a_queue_no_message_is_retried_on_gets_no_retry_wait_warning() -> None:
    """One attempt host-wide (every queue of the app declares ``max_retries=0``): there is no
    retry to wait for, so no word about ``visibilityTimeout``'s fixed wait."""
    from portable_fn_azure.findings import findings
    from portable_fn_azure.options import AzureOptions

    once = pf.App("once")

    @once.queue("audit", max_retries=0)
    def audit(event: pf.CloudEvent) -> None: ...

    notes = [f.message for f in findings(once, AzureOptions()) if f.function == "audit"]
    assert not any("visibilityTimeout" in m for m in notes), notes


def test_event_hubs_start_and_batch_size_reach_host_json() -> None:
    # The host starts a partition without a checkpoint at initialOffsetOptions.type, fromStart
    # unless set: a start="latest" stream would replay the hub's whole retention on first deploy.
    # https://learn.microsoft.com/azure/azure-functions/functions-bindings-event-hubs#host-json
    from portable_fn_azure.options import AzureOptions
    from portable_fn_azure.target import host_json

    streams = pf.App("streams")

    @streams.stream("clicks", batch_size=250)
    def clicks(events: pf.CloudEvent) -> None: ...

    hubs = host_json(streams, AzureOptions())["extensions"]["eventHubs"]
    assert hubs["initialOffsetOptions"] == {"type": "fromEnd"}
    assert hubs["maxEventBatchSize"] == 250

    @streams.stream("audit", batch_size=10, start="trim_horizon")
    def audit(events: pf.CloudEvent) -> None: ...

    # Host-wide: nothing is skipped (fromStart) and the larger batch wins; both are reported.
    hubs = host_json(streams, AzureOptions())["extensions"]["eventHubs"]
    assert hubs["initialOffsetOptions"] == {"type": "fromStart"}
    assert hubs["maxEventBatchSize"] == 250
    found = {(f.function, f.level): f.message for f in AzureAdapter().findings(streams)}
    assert "fromStart" in found[("clicks", "warning")]
    assert "maxEventBatchSize" in found[("audit", "info")]


@pytest.mark.parametrize(("initial", "ceiling"), [(0.25, 300.0), (2.0, 2 * 86400.0)])
def test_event_hubs_retry_intervals_parse_as_the_worker_reads_them(
    initial: float, ceiling: float
) -> None:
    # The Python worker turns the retry policy into RpcRetryOptions with
    # time.strptime(value, "%H:%M:%S") (azure_functions_worker/loader.py convert_to_seconds):
    # a fraction or 24 hours and more fails indexing of the whole app.
    import time

    from portable_fn.triggers import Retry, Stream

    hub = pf.App("hub")
    hub.register(lambda events: None, Stream(
        name="clicks", retry=Retry(max_retries=2, initial_backoff=initial, max_backoff=ceiling)),
        name="clicks")
    (native,) = function_app(hub).get_functions()
    retry = native.get_settings_dict("retry_policy")
    assert retry is not None
    for key in ("minimum_interval", "maximum_interval"):
        time.strptime(retry[key], "%H:%M:%S")
    assert retry["minimum_interval"] != "00:00:00"  # a declared backoff still waits


def test_two_functions_on_one_event_hub_each_read_every_event() -> None:
    """``@app.stream`` consumers each read the whole stream (one Kinesis event source mapping
    each; the local broker delivers every record to each). Event Hubs triggers that share a
    consumer group compete for its partitions instead, each getting part of the events
    (MicrosoftDocs/azure-docs#36692, Azure/azure-webjobs-sdk#1171: "use different consumer
    groups for the two functions"). The first keeps $Default, the others get their own group,
    which must be created on the hub: a warning says so."""
    hubs = pf.App("hubs")

    @hubs.stream("clicks")
    def count_clicks(event: pf.CloudEvent) -> None: ...

    @hubs.stream("clicks")
    def audit_clicks(event: pf.CloudEvent) -> None: ...

    @hubs.stream("orders")
    def ship(event: pf.CloudEvent) -> None: ...

    groups = {}
    for fn in function_app(hubs).get_functions():
        [trigger] = [b for b in fn.get_bindings() if b.type == "eventHubTrigger"]
        groups[fn.get_function_name()] = trigger.get_dict_repr()["consumerGroup"]
    assert groups == {"count_clicks": "$Default", "audit_clicks": "audit_clicks",
                      "ship": "$Default"}
    found = [f for f in AzureAdapter().findings(hubs) if "consumer group" in f.message]
    assert [(f.function, f.level) for f in found] == [("audit_clicks", "warning")]
    assert "'audit_clicks'" in found[0].message and "'clicks'" in found[0].message


def test_event_grid_triggers_say_what_their_subscription_must_retry() -> None:
    """Event Grid retries an event 1-30 times on its own schedule and drops it after the last
    without a dead-letter destination (https://learn.microsoft.com/azure/event-grid/
    delivery-and-retry). ``@app.event`` and ``@app.storage`` said nothing of retries, so
    max_retries=0 got 30 attempts and no dead letter; a topic on Event Grid advised 101."""
    from portable_fn_azure.findings import findings
    from portable_fn_azure.options import AzureOptions

    grid = pf.App("grid")

    @grid.event("com.example.paid", max_retries=0)
    def paid(event: pf.CloudEvent) -> None: ...

    @grid.storage("uploads", max_retries=5)
    def uploaded(event: pf.CloudEvent) -> None: ...

    @grid.topic("news", max_retries=100)
    def news(event: pf.CloudEvent) -> None: ...

    notes = findings(grid, AzureOptions(topics="eventgrid"))

    def said(function: str, level: str) -> str:
        return " | ".join(f.message for f in notes if f.function == function and f.level == level)

    assert "maxDeliveryAttempts 1 " in said("paid", "info")
    assert "dead-letter destination" in said("paid", "info")
    assert "maxDeliveryAttempts 6 " in said("uploaded", "info")
    assert "maxDeliveryAttempts 30 " in said("news", "info")
    assert "at most 30 times" in said("news", "warning")
    assert "101" not in said("news", "info")
