# SPDX-License-Identifier: Apache-2.0
"""The packaging target: ``deploy.sh`` passes shellcheck and maps each handler to the right
``gcloud`` trigger flags; ``main.py`` defines one function per handler; findings report what
Pub/Sub cannot honour."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import portable_fn as pf
import pytest

from portable_fn_gcp.plan import build


def deploy_commands(script: str) -> dict[str, list[list[str]]]:
    """Commands of deploy.sh after the helper definitions, grouped by service (first word)."""
    body = script.split("# Topics:", 1)[1] if "# Topics:" in script else script
    joined = body.replace("\\\n", " ")
    out: dict[str, list[list[str]]] = {}
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line, posix=True)
        out.setdefault(words[0], []).append(words)
    return out


def deploy_of(script: str, service: str) -> list[str]:
    [command] = [c for c in deploy_commands(script)["deploy"] if c[1] == service]
    return command[2:]


def test_shellcheck_passes(shop_dist: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is required: apt-get install -y shellcheck")
    result = subprocess.run(
        [shellcheck, "--severity=style", str(shop_dist / "deploy.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_script_is_strict_and_executable(shop_dist: Path) -> None:
    script = (shop_dist / "deploy.sh").read_text()
    assert script.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in script
    assert (shop_dist / "deploy.sh").stat().st_mode & 0o111
    subprocess.run(["bash", "-n", str(shop_dist / "deploy.sh")], check=True)


# Event functions' Eventarc triggers call them as $INVOKER.
INVOKED = ("--trigger-service-account", "$INVOKER")
# A function that declares no limits gets gcloud's defaults written out (limits.Sizing).
DEFAULTS = ("--timeout", "60s", "--memory", "256Mi")


def test_each_shop_handler_gets_its_trigger(shop_dist: Path) -> None:
    script = (shop_dist / "deploy.sh").read_text()
    expected = {
        # auth="function" (the default): callers need an identity token with run.invoker.
        "shop-create-order": [
            "--trigger-http",
            "--no-allow-unauthenticated",
            "--entry-point",
            "create_order",
            *DEFAULTS,
        ],
        "shop-get-order": ["--trigger-http", "--no-allow-unauthenticated", "--entry-point",
                           "get_order", *DEFAULTS],
        "shop-notify-customer": [
            "--trigger-topic",
            "order-events",
            "--entry-point",
            "notify_customer",
            *INVOKED,
            "--retry",
            *DEFAULTS,
        ],
        "shop-request-fulfilment": [
            "--trigger-topic",
            "order-events",
            "--entry-point",
            "request_fulfilment",
            *INVOKED,
            "--retry",
            *DEFAULTS,
        ],
        "shop-fulfil": ["--trigger-topic", "fulfilment", "--entry-point", "fulfil", *INVOKED,
                        "--retry", *DEFAULTS],
        "shop-nightly-report": [
            "--trigger-http",
            "--no-allow-unauthenticated",
            "--entry-point",
            "nightly_report",
            # declared on the schedule (limits): gen2 takes a duration and a memory unit
            "--timeout",
            "120s",
            "--memory",
            "512Mi",
        ],
        "shop-on-upload": [
            # The function names the real bucket as declared (storage.declared_bucket).
            "--env",
            "BUCKET_UPLOADS=$BUCKET_UPLOADS",
            "--trigger-event-filters",
            "type=google.cloud.storage.object.v1.finalized",
            "--trigger-event-filters",
            "bucket=$BUCKET_UPLOADS",
            "--entry-point",
            "on_upload",
            *INVOKED,
            "--trigger-location",
            "$BUCKET_UPLOADS_LOCATION",
            "--retry",
            *DEFAULTS,
        ],
        "shop-invoice-paid": [
            "--trigger-topic",
            "shop-events",
            "--entry-point",
            "invoice_paid",
            *INVOKED,
            "--retry",
            *DEFAULTS,
        ],
    }
    for service, flags in expected.items():
        # Last, each function's own secrets flag: the shop has no secrets, so every function
        # clears any an earlier deploy gave it (settings.flags).
        assert deploy_of(script, service) == [*flags, "--clear-secrets"], service
    commands = deploy_commands(script)
    topics = {c[1] for c in commands["ensure_topic"]}
    assert {"order-events", "fulfilment", "fulfilment-dlq", "shop-events"} <= topics
    # fulfil: max_retries=3 is 4 attempts, below Pub/Sub's minimum of 5.
    dead = {c[1]: c[2:] for c in commands["dead_letter"]}
    assert dead["$(function_trigger shop-fulfil)"] == ["fulfilment-dlq", "5", "1s", "300s"]
    # A subscriber's own dead-letter topic is the app's: <app>-<function>-dlq.
    assert dead["$(function_trigger shop-notify-customer)"][0] == "shop-notify-customer-dlq"
    [job] = commands["schedule_job"]
    assert job == ["schedule_job", "shop-nightly-report", "shop-nightly-report", "0 0 * * *",
                   "2", "1s", "300s", "9", "180s"]  # 120 s declared, and a minute's margin
    assert 'BUCKET_UPLOADS="${BUCKET_UPLOADS:-uploads}"' in script
    # Eventarc's storage triggers need the storage service agent to publish to Pub/Sub.
    assert 'GCS_AGENT="$(gcloud storage service-agent --project "$PROJECT")"' in script


def test_main_defines_one_real_function_per_handler(shop_dist: Path) -> None:
    main = (shop_dist / "main.py").read_text()
    for name, signature in [
        ("create_order", "http"),
        ("nightly_report", "http"),
        ("fulfil", "cloud_event"),
        ("on_upload", "cloud_event"),
    ]:
        assert f"{name} = functions_framework.{signature}(" in main
    assert (shop_dist / "requirements.txt").read_text().startswith("functions-framework==")
    assert (shop_dist / "portable_fn" / "__init__.py").is_file()
    assert (shop_dist / "portable_fn_gcp" / "functions.py").is_file()
    assert (shop_dist / "examples" / "shop" / "app.py").is_file()


def _app() -> pf.App:
    app = pf.App("edge")

    @app.queue("queue-one", max_retries=0)
    def no_retry(event: pf.CloudEvent) -> None: ...

    @app.queue("queue-two", max_retries=100, fifo=True)
    def many(event: pf.CloudEvent) -> None: ...

    @app.queue("queue-two")
    def second_consumer(event: pf.CloudEvent) -> None: ...

    @app.storage("photos", on=("created", "deleted"), prefix="in/")
    def both(event: pf.CloudEvent) -> None: ...

    @app.schedule("rate(7 minutes)")
    def odd_rate(event: pf.CloudEvent) -> None: ...

    @app.schedule("rate(2 hours)")
    def two_hours(event: pf.CloudEvent) -> None: ...

    @app.event("google.cloud.audit.log.v1.written")
    def audit(event: pf.CloudEvent) -> None: ...

    @app.event("google.cloud.storage.*")
    def wild(event: pf.CloudEvent) -> None: ...

    @app.stream("clicks")
    def clicks(events: pf.CloudEvent) -> None: ...

    @app.http("/private", methods=["GET"], auth="function")
    def private(req: pf.Request) -> str:
        return "ok"

    @app.http("/public", methods=["GET"], auth="anonymous")
    def public(req: pf.Request) -> str:
        return "ok"

    return app


def test_an_event_function_without_retries_keeps_a_dead_letter_topic() -> None:
    """max_retries=0 deployed with --no-retry and no dead-letter topic: a failed message was
    dropped (https://cloud.google.com/functions/docs/bestpractices/retries), where every other
    provider dead-letters it after its one attempt. It deploys with --retry and a dead-letter
    topic now; the function moves a failed message there itself on its first attempt."""
    from portable_fn_gcp.deploy import render

    plan = build(_app())
    script = render(plan)

    def section(function: str) -> str:
        return script.split(f"\n# {function} (")[1].split("\n\n")[0]

    assert "--retry" in section("no_retry") and "--no-retry" not in section("no_retry")
    assert "--retry" in section("many") and "--no-retry" not in section("many")
    assert "retry" not in section("private")  # HTTP functions take neither flag
    no_retry = {d.function: d for d in plan.deployments}["no_retry"]
    assert no_retry.dead_letter is not None and no_retry.dead_letter.topic in script


def test_findings_report_what_pubsub_cannot_honour() -> None:
    plan = build(_app())
    by: dict[tuple[str | None, str], str] = {}
    for f in plan.findings:  # all messages of one function and level, joined
        by[(f.function, f.level)] = by.get((f.function, f.level), "") + " | " + f.message
    assert "101 attempts" in by[("many", "unsupported")]
    assert "deployed with 100" in by[("many", "unsupported")]
    assert any(
        f.function == "many" and f.level == "unsupported" and "fifo" in f.message
        for f in plan.findings
    )
    assert "each Pub/Sub subscription gets every message" in by[("second_consumer", "warning")]
    assert "moves a failed message" in by[("no_retry", "info")]
    assert "rate(7 minutes)" in by[("odd_rate", "warning")]
    assert "streams have no Cloud Run functions trigger" in by[("clicks", "unsupported")]
    assert "prefix/suffix" in by[("both", "info")]
    assert "serviceName and methodName" in by[("audit", "warning")]
    assert "exact type" in by[("wild", "unsupported")]
    deployments = {d.function: d for d in plan.deployments}
    assert "clicks" not in deployments
    assert deployments["no_retry"].retry is True and deployments["no_retry"].dead_letter is not None
    assert deployments["many"].dead_letter is not None
    assert deployments["many"].dead_letter.max_attempts == 100
    assert deployments["two_hours"].schedule == "0 */2 * * *"
    assert deployments["audit"].trigger == (
        "--trigger-event-filters",
        "type=google.cloud.audit.log.v1.written",
    )
    assert deployments["private"].trigger == ("--trigger-http", "--no-allow-unauthenticated")
    assert deployments["public"].trigger == ("--trigger-http", "--allow-unauthenticated")
    assert "identity token" in by[("private", "info")]
    assert deployments["both"].extra_events == (
        (
            "--trigger-event-filters",
            "type=google.cloud.storage.object.v1.deleted",
            "--trigger-event-filters",
            "bucket=photos",
        ),
    )


def test_cors_on_a_route_that_needs_an_identity_token_is_a_warning() -> None:
    """Cloud Run's IAM check refuses a request without an identity token before the function
    runs, and a browser's CORS preflight never carries one
    (https://cloud.google.com/functions/docs/writing/write-http-functions, CORS limitations):
    ``cors=`` on an ``auth='function'`` route deployed, and no cross-origin call got through,
    with nothing said. AWS adds an unauthenticated OPTIONS route and Azure answers preflights
    from its anonymous catch-all; here a warning says what to do."""
    app = pf.App("web")

    @app.http("/private", methods=["POST"], cors=pf.CORS(allow_origins=("https://a.example",)))
    def private(req: pf.Request) -> str:
        return "ok"

    @app.http("/public", methods=["POST"], auth="anonymous",
              cors=pf.CORS(allow_origins=("https://a.example",)))
    def public(req: pf.Request) -> str:
        return "ok"

    warnings = [f for f in build(app).findings if f.level == "warning" and "preflight" in f.message]
    assert [f.function for f in warnings] == ["private"]


@pytest.mark.parametrize("path", ["/robots.txt", "/favicon.ico"])
def test_a_route_functions_framework_never_serves_is_reported(path: str) -> None:
    """functions-framework answers 404 to /robots.txt and /favicon.ico itself, without calling
    the function (https://github.com/GoogleCloudPlatform/functions-framework#url-space;
    functions_framework._configure_app), so such a route cannot be served on Cloud Run
    functions: say so rather than deploy it silently."""
    app = pf.App("site")

    @app.http(path, methods=["GET"])
    def static_file(req: pf.Request) -> str:
        return "x"

    @app.http("/robots", methods=["GET"])
    def elsewhere(req: pf.Request) -> str:
        return "x"

    found = [f for f in build(app).findings if f.level == "unsupported"]
    assert [f.function for f in found] == ["static_file"]
    assert path in found[0].message and "404" in found[0].message


def test_second_storage_action_is_an_extra_eventarc_trigger(tmp_path: Path) -> None:
    from portable_fn_gcp.deploy import render

    script = render(build(_app()))
    [extra] = deploy_commands(script)["add_trigger"]
    assert extra == [
        "add_trigger",
        "edge-both-2",
        "edge-both",
        "$BUCKET_PHOTOS_LOCATION",
        "--event-filters",
        "type=google.cloud.storage.object.v1.deleted",
        "--event-filters",
        "bucket=$BUCKET_PHOTOS",
    ]
    path = tmp_path / "deploy.sh"
    path.write_text(script)
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck is required: apt-get install -y shellcheck")
    subprocess.run(["shellcheck", str(path)], check=True)


def test_dead_letters_are_kept_in_a_subscription() -> None:
    # Pub/Sub drops messages published to a topic with no subscription (DeadLetterPolicy docs):
    # each dead-letter topic no function consumes gets a pull subscription of its own name.
    from portable_fn_gcp.deploy import render

    app = pf.App("parked")

    @app.queue("jobs", dead_letter="jobs-failed")
    def job(event: pf.CloudEvent) -> None: ...

    @app.queue("jobs-failed")
    def triage(event: pf.CloudEvent) -> None: ...

    @app.topic("news")
    def reader(event: pf.CloudEvent) -> None: ...

    commands = deploy_commands(render(build(app)))
    kept = [c[1:] for c in commands["ensure_subscription"]]
    # jobs-failed-dlq: the default of the app's own queue jobs-failed, named after the queue.
    assert kept == [["jobs-failed-dlq", "jobs-failed-dlq"],
                    ["parked-reader-dlq", "parked-reader-dlq"]]
    assert {c[1] for c in commands["ensure_topic"]} >= {"jobs-failed", "parked-reader-dlq"}


@pytest.mark.parametrize(
    ("expression", "cron", "exact"),
    [
        ("rate(15 minutes)", "*/15 * * * *", True),
        ("rate(6 hours)", "0 */6 * * *", True),
        ("rate(7 days)", "0 0 * * 0", True),  # weekly: the period is exact
        # a step past the field's range is no valid schedule; these run as the nearest cron
        ("rate(90 minutes)", "0 */2 * * *", "every 2 hours"),
        ("rate(36 hours)", "0 0 */2 * *", "every 2 days at 00:00 UTC"),
        ("rate(25 hours)", "0 0 * * *", "every day at 00:00 UTC"),
        ("rate(45 days)", "0 0 1 * *", "once a month"),
        ("rate(7 minutes)", "*/7 * * * *", "every 7 minutes, counted from the start of each"),
        ("rate(5 hours)", "0 */5 * * *", "every 5 hours, counted from midnight"),
        # Cloud Scheduler takes upper-case names and no "?"; weekdays are written as numbers
        ("0 9 ? * mon-fri", "0 9 * * 1-5", True),
        ("cron(0 3 * jan *)", "0 3 * JAN *", True),
        ("0 0 * * 7/2", "0 0 * * 0", True),  # Sunday only ("7" to "7", every 2nd day)
    ],
)
def test_schedule_becomes_a_cloud_scheduler_cron(
    expression: str, cron: str, exact: bool | str
) -> None:
    """A rate no cron runs exactly is warned about, saying what runs instead: rounded to
    another period it is another schedule (rate(90 minutes) runs every 2 hours)."""
    app = pf.App("sched")

    @app.schedule(expression)
    def tick(event: pf.CloudEvent) -> None: ...

    plan = build(app)
    [deployment] = plan.deployments
    assert deployment.schedule == cron
    warned = [f.message for f in plan.findings if f.function == "tick" and f.level == "warning"
              and "runs as cron" in f.message]
    assert (not warned) is (exact is True)
    assert all(repr(cron) in message for message in warned)
    if isinstance(exact, str):
        assert exact in warned[0], warned


# A stand-in for gcloud: logs each call (bash-quoted) and answers the lookups deploy.sh makes.
# Every `describe` of something not looked up here fails, as for a resource not created yet.
_FAKE_GCLOUD = r"""#!/usr/bin/env bash
printf '%q ' "$@" >>"$GCLOUD_LOG"
echo >>"$GCLOUD_LOG"
# The same calls byte for byte, as the tests read them (printf %q may write $'...', which
# shlex cannot read): the argument count, then each argument, NUL-terminated.
printf '%s\0' "$#" "$@" >>"$GCLOUD_LOG.raw"
case "$*" in
  "secrets describe "*) [[ " ${FAKE_MISSING_SECRETS:-} " != *" $3 "* ]] ;;
  "config get-value project") echo fake-proj ;;
  "projects describe "*) echo 123 ;;
  "storage service-agent "*) echo service-123@gs-project-accounts.iam.gserviceaccount.com ;;
  "storage buckets describe "*) echo "$FAKE_BUCKET_LOCATION" ;;
  *"value(eventTrigger.trigger)"*) echo "projects/fake-proj/locations/x/triggers/$3-abc" ;;
  *"value(serviceConfig.uri)"*) echo "https://$3.a.run.app" ;;
  *"value(transport.pubsub.subscription)"*) echo projects/fake-proj/subscriptions/sub ;;
  *" describe "*) exit 1 ;;
esac
"""
INVOKER = "runner@fake-proj.iam.gserviceaccount.com"


def run_with_fake_gcloud(
    script: str, tmp_path: Path, bucket_location: str = "US"
) -> list[list[str]]:
    """Run deploy.sh against the stand-in gcloud; the gcloud calls it made, in order."""
    result = run_fake_gcloud(script, tmp_path, FAKE_BUCKET_LOCATION=bucket_location)
    assert result.returncode == 0, result.stderr
    return raw_calls(tmp_path)


def run_fake_gcloud(script: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """deploy.sh against the stand-in gcloud, whatever its exit status (``env`` over the
    defaults: bucket location US, the test's invoker)."""
    import os

    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "gcloud"
    fake.write_text(_FAKE_GCLOUD)
    fake.chmod(0o755)
    path = tmp_path / "deploy.sh"
    path.write_text(script)
    return subprocess.run(["bash", str(path)], capture_output=True, text=True, check=False, env={
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "GCLOUD_LOG": str(tmp_path / "gcloud.log"),
        "FAKE_BUCKET_LOCATION": "US",
        "INVOKER": INVOKER,
        **env,
    })


def raw_calls(tmp_path: Path) -> list[list[str]]:
    """The gcloud calls of the last ``run_with_fake_gcloud`` in ``tmp_path``, byte for byte."""
    fields = (tmp_path / "gcloud.log.raw").read_bytes().split(b"\0")[:-1]
    calls, at = [], 0
    while at < len(fields):
        count = int(fields[at])
        calls.append([f.decode("utf-8", "surrogateescape") for f in fields[at + 1:at + 1 + count]])
        at += 1 + count
    return calls


def _flag(call: list[str], flag: str) -> str | None:
    return call[call.index(flag) + 1] if flag in call else None


def gcloud_dict(value: str) -> dict[str, str]:
    """A dict-type flag's value (``--set-env-vars``) as gcloud reads it: items split on commas,
    or on DELIM after a leading ``^DELIM^``; each item split at its first ``=``
    (https://cloud.google.com/sdk/gcloud/reference/topic/escaping)."""
    delim = ","
    if value.startswith("^") and "^" in value[1:]:
        delim, value = value[1:].split("^", 1)
    items = (value if value.endswith(delim) else value + delim).split(delim)[:-1] if value else []
    pairs = [item.partition("=") for item in items]
    assert all(key and sep for key, sep, _ in pairs), items
    return {key: val for key, _, val in pairs}


def test_storage_triggers_are_created_where_the_bucket_is(tmp_path: Path) -> None:
    # An Eventarc Cloud Storage trigger must be in the bucket's location; a function's trigger
    # defaults to the function's region (EventTrigger.triggerRegion), which fails for a bucket
    # elsewhere, such as the US multi-region `gcloud storage buckets create` defaults to.
    from portable_fn_gcp.deploy import render

    calls = run_with_fake_gcloud(render(build(_app())), tmp_path, bucket_location="US")
    [deploy] = [c for c in calls if c[:3] == ["functions", "deploy", "edge-both"]]
    assert _flag(deploy, "--trigger-location") == "us"
    [create] = [c for c in calls if c[:4] == ["eventarc", "triggers", "create", "edge-both-2"]]
    assert _flag(create, "--location") == "us"
    # The second trigger's subscription is found in the same location for its dead letters
    # (and its ack deadline: two lookups).
    lookups = [c for c in calls if c[:3] == ["eventarc", "triggers", "describe"]
               and "edge-both-2" in c[3] and any("subscription" in w for w in c)]
    assert len(lookups) == 2
    assert all("/locations/us/" in c[3] or _flag(c, "--location") == "us" for c in lookups)


def test_event_triggers_call_as_the_invoker_with_the_roles_they_need(
    shop_dist: Path, tmp_path: Path
) -> None:
    # The trigger identity needs roles/run.invoker on the function it calls, and
    # roles/eventarc.eventReceiver for direct events other than Pub/Sub
    # (https://cloud.google.com/eventarc/standard/docs/functions/roles-permissions).
    calls = run_with_fake_gcloud((shop_dist / "deploy.sh").read_text(), tmp_path)
    member = f"serviceAccount:{INVOKER}"
    granted = {c[2] for c in calls if c[:2] == ["functions", "add-invoker-policy-binding"]
               and _flag(c, "--member") == member}
    for service in ("shop-notify-customer", "shop-request-fulfilment", "shop-fulfil",
                    "shop-on-upload", "shop-invoice-paid"):
        [deploy] = [c for c in calls if c[:3] == ["functions", "deploy", service]]
        assert _flag(deploy, "--trigger-service-account") == INVOKER, service
        assert service in granted, service
    receivers = [c for c in calls if c[:2] == ["projects", "add-iam-policy-binding"]
                 and _flag(c, "--role") == "roles/eventarc.eventReceiver"]
    assert [_flag(c, "--member") for c in receivers] == [member]


def test_pubsub_only_apps_grant_no_event_receiver_role(tmp_path: Path) -> None:
    # Least privilege: Pub/Sub direct events need no roles/eventarc.eventReceiver.
    from portable_fn_gcp.deploy import render

    app = pf.App("pubsub-only")

    @app.queue("jobs")
    def job(event: pf.CloudEvent) -> None: ...

    calls = run_with_fake_gcloud(render(build(app)), tmp_path)
    assert not [c for c in calls if "roles/eventarc.eventReceiver" in c]
    [deploy] = [c for c in calls if c[:3] == ["functions", "deploy", "pubsub-only-job"]]
    assert _flag(deploy, "--trigger-service-account") == INVOKER


def test_buckets_that_would_share_a_deploy_variable_are_refused() -> None:
    # deploy.sh takes each bucket's real name from BUCKET_<NAME> ('-' and '.' both '_'): two
    # buckets sharing one variable would both be given the first's name, and the second
    # bucket's function would be deployed on the first bucket's events without a word.
    from portable_fn.errors import ConfigurationError

    app = pf.App("two-buckets")

    @app.storage("media-files")
    def dashed(event: pf.CloudEvent) -> None: ...

    @app.storage("media.files")
    def dotted(event: pf.CloudEvent) -> None: ...

    with pytest.raises(ConfigurationError, match="BUCKET_MEDIA_FILES"):
        build(app)


def test_a_cloud_storage_event_without_a_bucket_is_reported() -> None:
    # A Cloud Storage trigger names its bucket ("you choose an event type and specify a Cloud
    # Storage bucket", https://cloud.google.com/functions/docs/calling/storage) and lives where
    # the bucket is: a bare google.cloud.storage.* type cannot deploy as one; @app.storage can.
    app = pf.App("raw-storage")

    @app.event("google.cloud.storage.object.v1.finalized")
    def landed(event: pf.CloudEvent) -> None: ...

    [note] = [f for f in build(app).findings if f.function == "landed"
              and f.level == "unsupported"]
    assert "@app.storage" in note.message


def test_a_deleted_handler_is_told_that_overwrites_send_deleted() -> None:
    """Cloud Storage's deleted event "includes objects that are overwritten"
    (https://cloud.google.com/functions/docs/calling/storage), which no other provider sends."""
    app = pf.App("files")

    @app.storage("uploads", on=("created", "deleted"))
    def both(event: pf.CloudEvent) -> None: ...

    @app.storage("uploads", on=("created",), name="created_only")
    def created(event: pf.CloudEvent) -> None: ...

    warned = [f for f in build(app).findings if "overwriting an object" in f.message]
    assert [(f.function, f.level) for f in warned] == [("both", "warning")]


def test_a_storage_function_is_told_its_real_bucket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A storage handler sees the bucket the app declared (DESIGN section 2): the function maps
    the real bucket named by ``BUCKET_<NAME>`` back to the declared name, so deploy.sh must set
    that variable on the function (``--set-env-vars`` takes a comma-separated list,
    https://cloud.google.com/functions/docs/configuring/env-var). It set only
    GOOGLE_CLOUD_PROJECT, and the deployed handler saw ``edge-photos``. Other functions get no
    bucket variable: a bucket they did not declare has no other name for them."""
    from portable_fn_gcp.deploy import render

    monkeypatch.setenv("BUCKET_PHOTOS", "edge-photos")
    calls = run_with_fake_gcloud(render(build(_app())), tmp_path)
    deploys = {c[2]: c for c in calls if c[:2] == ["functions", "deploy"]}
    assert gcloud_dict(_flag(deploys["edge-both"], "--set-env-vars") or "") == {
        "GOOGLE_CLOUD_PROJECT": "fake-proj", "BUCKET_PHOTOS": "edge-photos"}
    assert gcloud_dict(_flag(deploys["edge-no-retry"], "--set-env-vars") or "") == {
        "GOOGLE_CLOUD_PROJECT": "fake-proj"}
    # Unset, the bucket is the declared name, for the trigger and the function alike.
    monkeypatch.delenv("BUCKET_PHOTOS")
    (tmp_path / "default").mkdir()
    calls = run_with_fake_gcloud(render(build(_app())), tmp_path / "default")
    [both] = [c for c in calls if c[:3] == ["functions", "deploy", "edge-both"]]
    assert gcloud_dict(_flag(both, "--set-env-vars") or "") == {
        "GOOGLE_CLOUD_PROJECT": "fake-proj", "BUCKET_PHOTOS": "photos"}
    assert "bucket=photos" in both


def test_a_failed_schedule_run_is_retried_by_cloud_scheduler(tmp_path: Path) -> None:
    # Cloud Scheduler retries a failed run only with a retry config: retryCount defaults to 0
    # (https://cloud.google.com/scheduler/docs/configuring/retry-jobs). A schedule declares no
    # max_retries: its run is retried twice, as the local runtime and Lambda retry it, with the
    # same exponential backoff (1 s doubling to at most 300 s).
    from portable_fn_gcp.deploy import render

    app = pf.App("sched-retry")

    @app.schedule(cron="0 3 * * *")
    def nightly(event: pf.CloudEvent) -> None: ...

    plan = build(app)
    calls = run_with_fake_gcloud(render(plan), tmp_path)
    [job] = [c for c in calls if c[:3] == ["scheduler", "jobs", "create"]]
    assert _flag(job, "--max-retry-attempts") == "2"
    assert _flag(job, "--min-backoff") == "1s"
    assert _flag(job, "--max-backoff") == "300s"
    assert _flag(job, "--max-doublings") == "9"  # 1 s * 2**9 passes 300 s
    # No dead-letter for a schedule: the finding says where a failed run shows.
    [warned] = [f.message for f in plan.findings
                if f.function == "nightly" and f.level == "warning"]
    assert "retried 2 times" in warned and "no dead-letter" in warned
    assert "Cloud Logging" in warned


def test_topics_the_app_only_publishes_to_are_created(tmp_path: Path) -> None:
    # A publish to a topic no function consumes fails NOT_FOUND unless deploy.sh creates it:
    # the handlers' publishes are read from their source, as the AWS target reads them.
    from portable_fn_gcp.deploy import render

    app = pf.App("extq")

    def audit(order: object) -> None:
        pf.publish("audit-trail", order)

    @app.http("/orders", methods=["POST"], auth="anonymous")
    def create(req: pf.Request) -> dict[str, bool]:
        pf.send("billing-inbox", req.json())  # consumed by another app
        audit(req.json())
        pf.emit("com.example.order.created", {})
        return {"ok": True}

    @app.queue("work")
    def work(event: pf.CloudEvent) -> None:
        pf.send("work", event.data)  # consumed here: created as a trigger already

    @app.http("/any", methods=["POST"], auth="anonymous")
    def anywhere(req: pf.Request) -> str:
        pf.publish(req.text, {})
        return "ok"

    plan = build(app)
    commands = deploy_commands(render(plan))
    ensured = [c[1] for c in commands["ensure_topic"]]
    assert {"billing-inbox", "audit-trail", "extq-events", "work"} <= set(ensured)
    assert len(ensured) == len(set(ensured))
    calls = run_with_fake_gcloud(render(plan), tmp_path)
    created = {c[3] for c in calls if c[:3] == ["pubsub", "topics", "create"]}
    assert {"billing-inbox", "audit-trail", "extq-events"} <= created
    by = {(f.function, f.level): f.message for f in plan.findings}
    assert "billing-inbox" in by[("create", "warning")]  # lost until its consumer subscribes
    assert "named at run time" in by[("anywhere", "warning")]


def test_the_functions_identity_may_publish_to_what_they_write_to_and_no_more(
    shop_dist: Path, tmp_path: Path
) -> None:
    """Projects made since May 2024 give the default compute account, which the functions run
    as, no Editor role (iam.automaticIamGrantsForDefaultServiceAccounts): every publish, send
    and dead-lettering was PERMISSION_DENIED without grants deploy.sh never made. Each function
    runs as ``$RUNTIME_SA`` now, which may publish to the topics the handlers name and to the
    dead-letter topics, and to nothing else (the AWS template's least privilege)."""
    from examples.shop.app import app as shop

    from portable_fn_gcp.plan import build as plan_of

    runtime = "functions@fake-proj.iam.gserviceaccount.com"
    result = run_fake_gcloud((shop_dist / "deploy.sh").read_text(), tmp_path,
                             RUNTIME_SA=runtime)
    assert result.returncode == 0, result.stderr
    calls = raw_calls(tmp_path)
    deploys = [c for c in calls if c[:2] == ["functions", "deploy"]]
    assert deploys and all(_flag(c, "--service-account") == runtime for c in deploys)
    granted = {c[3] for c in calls if c[:3] == ["pubsub", "topics", "add-iam-policy-binding"]
               and _flag(c, "--member") == f"serviceAccount:{runtime}"}
    plan = plan_of(shop)
    dead_letters = {d.dead_letter.topic for d in plan.deployments if d.dead_letter is not None}
    assert {"order-events", "fulfilment"} <= granted
    assert dead_letters <= granted
    assert granted == set(plan.publishes)
    assert all(_flag(c, "--role") == "roles/pubsub.publisher" for c in calls
               if c[:3] == ["pubsub", "topics", "add-iam-policy-binding"]
               and _flag(c, "--member") == f"serviceAccount:{runtime}")
