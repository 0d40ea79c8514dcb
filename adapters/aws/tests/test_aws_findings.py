# SPDX-License-Identifier: Apache-2.0
"""What the AWS target cannot express is a finding for ``inspect`` and a refusal for ``package``.

EventBridge cron needs ``?`` in day-of-month or day-of-week, so it cannot say "the 1st OR a
Monday" as a five-field cron with both restricted does:
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
"""

from __future__ import annotations

from pathlib import Path

import pytest

import portable_fn as pf
from portable_fn._local.inspect import findings as inspect_findings
from portable_fn.errors import ConfigurationError
from portable_fn_aws.adapter import AwsAdapter


def _app() -> pf.App:
    app = pf.App("crons")

    @app.schedule(cron="0 3 1 * MON")  # the 1st of the month or any Monday
    def either(event: pf.CloudEvent) -> None: ...

    @app.queue("jobs")
    def work(event: pf.CloudEvent) -> None: ...

    return app


def test_cron_restricting_both_days_is_an_unsupported_finding_among_the_others() -> None:
    found = AwsAdapter().findings(_app())
    unsupported = [f for f in found if f.level == "unsupported"]
    assert [f.function for f in unsupported] == ["either"]
    assert "day of month and weekday" in unsupported[0].message
    assert any(f.function == "work" for f in found)  # the other functions' findings stay


def test_inspect_lists_the_aws_findings_instead_of_a_load_failure() -> None:
    """``inspect`` runs every installed adapter through its entry point (the real one here)."""
    aws = inspect_findings(_app())["aws"]
    assert isinstance(aws, list), aws  # a dict is "adapter failed to load"
    assert {"function": "either", "level": "unsupported"}.items() <= next(
        f for f in aws if f["level"] == "unsupported"
    ).items()


def test_package_still_refuses_it_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "aws"
    with pytest.raises(ConfigurationError, match="day of month and weekday"):
        AwsAdapter().package(_app(), "examples.shop.app:app", out)
    assert not out.exists()


def _bucket_app(second_prefix: str, second_on: tuple[str, ...] = ("created",)) -> pf.App:
    app = pf.App("uploads")

    @app.storage("uploads", on=("created",), suffix=".jpg")
    def thumbnails(event: pf.CloudEvent) -> None: ...

    @app.storage("uploads", on=second_on, prefix=second_prefix)  # type: ignore[arg-type]
    def index(event: pf.CloudEvent) -> None: ...

    return app


@pytest.mark.parametrize("prefix", ["", "in/"])
def test_overlapping_notifications_on_one_bucket_are_refused(prefix: str) -> None:
    """S3 refuses two notifications of one event type whose prefixes and suffixes could both
    match one key ("Configuration is ambiguously defined"), so the stack would not deploy:
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html"""
    found = AwsAdapter().findings(_bucket_app(prefix))
    unsupported = [f for f in found if f.level == "unsupported"]
    assert [f.function for f in unsupported] == ["index"]
    assert "thumbnails" in unsupported[0].message and "uploads" in unsupported[0].message


def test_notifications_of_other_event_types_are_kept() -> None:
    found = AwsAdapter().findings(_bucket_app("", ("deleted",)))
    assert not [f for f in found if f.level == "unsupported"]


def test_disjoint_prefixes_on_one_bucket_are_kept() -> None:
    app = pf.App("media")

    @app.storage("media", prefix="in/")
    def incoming(event: pf.CloudEvent) -> None: ...

    @app.storage("media", prefix="out/")
    def outgoing(event: pf.CloudEvent) -> None: ...

    assert not [f for f in AwsAdapter().findings(app) if f.level == "unsupported"]


@pytest.mark.parametrize("runtime", ["python3.9", "python3.8", "python3.x", "python3."])
def test_runtimes_the_core_cannot_run_on_are_refused(runtime: str) -> None:
    """portable_fn needs Python 3.10 or later (``requires-python``): a python3.9 function would
    deploy and then fail every import."""
    with pytest.raises(ConfigurationError, match="runtime"):
        AwsAdapter(runtime=runtime).findings(_app())


def _clashing_app() -> pf.App:
    app = pf.App("clash")

    @app.queue("jobs-1")
    def first(event: pf.CloudEvent) -> None: ...

    @app.queue("jobs1")  # the same CloudFormation logical id, Jobs1Queue
    def second(event: pf.CloudEvent) -> None: ...

    @app.topic("news")
    def notify(event: pf.CloudEvent) -> None: ...  # reads through its queue notify-inbox

    @app.queue("notify-inbox")
    def inbox_reader(event: pf.CloudEvent) -> None: ...

    @app.http("/a", methods=["GET"])
    def get_item(req: pf.Request) -> None: ...

    @app.http("/b", methods=["GET"])
    def getItem(req: pf.Request) -> None: ...  # GetItemFunction, as get_item

    return app


def test_names_that_share_a_logical_id_are_refused() -> None:
    """Two resources under one logical id would be one resource: the second silently replaced
    or merged into the first (a function lost, a topic's subscription reading a queue another
    function drains). https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resources-section-structure.html
    """
    unsupported = [f for f in AwsAdapter().findings(_clashing_app()) if f.level == "unsupported"]
    assert [f.function for f in unsupported] == ["second", "inbox_reader", "getItem"]
    assert "Jobs1Queue" in unsupported[0].message and "'jobs-1'" in unsupported[0].message
    assert "notify" in unsupported[1].message
    assert "GetItemFunction" in unsupported[2].message


def test_an_iam_route_says_how_callers_authenticate() -> None:
    """``auth="function"`` puts the route behind IAM (``EnableIamAuthorizer``): callers sign
    requests with SigV4, as GCP's finding says callers send an identity token.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html
    """
    app = pf.App("routes")

    @app.http("/private", methods=["GET", "POST"])
    def private(req: pf.Request) -> None: ...

    @app.http("/open", methods=["GET"], auth="anonymous")
    def public(req: pf.Request) -> None: ...

    found = [f for f in AwsAdapter().findings(app) if "SigV4" in f.message]
    assert [(f.function, f.level) for f in found] == [("private", "info")]
    assert "IAM" in found[0].message and "auth='anonymous'" in found[0].message
