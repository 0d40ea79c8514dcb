"""``pf.metric``: one line per call, CloudWatch EMF on AWS, a JSON line elsewhere.

EMF: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import portable_fn as pf
from portable_fn import log
from portable_fn.adapter import dispatch_event

# The units EMF's JSON schema allows (its MetricUnit pattern).
EMF_UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
}


_NAME = {"type": "string", "pattern": "^(.*)$", "minLength": 1, "maxLength": 255}
# The specification's JSON schema, with its current limit of 30 dimension keys a set.
EMF_SCHEMA = {
    "type": "object",
    "required": ["_aws"],
    "properties": {"_aws": {
        "type": "object",
        "required": ["Timestamp", "CloudWatchMetrics"],
        "properties": {
            "Timestamp": {"type": "integer"},
            "CloudWatchMetrics": {"type": "array", "items": {
                "type": "object",
                "required": ["Namespace", "Dimensions", "Metrics"],
                "properties": {
                    "Namespace": _NAME,
                    "Dimensions": {"type": "array", "minItems": 1, "items": {
                        "type": "array", "minItems": 0, "maxItems": 30, "items": _NAME}},
                    "Metrics": {"type": "array", "items": {
                        "type": "object",
                        "required": ["Name"],
                        "properties": {
                            "Name": _NAME,
                            "Unit": {"type": "string", "pattern": "^(Seconds|Microseconds|"
                                     "Milliseconds|Bytes|Kilobytes|Megabytes|Gigabytes|"
                                     "Terabytes|Bits|Kilobits|Megabits|Gigabits|Terabits|"
                                     "Percent|Count|Bytes\\/Second|Kilobytes\\/Second|"
                                     "Megabytes\\/Second|Gigabytes\\/Second|"
                                     "Terabytes\\/Second|Bits\\/Second|Kilobits\\/Second|"
                                     "Megabits\\/Second|Gigabits\\/Second|"
                                     "Terabits\\/Second|Count\\/Second|None)$"},
                        },
                    }},
                },
            }},
        },
    }},
}


def assert_emf(document: dict[str, Any]) -> None:
    """The specification's rules and JSON schema: ``_aws`` with an integer Timestamp and
    MetricDirectives; each a Namespace (1-255 characters), Dimensions (at least one
    DimensionSet of at most 30 keys, each a root member with a string value) and at most 100
    MetricDefinitions, each naming a numeric root member, with a known Unit."""
    try:
        import jsonschema  # type: ignore[import-untyped, unused-ignore]
    except ImportError:  # the rules below still hold
        pass
    else:
        jsonschema.validate(document, EMF_SCHEMA)
    metadata = document["_aws"]
    assert isinstance(metadata, dict) and isinstance(metadata["Timestamp"], int)
    assert set(metadata) == {"Timestamp", "CloudWatchMetrics"}
    directives = metadata["CloudWatchMetrics"]
    assert isinstance(directives, list) and directives
    for directive in directives:
        assert set(directive) == {"Namespace", "Dimensions", "Metrics"}
        assert isinstance(directive["Namespace"], str)
        assert 1 <= len(directive["Namespace"]) <= 255
        assert isinstance(directive["Dimensions"], list) and len(directive["Dimensions"]) >= 1
        for dimension_set in directive["Dimensions"]:
            assert isinstance(dimension_set, list) and len(dimension_set) <= 30
            for key in dimension_set:
                assert isinstance(key, str) and 1 <= len(key) <= 255
                assert isinstance(document[key], str)
        assert 1 <= len(directive["Metrics"]) <= 100
        for definition in directive["Metrics"]:
            assert set(definition) <= {"Name", "Unit"}
            name = definition["Name"]
            assert isinstance(name, str) and 1 <= len(name) <= 255
            value = document[name]
            assert type(value) in (int, float) and math.isfinite(value)
            assert definition.get("Unit", "None") in EMF_UNITS


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def context(provider: str) -> pf.Context:
    return pf.Context(provider=provider, function_name="job", invocation_id="inv-1")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_LOG_LEVEL", "PORTABLE_FN_LOG_LEVEL",
                 "PORTABLE_FN_METRICS_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    log.set_level(None)
    yield
    monkeypatch.undo()
    log.set_level(None)


def run(provider: str, handler: Any) -> None:
    app = pf.App("shop")
    app.queue("jobs", name="job")(handler)
    dispatch_event(app, "job", pf.CloudEvent.create(type="t", source="/s"), context(provider))


def test_one_emf_document_per_call_on_aws(capsys: pytest.CaptureFixture[str]) -> None:
    def job(event: pf.CloudEvent) -> None:
        pf.metric("OrdersProcessed", 2, region="eu")
        pf.metric("Latency", 12.5, unit="Milliseconds")

    run("aws", job)
    first, second = lines(capsys)
    for document in (first, second):
        assert_emf(document)
    (directive,) = first["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "shop"  # the app's name
    assert directive["Dimensions"] == [["service", "function", "region"]]
    assert directive["Metrics"] == [{"Name": "OrdersProcessed", "Unit": "Count"}]
    assert (first["service"], first["function"], first["region"], first["OrdersProcessed"]) == (
        "shop", "job", "eu", 2)
    (directive,) = second["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["service", "function"]]
    assert directive["Metrics"] == [{"Name": "Latency", "Unit": "Milliseconds"}]
    assert second["Latency"] == 12.5


def test_the_namespace_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORTABLE_FN_METRICS_NAMESPACE", "Shop/Payments")
    run("aws", lambda event: pf.metric("Paid"))
    (document,) = lines(capsys)
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Shop/Payments"
    assert document["Paid"] == 1


def test_written_at_once_when_the_handler_then_raises(capsys: pytest.CaptureFixture[str]) -> None:
    def job(event: pf.CloudEvent) -> None:
        pf.metric("Attempts")
        raise RuntimeError("boom")

    run("aws", job)
    documents = [line for line in lines(capsys) if "_aws" in line]
    assert [document["Attempts"] for document in documents] == [1]


@pytest.mark.parametrize("provider", ["gcp", "azure", "cloudflare", "local"])
def test_a_json_line_elsewhere(provider: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(provider, lambda event: pf.metric("Latency", 3, unit="Milliseconds", region="eu"))
    (line,) = lines(capsys)
    assert "_aws" not in line
    assert {key: line[key] for key in ("metric", "value", "unit", "service", "function",
                                       "provider", "region")} == {
        "metric": "Latency", "value": 3, "unit": "Milliseconds", "service": "shop",
        "function": "job", "provider": provider, "region": "eu"}


def test_outside_an_invocation_no_service_or_function(capsys: pytest.CaptureFixture[str]) -> None:
    pf.metric("Warmed", region="eu")
    (line,) = lines(capsys)
    assert (line["metric"], line["value"], line["unit"], line["region"]) == (
        "Warmed", 1, "Count", "eu")
    assert not {"service", "function", "_aws"} & set(line)


def test_outside_an_invocation_in_lambda_emf_in_the_default_namespace(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "shop-job")
    log.set_level(None)
    pf.metric("Warmed", region="eu")
    (document,) = lines(capsys)
    assert_emf(document)
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "portable-fn"
    assert directive["Dimensions"] == [["region"]]


@pytest.mark.parametrize("provider", ["aws", "gcp"])
def test_written_whatever_the_log_level(
    provider: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORTABLE_FN_LOG_LEVEL", "CRITICAL")
    log.set_level(None)
    run(provider, lambda event: pf.metric("Paid"))
    (line,) = lines(capsys)
    assert line.get("Paid", line.get("value")) == 1


def test_at_least_at_lambda_s_log_level(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda drops a JSON line below the function's application log level
    (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html):
    an EMF line said INFO at WARN would be no metric at all."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "shop-job")
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "WARN")
    log.set_level(None)
    run("aws", lambda event: pf.metric("Paid"))
    pf.metric("Warmed")
    inside, outside = lines(capsys)
    assert inside["level"] == outside["level"] == "WARN"
    assert inside["Paid"] == outside["Warmed"] == 1


@pytest.mark.parametrize(
    ("call", "error", "text"),
    [
        (lambda: pf.metric("Latency", 1, unit="ms"), ValueError, "Milliseconds"),
        (lambda: pf.metric("Latency", 1, unit="count"), ValueError, "Count/Second"),
        (lambda: pf.metric("Latency", math.nan), ValueError, "finite"),
        (lambda: pf.metric("Latency", math.inf), ValueError, "finite"),
        (lambda: pf.metric("Latency", "1"), TypeError, "number"),  # type: ignore[arg-type]
        (lambda: pf.metric("Latency", True), TypeError, "number"),
        (lambda: pf.metric(""), ValueError, "name"),
        (lambda: pf.metric("x" * 256), ValueError, "name"),
        (lambda: pf.metric("Latency", region=1), TypeError, "region"),  # type: ignore[arg-type]
        (lambda: pf.metric("region", region="eu"), ValueError, "alike"),
        (lambda: pf.metric("Latency", service="other"), ValueError, "service"),
        (lambda: pf.metric("Latency", message="m"), ValueError, "message"),
        (lambda: pf.metric("level"), ValueError, "level"),
        (lambda: pf.metric("Latency", 1, **{f"d{i}": "v" for i in range(31)}), ValueError, "30"),
    ],
)
def test_bad_calls_raise_at_the_call_and_write_nothing(
    call: Any, error: type[Exception], text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(error, match=text):
        call()
    assert capsys.readouterr().out == ""


def test_the_dimension_limit_counts_service_and_function(
    capsys: pytest.CaptureFixture[str],
) -> None:
    raised: list[BaseException] = []

    def job(event: pf.CloudEvent) -> None:
        pf.metric("Ok", 1, **{f"d{i}": "v" for i in range(28)})
        try:
            pf.metric("TooMany", 1, **{f"d{i}": "v" for i in range(29)})
        except ValueError as exc:
            raised.append(exc)

    run("aws", job)
    (document,) = lines(capsys)
    assert_emf(document)
    assert len(document["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) == 30
    assert len(raised) == 1 and "30" in str(raised[0])


def test_every_unit_emf_knows_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    def job(event: pf.CloudEvent) -> None:
        for unit in sorted(EMF_UNITS):
            pf.metric("Value", 1, unit=unit)

    run("aws", job)
    documents = lines(capsys)
    for document in documents:
        assert_emf(document)
    assert {d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] for d in documents} == (
        EMF_UNITS)


def test_import_portable_fn_does_not_load_the_metrics_module() -> None:
    probe = (
        "import sys, portable_fn as pf; assert 'portable_fn.metrics' not in sys.modules; "
        "from portable_fn import metric; assert metric is pf.metric; "
        "assert 'portable_fn.metrics' in sys.modules; assert 'metric' in dir(pf)"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_a_dimension_named_like_logging_s_exc_info_is_refused() -> None:
    """``Logger.emit`` takes ``exc_info`` as stdlib logging's argument: a dimension of that
    name vanished from the line (and its EMF document named a dimension it lacked)."""
    with pytest.raises(ValueError, match="exc_info"):
        pf.metric("Orders", 1, exc_info="x")
