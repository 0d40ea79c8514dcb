# SPDX-License-Identifier: Apache-2.0
"""Each function's own ``timeout=`` and ``memory=`` in the SAM template, and what Lambda
cannot take: its own Timeout and MemorySize over the Globals' defaults, the source queue's
visibility following the function that reads it, refusals past Lambda's ceilings, a warning
past the HTTP API's 30 s, and ``invoke`` / the harness handing the handler the function's own
deadline and memory. Real packaging, real YAML, cfn-lint on what is written.

Lambda: timeout 1..900 s (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html),
memory 128..10,240 MB (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from test_aws_target import _cfn_lint, _package, _template

import portable_fn as pf
from portable_fn.errors import ConfigurationError
from portable_fn_aws.adapter import AwsAdapter, adapter
from portable_fn_aws.harness import AwsHarness


def _effective(template: dict[str, Any], function_id: str, key: str) -> Any:
    """What the function gets: its own property, else the Globals' (SAM's override rule:
    https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-template-anatomy-globals.html)."""
    own = template["Resources"][function_id]["Properties"]
    return own.get(key, template["Globals"]["Function"][key])


def test_the_shop_report_gets_its_own_timeout_and_memory_the_others_the_defaults(
    shop_package: Path,
) -> None:
    template = _template(shop_package)
    functions = [
        k for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"
    ]
    assert "NightlyReportFunction" in functions and len(functions) == 8
    for function_id in functions:
        expected = (120, 512) if function_id == "NightlyReportFunction" else (30, 256)
        got = tuple(_effective(template, function_id, k) for k in ("Timeout", "MemorySize"))
        assert got == expected, function_id
    report = template["Resources"]["NightlyReportFunction"]["Properties"]
    assert (report["Timeout"], report["MemorySize"]) == (120, 512)  # its own, not Globals'


def _consumers() -> pf.App:
    app = pf.App("consumers")

    # Declared first, so the queue exists (as something it sends to) before its reader.
    @app.http("/jobs", methods=["POST"], auth="anonymous")
    def submit(req: pf.Request) -> None:
        pf.send("jobs", {"k": 1})

    @app.queue("jobs", timeout=100, memory=1024)
    def work(event: pf.CloudEvent) -> None: ...

    @app.topic("news", timeout=900)
    def read_news(event: pf.CloudEvent) -> None: ...

    @app.queue("plain")
    def plain(event: pf.CloudEvent) -> None: ...

    return app


def test_a_source_queue_hides_messages_six_times_its_readers_timeout(tmp_path: Path) -> None:
    """Lambda requires the visibility at least the function timeout and AWS advises six times
    it (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html), below SQS's
    12 h maximum: 900 s gives 5400 s."""
    out = tmp_path / "aws"
    _package(_consumers(), "consumers_app", out)
    template = _template(out)
    resources = template["Resources"]
    assert resources["JobsQueue"]["Properties"]["VisibilityTimeout"] == 600
    assert resources["ReadNewsInboxQueue"]["Properties"]["VisibilityTimeout"] == 5400
    assert resources["PlainQueue"]["Properties"]["VisibilityTimeout"] == 180  # 6 x 30 s
    assert _effective(template, "WorkFunction", "Timeout") == 100
    assert _effective(template, "WorkFunction", "MemorySize") == 1024
    assert _effective(template, "ReadNewsFunction", "Timeout") == 900
    result = _cfn_lint(out / "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_fifo_finding_names_the_visibility_of_its_own_queue() -> None:
    app = pf.App("fifo")

    @app.queue("orders", fifo=True, timeout=45)
    def orders(event: pf.CloudEvent) -> None: ...

    (found,) = [f for f in AwsAdapter().findings(app) if "FIFO" in f.message]
    assert "270 s" in found.message


def test_an_existing_source_queue_is_told_the_visibility_its_reader_needs() -> None:
    """The stack sets no visibility on a queue it does not own (PORTABLE_FN_AWS_EXISTING)."""
    app = pf.App("existing")

    @app.queue("jobs", timeout=100)
    def work(event: pf.CloudEvent) -> None: ...

    existing = {"jobs": "arn:aws:sqs:eu-west-1:123456789012:jobs"}
    (found,) = [f for f in AwsAdapter(existing=existing).findings(app) if f.level == "warning"]
    assert "visibility timeout" in found.message and "100 s" in found.message


def _beyond(timeout: int | None = None, memory: int | None = None) -> pf.App:
    app = pf.App("beyond")

    @app.schedule("rate(1 hour)", timeout=timeout, memory=memory)
    def report(event: pf.CloudEvent) -> None: ...

    @app.queue("jobs")
    def work(event: pf.CloudEvent) -> None: ...

    return app


@pytest.mark.parametrize(
    ("timeout", "memory", "words"),
    [(901, None, ["timeout=901", "900"]), (None, 10_241, ["memory=10241", "10240"])],
)
def test_past_lambdas_ceilings_is_unsupported_and_package_refuses(
    tmp_path: Path, timeout: int | None, memory: int | None, words: list[str]
) -> None:
    app = _beyond(timeout, memory)
    unsupported = [f for f in AwsAdapter().findings(app) if f.level == "unsupported"]
    assert [f.function for f in unsupported] == ["report"]
    assert all(w in unsupported[0].message for w in words), unsupported[0].message
    out = tmp_path / "aws"
    with pytest.raises(ConfigurationError, match=words[0]):
        _package(app, "beyond_app", out)
    assert not out.exists()


def test_lambdas_ceilings_themselves_are_taken(tmp_path: Path) -> None:
    out = tmp_path / "aws"
    findings = _package(_beyond(900, 10_240), "ceiling_app", out)
    assert not [f for f in findings if f.level == "unsupported"]
    properties = _template(out)["Resources"]["ReportFunction"]["Properties"]
    assert (properties["Timeout"], properties["MemorySize"]) == (900, 10_240)


def test_an_http_timeout_past_the_http_apis_30_seconds_is_a_warning() -> None:
    """An HTTP API waits 30 s for its integration, whatever the function's timeout
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html)."""
    app = pf.App("slow", timeout=31)

    @app.http("/slow", methods=["GET"], auth="anonymous")
    def slow(req: pf.Request) -> None: ...

    @app.http("/fast", methods=["GET"], auth="anonymous", timeout=30)
    def fast(req: pf.Request) -> None: ...

    @app.queue("jobs")  # not behind the API: no warning for it
    def work(event: pf.CloudEvent) -> None: ...

    found = [f for f in AwsAdapter().findings(app) if "30 s" in f.message]
    assert [(f.function, f.level) for f in found] == [("slow", "warning")]
    assert "503" in found[0].message and "timeout=31" in found[0].message


def _recorder(seen: list[pf.Context]) -> pf.App:
    app = pf.App("recorder")

    @app.schedule("rate(1 day)", timeout=120, memory=512)
    def report(event: pf.CloudEvent, ctx: pf.Context) -> None:
        seen.append(ctx)

    @app.schedule("rate(1 hour)")
    def hourly(event: pf.CloudEvent, ctx: pf.Context) -> None:
        seen.append(ctx)

    return app


def test_invoke_hands_the_handler_the_functions_own_deadline_and_memory() -> None:
    seen: list[pf.Context] = []
    app = _recorder(seen)
    for name in ("report", "hourly"):
        adapter.invoke(app, name, adapter.sample_events()["schedule"])
    report, hourly = seen
    assert report.native_context.memory_limit_in_mb == 512
    assert report.native_context.function_name == "report"
    # Beyond the 30 s default: the deadline is the function's 120 s, counted from the start.
    assert report.remaining_time is not None and 30 < report.remaining_time <= 120
    assert hourly.native_context.memory_limit_in_mb == 256
    assert hourly.remaining_time is not None and hourly.remaining_time <= 30


def test_the_harness_runs_a_function_with_its_own_limits() -> None:
    seen: list[pf.Context] = []
    AwsHarness().schedule(_recorder(seen), "report", datetime.now(timezone.utc))
    assert seen[0].native_context.memory_limit_in_mb == 512
    assert seen[0].remaining_time is not None and seen[0].remaining_time > 30
