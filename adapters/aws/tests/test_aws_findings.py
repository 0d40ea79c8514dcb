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
