# SPDX-License-Identifier: Apache-2.0
"""The aws packaging target: app.zip contents and the SAM template (cfn-lint clean)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

import portable_fn as _pf_alias
import portable_fn as pf
from portable_fn import publish as _alias_publish
from portable_fn.adapter import Finding
from portable_fn.triggers import Schedule
from portable_fn_aws._schedule_expr import aws_expression
from portable_fn_aws.adapter import adapter

REPO = Path(__file__).resolve().parents[3]


def _template(folder: Path) -> dict[str, Any]:
    # CloudFormation's short-form tags are not used, so plain YAML reads it.
    return yaml.safe_load((folder / "template.yaml").read_text())  # type: ignore[no-any-return]


def _cfn_lint(template: Path) -> subprocess.CompletedProcess[str]:
    # cfn-lint's console entry point (it runs the SAM transform before linting).
    runner = "import sys; from cfnlint.runner import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", runner, str(template)], capture_output=True, text=True
    )


def _package(app: pf.App, name: str, out: Path) -> list[Finding]:
    """Package an app built in a test: the target imports it by reference, so the app is
    published as this module's attribute ``name`` first."""
    setattr(sys.modules[__name__], name, app)
    return adapter.package(app, f"{__name__}:{name}", out)


def test_cfn_lint_passes_with_no_errors_or_warnings(shop_package: Path) -> None:
    result = _cfn_lint(shop_package / "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def _sam_transform(template: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation the SAM transform makes of ``template``: aws-sam-translator, the
    library SAM and CloudFormation's ``AWS::Serverless`` transform run, offline (the code's
    local path stands for its S3 upload, as ``sam deploy`` makes it one)."""
    import os

    from samtranslator.parser import parser
    from samtranslator.translator.translator import Translator

    function = template.get("Globals", {}).get("Function", {})
    if "CodeUri" in function:
        function["CodeUri"] = "s3://artifacts/app.zip"
    for resource in template["Resources"].values():
        if "CodeUri" in resource.get("Properties", {}):
            resource["Properties"]["CodeUri"] = "s3://artifacts/app.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    translated = Translator(managed_policy_map={}, sam_parser=parser.Parser()).translate(
        sam_template=template, parameter_values={})
    return json.loads(json.dumps(translated, default=str))  # type: ignore[no-any-return]


def test_the_sam_transform_takes_the_template_and_its_output_lints_clean(
    shop_package: Path, tmp_path: Path
) -> None:
    """cfn-lint 1.5x no longer runs the SAM transform: it checks ``AWS::Serverless::*``
    resources against SAM's schema, which let an event property SAM refuses through (the
    control below). So the template also goes through the transform itself, and cfn-lint
    checks the CloudFormation that comes out, resource by resource, as CloudFormation sees it."""
    from samtranslator.public.exceptions import InvalidDocumentException

    translated = _sam_transform(_template(shop_package))
    assert any(r["Type"] == "AWS::Lambda::EventSourceMapping"
               for r in translated["Resources"].values())
    out = tmp_path / "transformed.json"
    out.write_text(json.dumps(translated))
    result = _cfn_lint(out)
    # SAM's own SQSPollerPolicy template grants sqs:ChangeMessageVisibilityBatch and
    # sqs:DeleteMessageBatch, which IAM authorizes through the single-message actions and
    # cfn-lint's action list leaves out (W3037): SAM's text, not the template's.
    sam_own = re.compile(r"W3037 '(changemessagevisibilitybatch|deletemessagebatch)' is not")
    findings = [
        block for block in result.stdout.strip().split("\n\n")
        if block.strip() and not sam_own.match(block.strip())
    ]
    assert findings == [], result.stdout + result.stderr
    assert result.returncode in (0, 4), result.stderr  # 4: warnings only (those above)
    broken = _template(shop_package)
    queue_event = next(
        event for r in broken["Resources"].values() if r["Type"] == "AWS::Serverless::Function"
        for event in r["Properties"].get("Events", {}).values() if event["Type"] == "SQS")
    queue_event["Properties"]["Bogus"] = 1
    with pytest.raises(InvalidDocumentException, match="Bogus"):
        _sam_transform(broken)


def test_a_get_route_takes_head_with_the_same_auth(shop_package: Path) -> None:
    """API Gateway routes by method: without a HEAD route its own 404 answered a HEAD on a GET
    route before the function (where the core answers HEAD as GET) could."""
    resources = _template(shop_package)["Resources"]
    events = resources["GetOrderFunction"]["Properties"]["Events"]
    routes = {e["Properties"]["Method"]: e["Properties"] for e in events.values()}
    assert set(routes) == {"GET", "HEAD"}
    assert routes["HEAD"]["Path"] == routes["GET"]["Path"]
    assert routes["HEAD"].get("Auth") == routes["GET"].get("Auth")
    created = resources["CreateOrderFunction"]["Properties"]["Events"]
    assert [e["Properties"]["Method"] for e in created.values()] == ["POST"]


def test_one_function_per_handler_with_its_event_source(shop_package: Path) -> None:
    resources = _template(shop_package)["Resources"]
    functions = {
        k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"
    }
    assert {p["Handler"] for p in functions.values()} == {
        f"pf_entry.{n}"
        for n in (
            "create_order",
            "get_order",
            "notify_customer",
            "request_fulfilment",
            "fulfil",
            "nightly_report",
            "on_upload",
            "invoice_paid",
        )
    }
    kinds = {k: [e["Type"] for e in p["Events"].values()] for k, p in functions.items()}
    assert kinds["CreateOrderFunction"] == ["HttpApi"] and kinds["FulfilFunction"] == ["SQS"]
    assert kinds["NotifyCustomerFunction"] == ["SQS"] and kinds["OnUploadFunction"] == ["S3"]
    assert kinds["NightlyReportFunction"] == ["Schedule"]
    assert kinds["InvoicePaidFunction"] == ["EventBridgeRule"]
    fulfil = functions["FulfilFunction"]["Events"]["Queue"]["Properties"]
    assert fulfil["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    schedule = functions["NightlyReportFunction"]["Events"]["Schedule"]["Properties"]
    assert schedule["Schedule"] == "rate(1 day)"
    rule = functions["InvoicePaidFunction"]["Events"]["Bus"]["Properties"]["Pattern"]
    assert rule == {"detail-type": ["com.example.invoice.paid"]}


def test_queues_redrive_to_dead_letter_queues(shop_package: Path) -> None:
    resources = _template(shop_package)["Resources"]
    redrive = resources["FulfilmentQueue"]["Properties"]["RedrivePolicy"]
    assert redrive == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["FulfilmentDlqQueue", "Arn"]},
        "maxReceiveCount": 4,
    }  # max_retries=3 -> 4 receives
    inbox = resources["NotifyCustomerInboxQueue"]["Properties"]["RedrivePolicy"]
    assert inbox["maxReceiveCount"] == 5  # topic default Retry(max_retries=4)
    sub = resources["NotifyCustomerSubscription"]["Properties"]
    assert sub["Protocol"] == "sqs" and sub["TopicArn"] == {"Ref": "OrderEventsTopic"}


def test_policies_grant_only_what_each_function_publishes_to(shop_package: Path) -> None:
    resources = _template(shop_package)["Resources"]
    create = resources["CreateOrderFunction"]["Properties"]
    assert create["Policies"] == [
        {
            "SNSPublishMessagePolicy": {
                "TopicName": {"Fn::GetAtt": ["OrderEventsTopic", "TopicName"]}
            }
        }
    ]
    assert create["Environment"]["Variables"] == {
        "PF_TOPIC_ORDER_EVENTS": {"Ref": "OrderEventsTopic"}
    }
    request = resources["RequestFulfilmentFunction"]["Properties"]
    assert request["Policies"] == [
        {"SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": ["FulfilmentQueue", "QueueName"]}}},
        # its inbox's dead-letter queue, for messages that retrying cannot fix
        {
            "SQSSendMessagePolicy": {
                "QueueName": {"Fn::GetAtt": ["RequestFulfilmentInboxDlqQueue", "QueueName"]}
            }
        },
        # ChangeMessageVisibility on its inbox, for the retry backoff
        {
            "SQSPollerPolicy": {
                "QueueName": {"Fn::GetAtt": ["RequestFulfilmentInboxQueue", "QueueName"]}
            }
        },
    ]
    assert request["Environment"]["Variables"]["PF_DEAD_LETTER_URL"] == {
        "Ref": "RequestFulfilmentInboxDlqQueue"
    }
    assert request["Environment"]["Variables"]["PF_SOURCE_QUEUE_URL"] == {
        "Ref": "RequestFulfilmentInboxQueue"
    }
    assert "Policies" not in resources["GetOrderFunction"]["Properties"]


def test_zip_is_small_deterministic_and_without_boto3(shop_package: Path, tmp_path: Path) -> None:
    from examples.shop.app import app

    # Two packagings back to back (not against the session's package: the tree may be edited
    # between the two in a working checkout).
    adapter.package(app, "examples.shop.app:app", tmp_path / "one")
    adapter.package(app, "examples.shop.app:app", tmp_path / "two")
    first = (tmp_path / "one" / "app.zip").read_bytes()
    assert first == (tmp_path / "two" / "app.zip").read_bytes()
    assert len(first) < 100_000
    names = zipfile.ZipFile(shop_package / "app.zip").namelist()
    assert "pf_entry.py" in names and "examples/shop/app.py" in names
    assert not any(n.startswith(("boto3", "botocore")) or n.endswith(".pyc") for n in names)
    # What never runs in Lambda stays out (the shop uses no idempotency, so no SQLite store).
    # Nor does the middleware module, for an app that registers none.
    never = {"portable_fn/testing.py", "portable_fn/asgi.py", "portable_fn/_sqlite.py",
             "portable_fn/_middleware.py"}
    assert not never & set(names) and not any(n.endswith("py.typed") for n in names)


def test_file_path_app_and_runtime_setting(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "helpers.py").write_text("GREETING = 'hi'\n")
    (source / "requirements.txt").write_text("boto3\n# the runtime has it\n")
    (source / "svc.py").write_text(
        "import portable_fn as pf\nfrom helpers import GREETING\napp = pf.App('svc')\n"
        "@app.http('/', methods=['GET'], auth='anonymous')\ndef home(req):\n"
        "    return {'msg': GREETING}\n"
    )
    from portable_fn._local.loader import load_app
    from portable_fn_aws.adapter import AwsAdapter

    app = load_app(str(source / "svc.py"))
    AwsAdapter(runtime="python3.11", architecture="arm64").package(
        app, str(source / "svc.py"), tmp_path / "out"
    )
    names = zipfile.ZipFile(tmp_path / "out" / "app.zip").namelist()
    assert {"svc.py", "helpers.py", "pf_entry.py"} <= set(names)
    template = _template(tmp_path / "out")
    assert template["Globals"]["Function"]["Runtime"] == "python3.11"
    assert template["Globals"]["Function"]["Architectures"] == ["arm64"]
    home = template["Resources"]["HomeFunction"]["Properties"]["Events"]["Get"]["Properties"]
    assert "Auth" not in home  # anonymous: no IAM authorizer


@pytest.mark.parametrize(
    ("expression", "aws"),
    [
        ("rate(1 day)", "rate(1 day)"),
        ("rate(90 minutes)", "rate(90 minutes)"),
        ("0 3 * * *", "cron(0 3 * * ? *)"),
        ("*/15 9-17 * * 1-5", "cron(0/15 9-17 ? * 2,3,4,5,6 *)"),
        ("30 6 * * 0,6", "cron(30 6 ? * 1,7 *)"),
        # "?" (any day) is "*" once parsed: EventBridge takes "?" in exactly one day field
        ("0 3 ? * *", "cron(0 3 * * ? *)"),
        ("cron(0 0 1 jan-mar ?)", "cron(0 0 1 JAN-MAR ? *)"),
    ],
)
def test_schedule_expressions(expression: str, aws: str) -> None:
    assert aws_expression(Schedule(expression=expression)) == aws


def test_findings_report_what_aws_honours_differently() -> None:
    app = pf.App("f")

    @app.storage("bucket-a", on=("created", "deleted"))
    def on_object(event: pf.CloudEvent) -> None: ...

    @app.http("/x", methods=["GET"])
    def dynamic(req: pf.Request) -> None:
        pf.publish(req.text, {})

    messages = [str(f) for f in adapter.findings(app)]
    assert any("at most 2 times" in m and "on_object" in m for m in messages)
    assert any("named at run time" in m and "dynamic" in m for m in messages)


def test_a_schedule_finding_names_no_setting_a_schedule_lacks() -> None:
    """``@app.schedule`` takes no ``max_retries``: the finding said "max_retries=4 capped" (a
    value hard-coded in the template). It says what the deployment does instead: Lambda retries
    a failed asynchronous invocation twice, then sends it to the on-failure destination
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html)."""
    app = pf.App("s")

    @app.schedule(cron="0 2 * * *")
    def nightly(event: pf.CloudEvent) -> None: ...

    found = [f for f in adapter.findings(app) if f.function == "nightly"]
    assert found and not any("max_retries" in f.message for f in found), found
    assert any(
        f.level == "info" and "retried twice" in f.message and "dead-letter queue" in f.message
        for f in found
    ), found


def test_idempotency_code_ships_only_when_a_function_uses_it(
    shop_package: Path, tmp_path: Path
) -> None:
    shop_names = zipfile.ZipFile(shop_package / "app.zip").namelist()
    assert not any(n.startswith("portable_fn/idempotency/") for n in shop_names)
    app = pf.App("idem")

    @app.queue("jobs", idempotent=True)
    def job(event: pf.CloudEvent) -> None: ...

    _package(app, "idem_app", tmp_path)
    names = zipfile.ZipFile(tmp_path / "app.zip").namelist()
    assert "portable_fn/idempotency/__init__.py" in names


def test_stream_codecs_ship_only_with_stream_functions(
    shop_package: Path, tmp_path: Path
) -> None:
    shop_names = zipfile.ZipFile(shop_package / "app.zip").namelist()
    for module in ("_kpl", "kinesis", "dynamodb"):
        assert f"portable_fn_aws/{module}.py" not in shop_names
    app = pf.App("clicks")

    @app.stream("clicks")
    def clicked(event: pf.CloudEvent) -> None: ...

    _package(app, "clicks_app", tmp_path)
    names = zipfile.ZipFile(tmp_path / "app.zip").namelist()
    assert {"portable_fn_aws/_kpl.py", "portable_fn_aws/kinesis.py"} <= set(names)


def test_bytecode_without_an_interpreter_of_the_runtime_ships_sources(
    tmp_path: Path,
) -> None:
    from examples.shop.app import app

    from portable_fn_aws.adapter import AwsAdapter

    findings = AwsAdapter(runtime="python3.99", bytecode=True).package(
        app, "examples.shop.app:app", tmp_path
    )
    assert any("no Python 3.99" in f.message for f in findings)
    names = zipfile.ZipFile(tmp_path / "app.zip").namelist()
    assert "portable_fn/app.py" in names and "portable_fn/app.pyc" not in names


def test_runtime_from_the_environment_and_bad_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from examples.shop.app import app

    from portable_fn.errors import ConfigurationError
    from portable_fn_aws.adapter import AwsAdapter

    monkeypatch.setenv("PORTABLE_FN_AWS_RUNTIME", "python3.13")
    AwsAdapter().package(app, "examples.shop.app:app", tmp_path)
    assert _template(tmp_path)["Globals"]["Function"]["Runtime"] == "python3.13"
    with pytest.raises(ConfigurationError):
        AwsAdapter(runtime="nodejs20.x").package(app, "examples.shop.app:app", tmp_path)


def _tiny_wheel(folder: Path) -> Path:
    """A minimal pure-Python wheel built here, so resolving requirements needs no network."""
    wheel = folder / "tinydep-1.0-py3-none-any.whl"
    files = {
        "tinydep/__init__.py": "VALUE = 42\n",
        "tinydep-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinydep\nVersion: 1.0\n",
        "tinydep-1.0.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = "".join(f"{name},,\n" for name in files) + "tinydep-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr("tinydep-1.0.dist-info/RECORD", record)
    return wheel


def _zipped(source: Path, out: Path, settings: Any = None, handler: str = "") -> list[str]:
    """Package a one-function app written in ``source`` (beside its requirements.txt) and list
    its app.zip."""
    from portable_fn._local.loader import load_app
    from portable_fn_aws.target import package

    (source / "svc.py").write_text(handler or (
        "import portable_fn as pf\napp = pf.App('svc')\n"
        "@app.queue('jobs')\ndef job(event):\n    pass\n"
    ))
    app = load_app(str(source / "svc.py"))
    package(app, str(source / "svc.py"), out, settings)
    return zipfile.ZipFile(out / "app.zip").namelist()


def test_requirements_are_resolved_for_lambda_without_boto3(tmp_path: Path) -> None:
    source = tmp_path / "svc"
    source.mkdir()
    wheel = _tiny_wheel(tmp_path)
    # An inline comment is requirements-file syntax, not part of the requirement (pip
    # reads "name  # why" from a file, but refuses it as an argument).
    (source / "requirements.txt").write_text(
        f"boto3>=1.28  # the runtime has it\nbotocore\n{wheel}  # built above\n"
    )
    names = _zipped(source, tmp_path / "out", handler=(
        "import portable_fn as pf\napp = pf.App('svc')\n"
        "@app.http('/', methods=['GET'])\ndef home(req):\n"
        "    import tinydep  # installed in the zip only\n    return {'v': tinydep.VALUE}\n"
    ))
    assert "tinydep/__init__.py" in names
    assert not any(n.startswith(("boto3", "botocore")) for n in names)


def test_a_nested_requirements_file_is_read_beside_the_app(tmp_path: Path) -> None:
    """``-r base.txt`` names a file relative to the requirements file that holds it
    (https://pip.pypa.io/en/stable/reference/requirements-file-format/): the app's lines
    reach pip in a temporary file, so the nested file must still be the app folder's."""
    source = tmp_path / "svc"
    source.mkdir()
    wheel = _tiny_wheel(tmp_path)
    (source / "requirements.txt").write_text("-r base.txt\n--requirement=more.txt\n")
    (source / "base.txt").write_text(f"tinydep @ {wheel.as_uri()}\n")
    (source / "more.txt").write_text("")
    assert "tinydep/__init__.py" in _zipped(source, tmp_path / "out")


@pytest.mark.parametrize("layout", ["top", "nested"])
def test_requirement_markers_are_read_for_the_lambda_runtime(tmp_path: Path, layout: str) -> None:
    """pip's ``--python-version`` chooses wheels, not markers (it reads them for the Python
    that packages): a requirement marked for the runtime's Python must ship, one marked for
    the packaging Python's alone must not, whichever Python packages. The lines of a nested
    ``-r`` file are the app's own as much as the top file's
    (https://pip.pypa.io/en/stable/reference/requirements-file-format/), read the same way."""
    from portable_fn_aws._resources import Settings

    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    runtime = "3.13" if here == "3.12" else "3.12"
    source = tmp_path / "svc"
    (source / "reqs").mkdir(parents=True)
    wheel = _tiny_wheel(tmp_path)
    lines = (
        f'tinydep @ {wheel.as_uri()} ; python_version == "{runtime}"  # the runtime\'s\n'
        # Never asked for: the packaging Python's alone (no such project exists anywhere).
        f'pf-absent-dependency-for-tests ; python_version == "{here}"\n'
    )
    if layout == "nested":
        (source / "reqs" / "base.txt").write_text(lines)
        lines = "-r reqs/base.txt\n"
    (source / "requirements.txt").write_text(lines)
    names = _zipped(source, tmp_path / "out", Settings(runtime=f"python{runtime}"))
    assert "tinydep/__init__.py" in names


def test_every_trigger_kind_lints_clean(tmp_path: Path) -> None:
    app = pf.App("every")

    @app.http("/files/{path+}", methods=["GET", "PUT"], auth="anonymous")
    def files(req: pf.Request) -> None:
        pf.send("orders", {"k": 1})

    @app.queue("orders", fifo=True, max_retries=2, batch_size=5)
    def orders(event: pf.CloudEvent) -> None:
        pf.emit("com.example.order.done", {})

    @app.queue("bulk", batch_size=50, idempotent=True)
    def bulk(event: pf.CloudEvent) -> None: ...

    @app.topic("alerts", dead_letter="alerts-dead")
    def alerts(event: pf.CloudEvent) -> None: ...

    @app.storage("media-in", on=("created", "deleted"), prefix="in/", suffix=".png")
    def media(event: pf.CloudEvent) -> None: ...

    @app.schedule("*/15 9-17 * * 1-5")
    def office_hours(event: pf.CloudEvent) -> None: ...

    @app.event("com.example.*", source="/billing")
    def billing(event: pf.CloudEvent) -> None: ...

    @app.stream("clicks", batch_size=200, start="trim_horizon")
    def clicks(event: pf.CloudEvent) -> None: ...

    _package(app, "every_app", tmp_path)
    result = _cfn_lint(tmp_path / "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    resources = _template(tmp_path)["Resources"]
    assert resources["OrdersQueue"]["Properties"]["FifoQueue"] is True
    # Deleted includes what S3 Lifecycle expires: a notification type of its own.
    media_event = resources["MediaFunction"]["Properties"]["Events"]["Storage"]["Properties"]
    assert media_event["Events"] == [
        "s3:ObjectCreated:*",
        "s3:ObjectRemoved:*",
        "s3:LifecycleExpiration:*",
    ]
    assert resources["OrdersDlqQueue"]["Properties"]["FifoQueue"] is True
    bulk_event = resources["BulkFunction"]["Properties"]["Events"]["Queue"]["Properties"]
    assert bulk_event["MaximumBatchingWindowInSeconds"] == 1
    # The idempotent function gets the store's table, its URL and access to that table only.
    table = resources["IdempotencyTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    bulk_props = resources["BulkFunction"]["Properties"]
    assert bulk_props["Environment"]["Variables"]["PORTABLE_FN_IDEMPOTENCY"] == {
        "Fn::Sub": "dynamodb://${IdempotencyTable}"}
    assert _idempotency_grant() in bulk_props["Policies"]
    assert "DynamoDBCrudPolicy" not in json.dumps(bulk_props["Policies"])
    assert resources["ClicksStream"]["Properties"]["StreamEncryption"] == {
        "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}
    assert resources["OrdersQueue"]["Properties"]["ContentBasedDeduplication"] is True
    assert "PORTABLE_FN_IDEMPOTENCY" not in json.dumps(resources["OrdersFunction"])
    rule = resources["BillingFunction"]["Properties"]["Events"]["Bus"]["Properties"]["Pattern"]
    assert rule == {"detail-type": [{"prefix": "com.example."}], "source": ["/billing"]}
    stream = resources["ClicksFunction"]["Properties"]["Events"]["Stream"]["Properties"]
    assert stream["StartingPosition"] == "TRIM_HORIZON" and stream["MaximumRetryAttempts"] == 4
    assert resources["AlertsInboxQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["AlertsDeadQueue", "Arn"]
    }


def _resources(app: pf.App) -> dict[str, Any]:
    """The template's resources, built without writing the zip (fast)."""
    from portable_fn_aws._resources import Settings
    from portable_fn_aws._template import build

    return build(app, Settings())[0]["Resources"]  # type: ignore[no-any-return]


def test_fifo_queue_names_are_left_to_cloudformation() -> None:
    """SQS names are at most 80 characters, ``.fifo`` included; ``<stack>-<name>.fifo`` passes
    that with a 63-character queue name and any stack name over 11, so the template names no
    FIFO queue and CloudFormation generates a name that fits (with ``.fifo``, as CDK's unnamed
    FIFO queues get): https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sqs-queue.html
    """
    app = pf.App("fifo")
    long_name = "orders-" + "x" * 56  # 63 characters, the longest portable name

    @app.http("/replay", methods=["POST"])
    def replay(req: pf.Request) -> None:  # makes the dead-letter queue first, as a target
        pf.send(  # a literal name, so the scan sees it
            "orders-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-dlq", {}
        )

    @app.queue(long_name, fifo=True)
    def take(event: pf.CloudEvent) -> None: ...

    resources = _resources(app)
    queues = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::SQS::Queue"}
    assert len(queues) == 2  # the queue and its dead-letter queue, both FIFO
    for properties in queues.values():
        assert properties["FifoQueue"] is True
        assert "QueueName" not in properties


def test_storage_filters_are_url_encoded_as_s3_compares_them() -> None:
    """S3 matches filters against the URL-encoded key (a space is ``+``): a raw ``my docs/``
    would never match. https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html
    """
    app = pf.App("filters")

    @app.storage("media", prefix="my docs/a=b/", suffix=" final.jpg")
    def on_doc(event: pf.CloudEvent) -> None: ...

    storage = _resources(app)["OnDocFunction"]["Properties"]["Events"]["Storage"]["Properties"]
    assert storage["Filter"]["S3Key"]["Rules"] == [
        {"Name": "prefix", "Value": "my+docs/a%3Db/"},
        {"Name": "suffix", "Value": "+final.jpg"},
    ]


def test_grants_follow_helpers_and_aliased_imports() -> None:
    """A handler that publishes through a helper of its own, or through ``portable_fn`` imported
    under another name, is granted (and told) what it publishes to, as the handler itself is."""
    app = pf.App("helpers")

    @app.http("/a", methods=["POST"])
    def via_helper(req: pf.Request) -> None:
        _notify_helper({})

    @app.queue("jobs")
    def via_alias(event: pf.CloudEvent) -> None:
        _alias_publish("alerts", {})
        _pf_alias.send("audit", {})

    resources = _resources(app)
    helper = resources["ViaHelperFunction"]["Properties"]
    assert helper["Environment"]["Variables"]["PF_QUEUE_FULFIL"] == {"Ref": "FulfilQueue"}
    assert {"EventBridgePutEventsPolicy": {"EventBusName": "default"}} in helper["Policies"]
    alias = resources["ViaAliasFunction"]["Properties"]
    assert {"PF_TOPIC_ALERTS", "PF_QUEUE_AUDIT"} <= set(alias["Environment"]["Variables"])
    assert resources["AuditQueue"]["Type"] == "AWS::SQS::Queue"


def _notify_helper(data: dict[str, Any]) -> None:
    _deeper_helper(data)
    pf.emit(data, type="com.example.notified")


def _deeper_helper(data: dict[str, Any]) -> None:
    pf.send("fulfil", data)


def test_stream_records_reach_the_failed_queue_before_the_stream_expires_them() -> None:
    """MaximumRecordAgeInSeconds defaults to -1: "Lambda doesn't discard records (Kinesis Data
    Streams data retention settings still apply)", so a record Lambda cannot invoke the function
    with (throttling) is retried until the stream's retention removes it, and it never reaches
    the on-failure destination. A maximum age below the retention discards it there, while the
    stream still holds it to be read back (services-kinesis-parameters,
    kinesis-on-failure-destination)."""
    from portable_fn_aws._resources import Settings
    from portable_fn_aws._template import build

    app = pf.App("aging")

    @app.stream("clicks", max_retries=2)
    def clicks(event: pf.CloudEvent) -> None: ...

    template, found = build(app, Settings())
    resources = template["Resources"]
    retention_hours = resources["ClicksStream"]["Properties"]["RetentionPeriodHours"]
    props = resources["ClicksFunction"]["Properties"]["Events"]["Stream"]["Properties"]
    age = props["MaximumRecordAgeInSeconds"]
    assert 60 <= age < retention_hours * 3600
    assert props["MaximumRetryAttempts"] == 2
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["ClicksFailedQueue", "Arn"]}
    # What lands in the failed queue is a description of the records, not the records: said.
    [note] = [f for f in found if f.function == "clicks" and "clicks-failed" in f.message]
    assert note.level == "warning" and "sequence numbers" in note.message


def test_a_stream_function_may_send_what_retrying_cannot_fix_to_its_failed_queue() -> None:
    """A NonRetryable or undecodable record is written to ``<function>-failed`` by the function
    (``_batches.stream_batch``), so the shard is not blocked by retries that cannot help: the
    template names the queue and grants sending to it, as for asynchronous invocations."""
    from portable_fn_aws._resources import Settings
    from portable_fn_aws._template import build

    app = pf.App("aging")

    @app.stream("clicks")
    def clicks(event: pf.CloudEvent) -> None: ...

    template, _ = build(app, Settings())
    props = template["Resources"]["ClicksFunction"]["Properties"]
    assert props["Environment"]["Variables"]["PF_DEAD_LETTER_URL"] == {"Ref": "ClicksFailedQueue"}
    assert {"SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": ["ClicksFailedQueue",
                                                                "QueueName"]}}} in props["Policies"]


def test_an_aws_service_event_is_taken_by_its_detail_type(tmp_path: Path) -> None:
    """AWS services' detail-types are words with spaces (EventBridge events reference,
    https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-ec2.html): the rule matches
    the detail-type as written, and the function runs on such an event."""
    from portable_fn_aws import lambda_handler

    app = pf.App("fleet")
    seen: list[pf.CloudEvent] = []

    @app.event("EC2 Instance State-change Notification", source="aws.ec2")
    def state(event: pf.CloudEvent) -> None:
        seen.append(event)

    _package(app, "fleet_app", tmp_path)
    rule = _template(tmp_path)["Resources"]["StateFunction"]["Properties"]["Events"]["Bus"][
        "Properties"]["Pattern"]
    assert rule == {"detail-type": ["EC2 Instance State-change Notification"],
                    "source": ["aws.ec2"]}
    native = {
        "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
        "account": "123456789012", "time": "2024-11-11T21:29:54Z", "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
        "detail": {"instance-id": "i-abcd1111", "state": "pending"},
    }
    lambda_handler(app, "state")(native, None)
    (event,) = seen
    assert event.type == "EC2 Instance State-change Notification"
    assert event.data == {"instance-id": "i-abcd1111", "state": "pending"}
    assert _cfn_lint(tmp_path / "template.yaml").stdout.strip() == ""


def _refused(app: pf.App) -> str:
    """The reason ``package`` refuses an app (the template builder raises it first)."""
    from portable_fn.errors import ConfigurationError
    from portable_fn_aws._resources import Settings
    from portable_fn_aws._template import build

    with pytest.raises(ConfigurationError) as caught:
        build(app, Settings())
    return str(caught.value)


def test_a_dead_letter_queue_is_fifo_exactly_when_its_sources_are() -> None:
    """"The dead-letter queue of a FIFO queue must also be a FIFO queue. Similarly, the
    dead-letter queue of a standard queue must also be a standard queue"
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html;
    cfn-lint E3502): one dead-letter queue shared by a FIFO queue and a standard one (or a
    topic's inbox) cannot be both, so the stack would fail; package says so instead."""
    shared = pf.App("shared-dead")

    @shared.queue("orders", fifo=True, dead_letter="dead")
    def orders(event: pf.CloudEvent) -> None: ...

    @shared.topic("news", dead_letter="dead")
    def news(event: pf.CloudEvent) -> None: ...

    message = _refused(shared)
    assert "news" in message and "'dead'" in message and "FIFO" in message
    # A standard queue consumed as one that a FIFO queue dead-letters into: the same.
    review = pf.App("review")

    @review.queue("orders", fifo=True, dead_letter="review")
    def take(event: pf.CloudEvent) -> None: ...

    @review.queue("review")
    def check(event: pf.CloudEvent) -> None: ...

    assert "'review'" in _refused(review)


def test_a_name_published_to_must_make_a_lambda_environment_variable() -> None:
    """Lambda refuses an environment variable whose key is not ``[a-zA-Z]([a-zA-Z0-9_])+``
    (https://docs.aws.amazon.com/lambda/latest/api/API_Environment.html), which fails the whole
    stack: a literal target such as ``order.events`` (a valid Pub/Sub name) cannot be passed to
    the function as ``PF_TOPIC_ORDER.EVENTS``, so package refuses it."""
    app = pf.App("dotted")

    @app.http("/o", methods=["POST"])
    def create(req: pf.Request) -> None:
        pf.publish("order.events", {})

    assert "order.events" in _refused(app)


def test_requirements_pip_cannot_install_are_a_usage_error(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A line pip refuses (an editable install of a folder that is not there) failed packaging
    with a CalledProcessError traceback; it is a one-line usage error (exit 2), pip's own
    output above it."""
    from portable_fn.cli import main

    source = tmp_path / "svc"
    source.mkdir()
    (source / "svc.py").write_text(
        "import portable_fn as pf\napp = pf.App('svc')\n@app.queue('jobs')\ndef job(e):\n    pass\n"
    )
    (source / "requirements.txt").write_text("-e ./no-such-lib\n")
    code = main(["package", str(source / "svc.py"), "--provider", "aws",
                 "--out", str(tmp_path / "out")])
    err = capfd.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert "could not install" in err and "requirements.txt" in err


# A stack id as CloudFormation gives it (``AWS::StackId``), to evaluate the template's names.
_STACK_ID = (
    "arn:aws:cloudformation:eu-west-1:123456789012:stack/shop-prod/"
    "51af3dc0-da77-11e4-872e-1234567db123"
)
# S3 bucket naming rules (general purpose buckets), the ones a computed name could break:
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
_S3_NAME = r"(?!xn--|sthree-|amzn-s3-demo-)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"


def _evaluate(value: Any) -> Any:
    """The few intrinsic functions a computed bucket name uses, against ``_STACK_ID``."""
    if isinstance(value, dict) and len(value) == 1:
        (function, argument), = value.items()
        if function == "Ref" and argument == "AWS::StackId":
            return _STACK_ID
        if function == "Fn::Join":
            return argument[0].join(_evaluate(part) for part in argument[1])
        if function == "Fn::Select":
            return _evaluate(argument[1])[argument[0]]
        if function == "Fn::Split":
            return _evaluate(argument[1]).split(argument[0])
        raise AssertionError(f"unexpected intrinsic {value}")
    return value


def _storage_app(*buckets: str) -> pf.App:
    app = pf.App("store")
    for i, bucket in enumerate(buckets):
        # Two functions per bucket, with disjoint prefixes, as S3 allows on one bucket.
        for prefix in ("in/", "out/"):
            app.storage(bucket, prefix=prefix)(_named(f"read_{i}_{prefix[:-1]}"))
    return app


def _named(name: str) -> Any:
    def handler(event: pf.CloudEvent) -> None: ...

    handler.__name__ = handler.__qualname__ = name
    return handler


def test_a_storage_function_reads_its_bucket_by_its_real_name() -> None:
    """Each storage function may read its bucket (SAM's ``S3ReadPolicy``: GetObject,
    GetObjectVersion, ListBucket...) and finds its real name in ``BUCKET_<NAME>``, as on GCP.
    The name is computed from the stack id, not referenced, so the function does not depend on
    the bucket whose notification depends on it (no circular dependency):
    https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-policy-template-list.html#s3-read-policy
    """
    long_a, long_b = "a" * 40 + "-one", "a" * 40 + "-two"  # share their first 40 characters
    app = _storage_app("uploads", "my.media.files", long_a, long_b, "xn--photos")
    resources = _resources(app)
    names = set()
    for bucket, env, functions in (
        ("UploadsBucket", "BUCKET_UPLOADS", ("Read0In", "Read0Out")),
        ("MyMediaFilesBucket", "BUCKET_MY_MEDIA_FILES", ("Read1In", "Read1Out")),
        (f"A{'a' * 39}OneBucket", f"BUCKET_{'A' * 40}_ONE", ("Read2In", "Read2Out")),
        (f"A{'a' * 39}TwoBucket", f"BUCKET_{'A' * 40}_TWO", ("Read3In", "Read3Out")),
        ("XnPhotosBucket", "BUCKET_XN__PHOTOS", ("Read4In", "Read4Out")),  # S3 reserves xn--
    ):
        name = resources[bucket]["Properties"]["BucketName"]
        for function in functions:
            properties = resources[f"{function}Function"]["Properties"]
            assert {"S3ReadPolicy": {"BucketName": name}} in properties["Policies"]
            assert properties["Environment"]["Variables"][env] == name
        real = _evaluate(name)
        assert re.fullmatch(_S3_NAME, real) and ".." not in real, real
        assert real.endswith("-51af3dc0-da77-11e4-872e-1234567db123")  # unique to the stack
        names.add(real)
    assert len(names) == 5  # long names cut to fit 63 characters stay apart
    assert _evaluate(resources["UploadsBucket"]["Properties"]["BucketName"]).startswith("uploads-")


def _dependencies(template: dict[str, Any]) -> dict[str, set[str]]:
    """Which resources each resource needs first: its Ref, Fn::GetAtt, Fn::Sub ``${...}`` and
    DependsOn, as CloudFormation orders creation. SAM's transform turns a function's S3 event
    into the bucket's NotificationConfiguration (the bucket then needs the function and its
    permission), not into a reference from the function, so that edge is reversed here:
    https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-s3.html
    """
    resources = template["Resources"]

    def refs(value: Any) -> set[str]:
        found: set[str] = set()
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "Ref" and isinstance(inner, str):
                    found.add(inner)
                elif key == "Fn::GetAtt":
                    found.add(inner[0] if isinstance(inner, list) else inner.split(".")[0])
                elif key == "Fn::Sub":
                    text = inner[0] if isinstance(inner, list) else inner
                    found |= {m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text)}
                    if isinstance(inner, list):
                        found |= refs(inner[1])
                else:
                    found |= refs(inner)
        elif isinstance(value, list):
            for inner in value:
                found |= refs(inner)
        return found & set(resources)

    graph: dict[str, set[str]] = {name: set() for name in resources}
    for name, resource in resources.items():
        body = json.loads(json.dumps(resource))
        for event in body.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") == "S3":
                graph[event["Properties"].pop("Bucket")["Ref"]].add(name)
        depends = body.get("DependsOn", [])
        graph[name] |= refs(body) | set([depends] if isinstance(depends, str) else depends)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A dependency cycle, if there is one (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for needed in sorted(graph[node]):
            if state.get(needed) == 1:
                return [*path[path.index(needed):], needed]
            if needed not in state and (cycle := visit(needed)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_template_has_no_circular_dependency(shop_package: Path) -> None:
    """The well-known SAM trap: a function whose policy or environment references its bucket
    while the bucket notifies the function. CloudFormation refuses such a stack
    ("Circular dependency between resources"):
    https://aws.amazon.com/blogs/mt/resolving-circular-dependency-in-provisioning-of-amazon-s3-buckets-with-aws-lambda-event-notifications/
    """
    from portable_fn_aws._resources import Settings
    from portable_fn_aws._template import build

    shop = _template(shop_package)
    two_on_one, _ = build(_storage_app("media"), Settings())
    for template in (shop, two_on_one):
        assert _cycle(_dependencies(template)) is None
        storage = [
            r["Properties"] for r in template["Resources"].values()
            if "Storage" in r.get("Properties", {}).get("Events", {})
        ]
        assert storage and all(  # the read access, which a plain !Ref would have made a cycle
            any("S3ReadPolicy" in policy for policy in p["Policies"]) for p in storage
        )
    # The check itself finds the trap: the same grant through a Ref to the bucket.
    trap = json.loads(json.dumps(two_on_one))
    trap["Resources"]["Read0InFunction"]["Properties"]["Policies"].append(
        {"S3ReadPolicy": {"BucketName": {"Ref": "MediaBucket"}}}
    )
    assert _cycle(_dependencies(trap)) == ["MediaBucket", "Read0InFunction", "MediaBucket"]


def test_outputs_name_every_queue_topic_and_bucket(tmp_path: Path) -> None:
    """A producer outside the stack finds what the stack made in its outputs (queue URLs,
    topic ARNs, bucket names: what ``Ref`` returns for each), and the template lints clean:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/outputs-section-structure.html
    """
    from portable_fn_aws._resources import Settings
    from portable_fn_aws._template import build
    from portable_fn_aws._yaml import dump

    app = pf.App("outs")

    @app.http("/in", methods=["POST"])
    def take(req: pf.Request) -> None:
        pf.send("orders", {})

    @app.queue("orders", dead_letter="orders-dead")
    def orders(event: pf.CloudEvent) -> None: ...

    @app.topic("alerts")
    def alerts(event: pf.CloudEvent) -> None: ...

    @app.storage("media")
    def media(event: pf.CloudEvent) -> None: ...

    template, _ = build(app, Settings())
    outputs = template["Outputs"]
    assert outputs["OrdersQueueUrl"]["Value"] == {"Ref": "OrdersQueue"}
    assert outputs["OrdersDeadQueueUrl"]["Value"] == {"Ref": "OrdersDeadQueue"}
    assert outputs["AlertsInboxQueueUrl"]["Value"] == {"Ref": "AlertsInboxQueue"}
    assert outputs["AlertsTopicArn"]["Value"] == {"Ref": "AlertsTopic"}
    assert outputs["MediaBucketName"]["Value"] == {"Ref": "MediaBucket"}
    assert "MediaFailedQueueUrl" in outputs and "HttpApiUrl" in outputs
    kinds = ("AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::S3::Bucket")
    declared = [k for k, r in template["Resources"].items() if r["Type"] in kinds]
    assert len(outputs) == len(declared) + 1  # and the HTTP API's URL
    (tmp_path / "template.yaml").write_text(dump(template), encoding="utf-8")
    result = _cfn_lint(tmp_path / "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def _idempotency_grant() -> dict[str, Any]:
    """What the idempotency store calls (portable_fn.idempotency.dynamodb: get_item, put_item,
    delete_item), on its table only."""
    return {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
                "Resource": {"Fn::GetAtt": ["IdempotencyTable", "Arn"]},
            }
        ]
    }


def test_the_idempotency_store_is_granted_only_the_calls_it_makes() -> None:
    """SAM's DynamoDBCrudPolicy also grants Scan, Query, BatchWriteItem...: the store needs
    three item calls on one table (least privilege)."""
    import inspect as _inspect

    from portable_fn.idempotency import dynamodb

    app = pf.App("idem")

    @app.queue("jobs", idempotent=True)
    def jobs(event: pf.CloudEvent) -> None: ...

    policies = _resources(app)["JobsFunction"]["Properties"]["Policies"]
    assert [p for p in policies if "Statement" in p or "DynamoDBCrudPolicy" in p] == [
        _idempotency_grant()
    ]
    # Every item call the store makes at run time is granted (create_table is for setup).
    source = _inspect.getsource(dynamodb.DynamoDBStore).split("def create_table")[0]
    source += _inspect.getsource(dynamodb.DynamoDBStore).split("def _item")[1]
    calls = set(re.findall(r"self\.client\.(\w+)\(", source))
    granted = {
        "dynamodb:" + "".join(w.title() for w in c.split("_")) for c in calls
    }
    assert granted == set(_idempotency_grant()["Statement"][0]["Action"])


def test_a_fifo_batch_size_over_ten_is_a_finding() -> None:
    """Lambda reads at most 10 messages per batch from a FIFO queue (BatchSize: "For FIFO
    queues, the maximum is 10", https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html):
    the template cuts it, and says so instead of silently."""
    app = pf.App("fifo")

    @app.queue("ledger", fifo=True, batch_size=50)
    def ledger(event: pf.CloudEvent) -> None: ...

    @app.queue("small", fifo=True, batch_size=10)
    def small(event: pf.CloudEvent) -> None: ...

    event = _resources(app)["LedgerFunction"]["Properties"]["Events"]["Queue"]["Properties"]
    assert event["BatchSize"] == 10
    found = [f for f in adapter.findings(app) if "batch_size" in f.message]
    assert [(f.function, f.level) for f in found] == [("ledger", "warning")], found
    assert "50" in found[0].message and "10" in found[0].message


def test_fifo_queues_deduplicate_by_content_for_other_producers() -> None:
    """A producer that sends no MessageDeduplicationId is refused by a FIFO queue without
    ContentBasedDeduplication; pf.send's explicit id (the event id) still overrides the
    content hash (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html)."""
    app = pf.App("fifo")

    @app.queue("ledger", fifo=True)
    def ledger(event: pf.CloudEvent) -> None: ...

    @app.queue("plain")
    def plain(event: pf.CloudEvent) -> None: ...

    resources = _resources(app)
    assert resources["LedgerQueue"]["Properties"]["ContentBasedDeduplication"] is True
    assert resources["LedgerDlqQueue"]["Properties"]["ContentBasedDeduplication"] is True
    assert "ContentBasedDeduplication" not in resources["PlainQueue"]["Properties"]


def test_a_kinesis_stream_is_encrypted_with_the_aws_managed_key() -> None:
    """Server-side encryption with Kinesis' own key: no IAM permission to add for readers or
    writers (https://docs.aws.amazon.com/streams/latest/dev/permissions-user-key-KMS.html)."""
    app = pf.App("clicks")

    @app.stream("clicks")
    def clicks(event: pf.CloudEvent) -> None: ...

    stream = _resources(app)["ClicksStream"]["Properties"]
    assert stream["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}


def test_an_event_functions_default_retries_warn_of_nothing() -> None:
    """Lambda retries an asynchronous event at most twice: a function that left max_retries
    at its default is told so as information, not warned of a value it never set."""
    app = pf.App("bus")

    @app.event("com.example.a")
    def default(event: pf.CloudEvent) -> None: ...

    @app.event("com.example.b", max_retries=7)
    def seven(event: pf.CloudEvent) -> None: ...

    found = {f.function: f for f in adapter.findings(app) if "at most 2 times" in f.message}
    assert found["default"].level == "info" and "max_retries" not in found["default"].message
    assert found["seven"].level == "warning" and "max_retries=7 capped" in found["seven"].message


_QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:fulfilment"
_TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:order-events"
_EXISTING = f"fulfilment={_QUEUE_ARN},\n order-events={_TOPIC_ARN}"


def _existing_app() -> pf.App:
    """Mapped (``fulfilment``, ``order-events``) and unmapped (``audit``, ``alerts``) queues and
    topics, each read by a function and written by another."""
    app = pf.App("existing")

    @app.http("/orders", methods=["POST"])
    def take(req: pf.Request) -> None:
        pf.send("fulfilment", {})
        pf.send("audit", {})
        pf.publish("order-events", {})
        pf.publish("alerts", {})

    @app.queue("fulfilment", max_retries=3)
    def fulfil(event: pf.CloudEvent) -> None: ...

    @app.queue("audit")
    def audit(event: pf.CloudEvent) -> None: ...

    @app.topic("order-events")
    def notify(event: pf.CloudEvent) -> None: ...

    @app.topic("alerts")
    def alert(event: pf.CloudEvent) -> None: ...

    return app


def test_existing_queues_and_topics_are_used_by_arn_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PORTABLE_FN_AWS_EXISTING: a mapped queue or topic is no resource of the stack; its ARN
    (or the queue URL made from it) stands wherever the created one's reference stood."""
    from portable_fn_aws._yaml import dump
    from portable_fn_aws.adapter import AwsAdapter

    monkeypatch.setenv("PORTABLE_FN_AWS_EXISTING", _EXISTING)
    app = _existing_app()
    adapter_ = AwsAdapter()
    template = _template_of(adapter_, app)
    resources = template["Resources"]
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/fulfilment"
    assert "FulfilmentQueue" not in resources and "OrderEventsTopic" not in resources
    assert "AuditQueue" in resources and "AlertsTopic" in resources
    # The function still sends what retrying cannot fix to its dead-letter queue, the stack's.
    assert "FulfilmentDlqQueue" in resources
    fulfil = resources["FulfilFunction"]["Properties"]
    assert fulfil["Events"]["Queue"]["Properties"]["Queue"] == _QUEUE_ARN
    assert fulfil["Environment"]["Variables"]["PF_SOURCE_QUEUE_URL"] == url
    poller = [p for p in fulfil["Policies"] if "Statement" in p]
    assert poller[0]["Statement"][0]["Resource"] == _QUEUE_ARN
    assert "sqs:ReceiveMessage" in poller[0]["Statement"][0]["Action"]
    assert resources["NotifySubscription"]["Properties"]["TopicArn"] == _TOPIC_ARN
    condition = resources["NotifyInboxPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert condition["Condition"] == {"ArnEquals": {"aws:SourceArn": _TOPIC_ARN}}
    take = resources["TakeFunction"]["Properties"]
    variables = take["Environment"]["Variables"]
    assert variables["PF_QUEUE_FULFILMENT"] == url
    assert variables["PF_TOPIC_ORDER_EVENTS"] == _TOPIC_ARN
    assert variables["PF_QUEUE_AUDIT"] == {"Ref": "AuditQueue"}
    statements = [s for p in take["Policies"] for s in p.get("Statement", [])]
    assert {"Effect": "Allow", "Action": ["sqs:SendMessage*"], "Resource": _QUEUE_ARN} in statements
    assert {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": _TOPIC_ARN} in statements
    outputs = template["Outputs"]
    assert "FulfilmentQueueUrl" not in outputs and "OrderEventsTopicArn" not in outputs
    assert "AuditQueueUrl" in outputs and "AlertsTopicArn" in outputs
    # The stack cannot set an existing queue's redrive policy: said, not dropped.
    (warning,) = [f for f in adapter_.findings(app) if f.function == "fulfil"
                  and f.level == "warning"]
    assert "redrive" in warning.message and "max_retries=3" in warning.message
    assert _cycle(_dependencies(template)) is None
    (tmp_path / "template.yaml").write_text(dump(template), encoding="utf-8")
    result = _cfn_lint(tmp_path / "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def _template_of(adapter_: Any, app: pf.App) -> dict[str, Any]:
    from portable_fn_aws._template import build

    return build(app, adapter_._settings())[0]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (f"shipping={_QUEUE_ARN}", "names no queue, topic or bucket"),
        ("fulfilment=arn:aws:sqs:eu-west-1:fulfilment", "not an SQS queue, SNS topic or S3"),
        ("fulfilment", "not NAME=ARN"),
        (f"fulfilment={_QUEUE_ARN},fulfilment={_QUEUE_ARN}", "mapped twice"),
        (f"fulfilment={_TOPIC_ARN}", "is a queue"),
        (f"order-events={_QUEUE_ARN}", "is a topic"),
        (f"fulfilment={_QUEUE_ARN}.fifo", "FIFO"),
    ],
)
def test_a_bad_existing_setting_is_a_configuration_error(
    setting: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portable_fn.errors import ConfigurationError
    from portable_fn_aws.adapter import AwsAdapter

    monkeypatch.setenv("PORTABLE_FN_AWS_EXISTING", setting)
    with pytest.raises(ConfigurationError, match=message) as caught:
        _template_of(AwsAdapter(), _existing_app())
    assert "\n" not in str(caught.value)


def test_an_existing_bucket_is_unsupported_with_what_to_do_instead(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """SAM's S3 event "only accepts a reference to the S3 bucket created in this template":
    https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-s3.html
    """
    from portable_fn.errors import ConfigurationError
    from portable_fn_aws.adapter import AwsAdapter

    monkeypatch.setenv("PORTABLE_FN_AWS_EXISTING", "media=arn:aws:s3:::company-media")
    app = _storage_app("media")
    (finding, *_) = [f for f in AwsAdapter().findings(app) if f.level == "unsupported"]
    assert "EventBridge" in finding.message and "Object Created" in finding.message
    with pytest.raises(ConfigurationError, match="existing bucket"):
        _template_of(AwsAdapter(), app)


def test_an_existing_dead_letter_queue_is_the_redrive_target() -> None:
    """A mapped dead-letter queue: the stack's queue redrives to its ARN, and the function
    sends what retrying cannot fix to its URL."""
    from portable_fn_aws._resources import Settings
    from portable_fn_aws._template import build

    app = pf.App("dead")

    @app.queue("audit", dead_letter="audit-dead")
    def audit(event: pf.CloudEvent) -> None: ...

    dead = "arn:aws:sqs:eu-west-1:123456789012:audit-dead"
    template, findings = build(app, Settings(existing={"audit-dead": dead}))
    resources = template["Resources"]
    assert "AuditDeadQueue" not in resources
    assert resources["AuditQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"] == dead
    variables = resources["AuditFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["PF_DEAD_LETTER_URL"] == (
        "https://sqs.eu-west-1.amazonaws.com/123456789012/audit-dead"
    )
    assert not [f for f in findings if f.level == "warning"]  # the stack's queue redrives


def test_entry_freezes_the_framework_and_collects_the_apps_garbage(tmp_path: Path) -> None:
    """Cold start: pf_entry imports the framework with the collector paused and freezes it
    (``gc.freeze``), so no collection scans those objects again, this invocation or later
    ones. The app imports as usual: a cycle it drops while importing is still collected, and
    the collector ends as it was found. The unzipped package in a fresh interpreter, imported
    as the Lambda runtime imports the handler's module."""
    import shutil

    from portable_fn._local.loader import load_app

    source = shutil.copy(REPO / "tests" / "fixtures" / "gc_probe_app.py", tmp_path)
    adapter.package(load_app(str(source)), str(source), tmp_path / "out")
    unzipped = tmp_path / "task"
    zipfile.ZipFile(tmp_path / "out" / "app.zip").extractall(unzipped)
    probe = "import pf_entry, gc_probe_app; gc_probe_app.report()"
    for before, enabled in (("", "True"), ("import gc; gc.disable(); ", "False")):
        done = subprocess.run([sys.executable, "-c", before + probe], cwd=unzipped,
                              capture_output=True, text=True, timeout=120)
        assert done.stdout.split() == [enabled, enabled, "True", "True"], done.stderr


@pytest.mark.parametrize("text", ["a\x85b", "a\x7fb", "x\x9fy", "a\u2028b", "\ufeffbom", "café"])
def test_template_strings_read_back_as_written(text: str) -> None:
    """An env value (or event source) holding DEL, a C1 control, NEL or a line separator: JSON
    leaves them as they are, and YAML refused the template (DEL, C1) or read a space (NEL)."""
    from portable_fn_aws._yaml import dump

    assert yaml.safe_load(dump({"Value": text})) == {"Value": text}
