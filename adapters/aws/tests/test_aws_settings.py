# SPDX-License-Identifier: Apache-2.0
"""``App(env=, secrets=)`` in the SAM template: every function gets each ``env`` value and, for
each secret, a CloudFormation dynamic reference to Secrets Manager that CloudFormation resolves
at deploy (``{{resolve:secretsmanager:<app>/<NAME>}}``); what the template cannot deploy is
refused at package time (a name the adapter writes itself, past Lambda's 4 KB of variables).
Real packaging, real YAML, cfn-lint on what is written, and a packaged function under
awslambdaric seeing both.

Dynamic references: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-secretsmanager.html
Lambda's variables (4 KB in all, keys and values): https://docs.aws.amazon.com/lambda/latest/api/API_Environment.html
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_aws_target import _cfn_lint, _package, _template

import portable_fn as pf
from portable_fn._settings import LAMBDA_ENV_BYTES
from portable_fn.errors import ConfigurationError
from portable_fn_aws import native
from portable_fn_aws.adapter import AwsAdapter

from aws_fixtures import packaged
from runtime_api import RuntimeAPI, RuntimeProcess, template_environment, template_limits

STRIPE = "{{resolve:secretsmanager:shop-settings/STRIPE_KEY}}"


def _shop(**app_options: Any) -> pf.App:
    """Functions of several kinds (HTTP, queue, storage, schedule), one of them writing
    variables of its own (the queue it sends to, its bucket's name)."""
    app = pf.App("shop-settings", **app_options)

    @app.http("/orders", methods=["POST"], auth="anonymous")
    def create(req: pf.Request) -> None:
        pf.send("jobs", {"k": 1})

    @app.queue("jobs")
    def work(event: pf.CloudEvent) -> None: ...

    @app.storage("uploads")
    def uploaded(event: pf.CloudEvent) -> None: ...

    @app.schedule("rate(1 hour)")
    def hourly(event: pf.CloudEvent) -> None: ...

    return app


def _variables(template: dict[str, Any], function_id: str) -> dict[str, Any]:
    """The function's variables as SAM gives them: the Globals' and its own merged, its own
    winning (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-template-anatomy-globals.html)."""
    globals_ = template["Globals"]["Function"].get("Environment", {}).get("Variables", {})
    own = template["Resources"][function_id]["Properties"].get("Environment", {})
    return {**globals_, **own.get("Variables", {})}


def test_every_function_gets_the_env_and_a_reference_to_each_secret(tmp_path: Path) -> None:
    out = tmp_path / "aws"
    app = _shop(env={"CURRENCY": "EUR", "REGION_NAME": "eu"}, secrets=["STRIPE_KEY"])
    _package(app, "settings_app", out)
    template = _template(out)
    functions = [k for k, v in template["Resources"].items()
                 if v["Type"] == "AWS::Serverless::Function"]
    assert len(functions) == 4
    for function_id in functions:
        variables = _variables(template, function_id)
        assert variables["CURRENCY"] == "EUR" and variables["REGION_NAME"] == "eu"
        assert variables["STRIPE_KEY"] == STRIPE
        assert variables["PF_APP"] == "shop-settings"
    # The adapter's own variables stay beside them.
    assert "PF_QUEUE_JOBS" in _variables(template, "CreateFunction")
    assert "BUCKET_UPLOADS" in _variables(template, "UploadedFunction")
    # A literal secret id (see the adapter's README): no template parameter.
    assert "Parameters" not in template
    result = _cfn_lint(out / "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_an_app_without_settings_writes_only_pf_app(tmp_path: Path) -> None:
    out = tmp_path / "aws"
    _package(_shop(), "plain_settings_app", out)
    template = _template(out)
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables == {"PF_APP": "shop-settings"}
    assert "Parameters" not in template


@pytest.mark.parametrize("where", ["env", "secrets"])
def test_a_name_the_adapter_writes_itself_is_refused(tmp_path: Path, where: str) -> None:
    """A storage function's bucket name is in ``BUCKET_<NAME>``; a user name equal to it would
    be silently replaced by the function's own (SAM's override rule), so it is refused."""
    options: dict[str, Any] = (
        {"env": {"BUCKET_UPLOADS": "mine"}} if where == "env" else {"secrets": ["BUCKET_UPLOADS"]}
    )
    app = _shop(**options)
    unsupported = [f for f in AwsAdapter().findings(app) if f.level == "unsupported"]
    assert [f.function for f in unsupported] == ["uploaded"]
    assert "BUCKET_UPLOADS" in unsupported[0].message
    out = tmp_path / "aws"
    with pytest.raises(ConfigurationError, match="BUCKET_UPLOADS"):
        _package(app, "clash_settings_app", out)
    assert not out.exists()


def test_variables_past_lambdas_4_kb_are_refused(tmp_path: Path) -> None:
    app = _shop(env={"BIG": "x" * LAMBDA_ENV_BYTES})
    unsupported = [f for f in AwsAdapter().findings(app) if f.level == "unsupported"]
    assert {f.function for f in unsupported} == {"create", "work", "uploaded", "hourly"}
    out = tmp_path / "aws"
    with pytest.raises(ConfigurationError, match="4096") as raised:
        _package(app, "big_settings_app", out)
    assert "BIG" in str(raised.value)
    assert not out.exists()


def test_secret_references_count_and_the_message_says_their_values_do_too() -> None:
    """Each reference counts by its own length; what it resolves to is unknown until deploy."""
    names = [f"SECRET_{i:03d}" for i in range(80)]  # 80 x (10 + 50) bytes: over 4 KB
    app = _shop(secrets=names)
    unsupported = [f for f in AwsAdapter().findings(app) if f.level == "unsupported"]
    assert unsupported, "80 secret references exceed 4 KB"
    assert "resolve" in unsupported[0].message and "secret" in unsupported[0].message


def _hourly(value_bytes: int) -> pf.App:
    app = pf.App("shop-settings", env={"BIG": "x" * value_bytes})

    @app.schedule("rate(1 hour)")
    def hourly(event: pf.CloudEvent) -> None: ...

    return app


def test_the_limit_itself_is_taken() -> None:
    """The limit counts keys and values: PF_APP and shop-settings, BIG and its value, and the
    schedule's own PF_DEAD_LETTER_URL (a Ref, filled at deploy: its key only)."""
    own = len("PF_APP") + len("shop-settings") + len("PF_DEAD_LETTER_URL") + len("BIG")

    def refused(value_bytes: int) -> bool:
        findings = AwsAdapter().findings(_hourly(value_bytes))
        return any(f.level == "unsupported" for f in findings)

    assert not refused(LAMBDA_ENV_BYTES - own)
    assert refused(LAMBDA_ENV_BYTES - own + 1)


def test_more_than_60_dynamic_references_is_a_warning() -> None:
    """CloudFormation takes at most 60 dynamic references in a stack template
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references.html);
    each function carries one per secret."""
    app = _shop(secrets=[f"KEY_{i:02d}" for i in range(16)])  # 4 functions x 16 = 64
    warnings = [f for f in AwsAdapter().findings(app) if "60" in f.message]
    assert [(f.function, f.level) for f in warnings] == [(None, "warning")]
    assert not [f for f in AwsAdapter().findings(_shop(secrets=["ONE_KEY"])) if "60" in f.message]


SETTINGS_APP = '''\
import os

import portable_fn as pf

app = pf.App("settings-demo", env={"CURRENCY": "EUR"}, secrets=["API_KEY"])


@app.http("/settings", methods=["GET"], auth="anonymous")
def settings(req: pf.Request) -> dict:
    return {"currency": os.environ["CURRENCY"], "key": app.secret("API_KEY")}
'''


def test_the_packaged_function_sees_its_env_and_secret_under_the_real_runtime(
    tmp_path: Path, aws_env: dict[str, str]
) -> None:
    """The app packaged, unzipped and run under awslambdaric with the variables its template
    gives it; the secret's reference resolved as CloudFormation would at deploy, from a stand-in
    for Secrets Manager."""
    task, _ = packaged(tmp_path, "settings_demo_app", SETTINGS_APP)
    template = tmp_path / "out" / "template.yaml"
    env = template_environment(template, "settings", {"settings-demo/API_KEY": "sk_test_123"})
    assert env["CURRENCY"] == "EUR" and env["API_KEY"] == "sk_test_123"
    limits = template_limits(template, "settings")
    with RuntimeAPI(timeout=limits.timeout) as api:
        process = RuntimeProcess(
            api, task, "pf_entry.settings", {**aws_env, **env}, memory=limits.memory
        )
        try:
            result = api.invoke(native.http_v2(pf.Request(method="GET", path="/settings")))
        finally:
            output = process.stop()
    assert result.ok and result.body["statusCode"] == 200, (result, output)
    assert json.loads(result.body["body"]) == {"currency": "EUR", "key": "sk_test_123"}


def _secret_findings(findings: list[Any]) -> list[Any]:
    return [f for f in findings if "create-secret" in f.message]


def test_inspect_and_package_say_which_secrets_to_create(tmp_path: Path) -> None:
    """As the other targets do (deploy.sh's Secret Manager, Key Vault, wrangler secret put):
    one app-level info finding with each secret's create command, and the permission the
    deploying identity needs for CloudFormation to resolve the references."""
    app = _shop(secrets=["STRIPE_KEY", "MAIL_TOKEN"])
    (found,) = _secret_findings(AwsAdapter().findings(app))
    assert (found.function, found.level) == (None, "info")
    for name in ("STRIPE_KEY", "MAIL_TOKEN"):
        assert (
            f"aws secretsmanager create-secret --name shop-settings/{name} --secret-string"
            in found.message
        )
    assert "secretsmanager:GetSecretValue" in found.message
    assert "service role" in found.message
    out = tmp_path / "aws"
    assert _secret_findings(_package(app, "secret_findings_app", out)) == [found]
    assert not _secret_findings(AwsAdapter().findings(_shop(env={"CURRENCY": "EUR"})))


@pytest.mark.parametrize("value", [
    "{{resolve:secretsmanager:shop/STRIPE_KEY}}",
    "{{resolve:ssm:/shop/currency}}",
    "{{resolve:ssm-secure:/shop/db-password:3}}",
    "prefix-{{resolve:ssm:/shop/currency}}",
])
def test_a_dynamic_reference_in_env_is_refused(tmp_path: Path, value: str) -> None:
    """CloudFormation would resolve it on AWS only (every other target writes the text as it
    is), and past the 60-reference count: the app's secret belongs in secrets=."""
    app = _shop(env={"CURRENCY": "EUR", "DB_URL": value})
    unsupported = [f for f in AwsAdapter().findings(app) if f.level == "unsupported"]
    assert [f.function for f in unsupported] == [None]
    assert "DB_URL" in unsupported[0].message and "secrets=" in unsupported[0].message
    assert "CURRENCY" not in unsupported[0].message
    out = tmp_path / "aws"
    with pytest.raises(ConfigurationError, match=r"DB_URL.*secrets="):
        _package(app, "dynamic_settings_app", out)
    assert not out.exists()


def test_a_plain_brace_value_is_no_dynamic_reference() -> None:
    app = _shop(env={"GREETING": "{{name}} says {resolve:x}"})
    assert not [f for f in AwsAdapter().findings(app) if f.level == "unsupported"]


@pytest.mark.parametrize("options", [
    {"env": {"BUCKET_UPLOADS": "mine"}},
    {"env": {"BIG": "x" * LAMBDA_ENV_BYTES}},
])
def test_a_refusal_names_its_function_once(options: dict[str, Any]) -> None:
    """The finding carries the function; its message does not repeat it."""
    refused = [f for f in AwsAdapter().findings(_shop(**options))
               if f.level == "unsupported" and f.function == "uploaded"]
    assert refused
    for finding in refused:
        assert not finding.message.startswith("uploaded:"), finding.message
        assert str(finding).count("uploaded:") == 1, str(finding)


def _narrowed(secrets: list[str], **own: list[str]) -> pf.App:
    """``_shop``'s four functions with the app's ``secrets``; ``own`` gives some of them their
    own ``secrets=`` (by function name), the others keep every one."""
    app = pf.App("shop-settings", env={"CURRENCY": "EUR"}, secrets=secrets)

    @app.http("/orders", methods=["POST"], auth="anonymous", secrets=own.get("create"))
    def create(req: pf.Request) -> None:
        pf.send("jobs", {"k": 1})

    @app.queue("jobs", secrets=own.get("work"))
    def work(event: pf.CloudEvent) -> None: ...

    @app.storage("uploads", secrets=own.get("uploaded"))
    def uploaded(event: pf.CloudEvent) -> None: ...

    @app.schedule("rate(1 hour)", secrets=own.get("hourly"))
    def hourly(event: pf.CloudEvent) -> None: ...

    return app


def test_each_function_gets_references_to_its_own_secrets_only(tmp_path: Path) -> None:
    """Least privilege: a function's ``secrets=`` are the only references in its variables (a
    reference is the secret's value once deployed); ``env`` still reaches every function."""
    app = _narrowed(["STRIPE_KEY", "MAIL_TOKEN"], work=["STRIPE_KEY"], hourly=[])
    out = tmp_path / "aws"
    _package(app, "narrowed_settings_app", out)
    template = _template(out)
    secrets = {
        function_id: {k for k, v in _variables(template, function_id).items()
                      if isinstance(v, str) and v.startswith("{{resolve:")}
        for function_id in ("CreateFunction", "WorkFunction", "UploadedFunction", "HourlyFunction")
    }
    assert secrets == {
        "CreateFunction": {"STRIPE_KEY", "MAIL_TOKEN"},
        "WorkFunction": {"STRIPE_KEY"},
        "UploadedFunction": {"STRIPE_KEY", "MAIL_TOKEN"},
        "HourlyFunction": set(),
    }
    assert _variables(template, "WorkFunction")["STRIPE_KEY"] == STRIPE
    for function_id in secrets:
        assert _variables(template, function_id)["CURRENCY"] == "EUR"
    result = _cfn_lint(out / "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_the_reference_count_is_each_functions_own_secrets() -> None:
    """16 secrets, but only one function given them: 16 references, not 4 x 16."""
    names = [f"KEY_{i:02d}" for i in range(16)]
    narrow = _narrowed(names, work=[], uploaded=[], hourly=[])
    assert not [f for f in AwsAdapter().findings(narrow) if "60" in f.message]
    # 3 functions with every secret and one with 13: 3 x 16 + 13 = 61, over 60.
    wide = _narrowed(names, hourly=names[:13])
    (warning,) = [f for f in AwsAdapter().findings(wide) if "60" in f.message]
    assert (warning.function, warning.level) == (None, "warning")
    assert "61" in warning.message


def test_the_4_kb_check_counts_a_functions_own_secrets() -> None:
    """80 references fill more than 4 KB: only the function given them all is refused."""
    names = [f"SECRET_{i:03d}" for i in range(80)]
    app = _narrowed(names, create=names[:2], work=[], uploaded=names[-1:])
    unsupported = [f for f in AwsAdapter().findings(app) if f.level == "unsupported"]
    assert [f.function for f in unsupported] == ["hourly"]


def test_the_secrets_to_create_are_those_a_function_is_given() -> None:
    """Every secret some function reads is created, whichever function that is; one no
    function is given has no reference in the template, so nothing resolves it."""
    app = _narrowed(["STRIPE_KEY", "MAIL_TOKEN", "UNUSED_KEY"], create=["MAIL_TOKEN"],
                    work=["STRIPE_KEY"], uploaded=[], hourly=[])
    (found,) = _secret_findings(AwsAdapter().findings(app))
    assert "--name shop-settings/STRIPE_KEY " in found.message
    assert "--name shop-settings/MAIL_TOKEN " in found.message
    assert "UNUSED_KEY" not in found.message
    nobody = _narrowed(["STRIPE_KEY"], create=[], work=[], uploaded=[], hourly=[])
    assert not _secret_findings(AwsAdapter().findings(nobody))
