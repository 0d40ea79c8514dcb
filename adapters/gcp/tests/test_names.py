# SPDX-License-Identifier: Apache-2.0
"""Deployed names: every portable function name maps to a name Cloud Run functions accepts."""

from __future__ import annotations

import re

import portable_fn as pf
import pytest
from portable_fn.errors import ConfigurationError

from portable_fn_gcp.names import service_name
from portable_fn_gcp.plan import build

# Cloud Run functions: 4-63 of [a-z0-9-], starting with a letter, not ending with '-'
# (functions_v2 CreateFunctionRequest.function_id; Cloud Run service metadata.name).
VALID = re.compile(r"[a-z][a-z0-9-]{2,61}[a-z0-9]")


@pytest.mark.parametrize(
    ("app", "function", "service"),
    [("shop", "create_order", "shop-create-order"), ("shop", "getOrder", "shop-getorder"),
     ("shop", "get", "shop-get"), ("a", "b", "a-b-fn"), ("shop", "retry_", "shop-retry"),
     ("a", "go_", "a-go"), ("x", "y_", "x-y-fn"), ("shop", "x" * 58, "shop-" + "x" * 58)],
)
def test_service_names_are_valid(app: str, function: str, service: str) -> None:
    """``<app>-<function>``: Cloud Run function names are unique per project and region, so
    the app's name keeps two apps' ``create_order`` apart."""
    assert service_name(app, function) == service
    assert VALID.fullmatch(service)


def test_a_name_too_long_is_shortened_with_a_hash_of_the_full_name() -> None:
    first, second = service_name("shop", "x" * 62 + "1"), service_name("shop", "x" * 62 + "2")
    assert len(first) == len(second) == 63 and first != second
    assert first[:-9] == second[:-9] == "shop-" + "x" * 49
    assert VALID.fullmatch(first) and VALID.fullmatch(second)
    assert service_name("shop", "x" * 62 + "1") == first  # stable
    # A prefix ending in '-' is not left as '--' before the hash.
    cut = service_name("shop", "x" * 49 + "_" + "y" * 13)
    assert VALID.fullmatch(cut) and "--" not in cut


def test_functions_that_would_share_a_service_are_refused() -> None:
    app = pf.App("clash")

    @app.http("/a", methods=["GET"])
    def getOrder(req: pf.Request) -> str:
        return "a"

    @app.http("/b", methods=["GET"])
    def getorder(req: pf.Request) -> str:
        return "b"

    with pytest.raises(ConfigurationError, match=r"getOrder.*getorder.*getorder"):
        build(app)


def test_no_pubsub_name_begins_with_goog() -> None:
    """Topic and subscription names "must not start with "goog"" (google.pubsub.v1 Topic.name,
    https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.topics): the names the
    package makes up (a function's dead-letter topic, the event bus topic) avoid it, and a
    name the app gives is refused at packaging, not left to fail deploy.sh halfway."""
    from portable_fn_gcp.plan import bus_topic

    app = pf.App("google-sync")

    @app.storage("drive-files")
    def google_drive(event: pf.CloudEvent) -> None: ...

    @app.event("com.example.synced")
    def synced(event: pf.CloudEvent) -> None: ...

    built = build(app)
    assert built.topics and not [t for t in built.topics if t.startswith("goog")]
    assert not bus_topic(app).startswith("goog")
    given = pf.App("given")

    @given.queue("google-orders")
    def orders(event: pf.CloudEvent) -> None: ...

    with pytest.raises(ConfigurationError, match="google-orders"):
        build(given)
