"""The ``portable-fn`` CLI, run as a subprocess (``python -m portable_fn.cli``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOP = "examples/shop/app.py"


def cli(*args: str, cwd: Path = ROOT, path: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), path, env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "portable_fn.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_lists_commands_and_loads_nothing_heavy() -> None:
    result = cli("--help")
    assert result.returncode == 0
    for command in ("dev", "dlq", "invoke", "inspect", "events", "package"):
        assert command in result.stdout
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, contextlib, io\n"
            "from portable_fn import cli\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            "    cli.main(['dev', '--help'])\n"
            "heavy = ('uvicorn', 'asyncio', 'sqlite3', 'httptools', 'portable_fn._local')\n"
            "print([m for m in heavy if m in sys.modules])",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert probe.stdout.strip() == "[]", probe.stderr


def test_inspect_json_lists_functions_and_resources() -> None:
    result = cli("inspect", SHOP, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["app"] == "shop"
    kinds = {f["name"]: f["trigger"] for f in report["functions"]}
    assert kinds == {
        "create_order": "http",
        "get_order": "http",
        "notify_customer": "topic",
        "request_fulfilment": "topic",
        "fulfil": "queue",
        "nightly_report": "schedule",
        "on_upload": "storage",
        "invoice_paid": "event",
    }
    # What a function declares of its timeout and memory, only when it declares them.
    limits = {f["name"]: (f.get("timeout"), f.get("memory")) for f in report["functions"]}
    assert limits["nightly_report"] == (120, 512) and limits["fulfil"] == (None, None)
    res = report["resources"]
    subscribers = [s["function"] for s in res["topics"]["order-events"]["subscribers"]]
    assert subscribers == ["notify_customer", "request_fulfilment"]
    fulfilment = res["queues"]["fulfilment"]
    assert (fulfilment["consumers"], fulfilment["max_retries"], fulfilment["dead_letter"]) == (
        ["fulfil"],
        3,
        "fulfilment-dlq",
    )
    assert res["queues"]["fulfilment-dlq"]["dead_letter_of"] == ["fulfil"]
    assert res["buckets"]["uploads"][0]["on"] == ["created"]
    assert res["schedules"] == [{"function": "nightly_report", "expression": "rate(1 day)"}]
    assert res["event_types"][0]["type"] == "com.example.invoice.paid"
    assert isinstance(report["providers"], dict)  # one entry per installed adapter
    text = cli("inspect", SHOP)
    assert text.returncode == 0 and "fulfilment-dlq" in text.stdout


def test_invoke_http_and_event_functions_portably(tmp_path: Path) -> None:
    request = tmp_path / "order.json"
    request.write_text(json.dumps({"method": "POST", "path": "/orders", "json": {"sku": "a"}}))
    result = cli("invoke", SHOP, "create_order", "--event", str(request))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["response"]["status"] == 202
    assert json.loads(out["response"]["body"])["id"]
    [published] = out["published"]
    assert (published["kind"], published["name"], published["type"]) == (
        "topic",
        "order-events",
        "com.example.order.created",
    )

    poison = tmp_path / "poison.json"
    poison.write_text(
        json.dumps(
            {
                "specversion": "1.0",
                "id": "e1",
                "source": "/t",
                "type": "com.example.fulfilment.requested",
                "data": {"id": "o1", "sku": "poison"},
            }
        )
    )
    failed = cli("invoke", SHOP, "fulfil", "--event", str(poison))
    assert failed.returncode == 1
    report = json.loads(failed.stdout)
    assert report["ok"] is False and report["retryable"] is True and "poison" in report["error"]

    # A request the function's route does not take ran nothing: not a 404 reported as success.
    for wrong, reached in (("POST /orders", "'create_order'"), ("DELETE /orders/7", "no function")):
        method, path = wrong.split()
        request.write_text(json.dumps({"method": method, "path": path}))
        refused = cli("invoke", SHOP, "get_order", "--event", str(request))
        assert refused.returncode == 2 and wrong in refused.stderr and reached in refused.stderr

    plain = tmp_path / "data.json"
    plain.write_text(json.dumps({"id": "o2", "sku": "b"}))  # not a CloudEvent: becomes data
    sent = cli("invoke", SHOP, "request_fulfilment", "--event", str(plain))
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["published"][0]["name"] == "fulfilment"


def test_errors_exit_2_with_a_message(tmp_path: Path) -> None:
    missing = cli("events", "no-such-cloud", "sqs")
    assert missing.returncode == 2
    assert "the providers are aws, azure, cloudflare, gcp" in missing.stderr
    package = cli("package", SHOP, "--provider", "no-such-cloud", "--out", str(tmp_path / "d"))
    assert package.returncode == 2
    bad_app = cli("inspect", "examples/none.py")
    assert bad_app.returncode == 2 and "no such file" in bad_app.stderr
    no_file = cli("invoke", SHOP, "fulfil", "--event", str(tmp_path / "absent.json"))
    assert no_file.returncode == 2 and "absent.json" in no_file.stderr
    empty = cli("dlq", SHOP, "--state-dir", str(tmp_path / "none"), "list")
    assert empty.returncode == 0 and "nothing was dead-lettered" in empty.stderr


def test_dlq_redrive_without_ids_or_all_is_bad_input(tmp_path: Path) -> None:
    """cli.md: `dlq redrive` with neither IDs nor --all exits 2 with the one-line
    `portable-fn dlq: ...` message, whether or not the state directory exists yet."""
    from portable_fn._local.store import Store

    Store(tmp_path / "used" / "broker.sqlite3").close()
    for state in (tmp_path / "used", tmp_path / "fresh"):
        result = cli("dlq", SHOP, "--state-dir", str(state), "redrive")
        err = result.stderr.strip()
        assert result.returncode == 2, (state, result.returncode, err)
        assert err.startswith("portable-fn dlq: ") and "--all" in err and "\n" not in err, err


@pytest.mark.parametrize("argv", [
    ["invoke", SHOP, "fulfil", "--event", "x", "--bogus"],
    ["dev", SHOP, "--bogus"],
    ["package", SHOP, "--provider", "aws", "extra"],
    ["events", "aws", "sqs", "--bogus"],
])
def test_an_unknown_option_prints_the_commands_usage(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/cli.md: a usage error prints the command's usage lines, then `portable-fn COMMAND:
    error: ...`; an unknown option printed the top level's (argparse reports leftovers from
    the top-level parser)."""
    from portable_fn.cli import main

    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.startswith(f"usage: portable-fn {argv[0]} "), err
    assert f"portable-fn {argv[0]}: error: unrecognized arguments:" in err, err


def test_dev_refuses_out_of_range_numbers_as_usage_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--port 70000` was an OverflowError traceback (exit 1) from socket.bind, and a negative
    --poll-interval or --time-scale was taken (a spinning loop, retries without backoff)."""
    from portable_fn.cli import _parser

    parser = _parser()
    for option, value in [
        ("--port", "70000"), ("--port", "-1"), ("--port", "http"),
        ("--poll-interval", "-1"), ("--poll-interval", "0"), ("--poll-interval", "nan"),
        ("--time-scale", "-0.5"), ("--time-scale", "inf"),
    ]:
        with pytest.raises(SystemExit) as exited:
            parser.parse_args(["dev", SHOP, option, value])
        assert exited.value.code == 2, (option, value)
        assert option in capsys.readouterr().err
    args = parser.parse_args(
        ["dev", SHOP, "--port", "0", "--poll-interval", "0.05", "--time-scale", "0"]
    )
    assert (args.port, args.poll_interval, args.time_scale) == (0, 0.05, 0.0)
    assert parser.parse_args(["dev", SHOP, "--port", "65535"]).port == 65535


def test_dev_limits_come_from_the_flags_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--timeout``/``--max-body`` (docs/cli.md): a flag wins over PORTABLE_FN_TIMEOUT /
    PORTABLE_FN_MAX_BODY, 0 lifts the limit, and neither given keeps the environment's."""
    from portable_fn._local.commands import dev_options
    from portable_fn.cli import _parser

    parser = _parser()
    monkeypatch.setenv("PORTABLE_FN_TIMEOUT", "5")
    monkeypatch.setenv("PORTABLE_FN_MAX_BODY", "1000")
    options = dev_options(parser.parse_args(["dev", SHOP]))
    assert (options.timeout, options.max_body) == (5.0, 1000)
    options = dev_options(parser.parse_args(["dev", SHOP, "--timeout", "0", "--max-body", "70"]))
    assert (options.timeout, options.max_body) == (None, 70)
    options = dev_options(parser.parse_args(["dev", SHOP, "--timeout", "2.5"]))
    assert (options.timeout, options.max_body) == (2.5, 1000)
    monkeypatch.setenv("PORTABLE_FN_TIMEOUT", "soon")  # a stale bad value the flag overrides
    assert dev_options(parser.parse_args(["dev", SHOP, "--timeout", "3"])).timeout == 3.0
    # 0 (flag or environment) lifts every limit, a function's declared timeout= too; any other
    # value is the limit of functions that declare none (30 s when not given).
    assert dev_options(parser.parse_args(["dev", SHOP, "--timeout", "0"])).no_timeouts
    assert not dev_options(parser.parse_args(["dev", SHOP, "--timeout", "60"])).no_timeouts
    monkeypatch.setenv("PORTABLE_FN_TIMEOUT", "0")
    assert dev_options(parser.parse_args(["dev", SHOP])).no_timeouts
    monkeypatch.delenv("PORTABLE_FN_TIMEOUT")
    default = dev_options(parser.parse_args(["dev", SHOP]))
    assert (default.timeout, default.no_timeouts) == (30.0, False)
    for option, value in (("--timeout", "-1"), ("--max-body", "1e6"), ("--max-body", "-5")):
        with pytest.raises(SystemExit) as exited:
            parser.parse_args(["dev", SHOP, option, value])
        assert exited.value.code == 2 and option in capsys.readouterr().err


FAKE_ADAPTER = """
from portable_fn.adapter import Finding
from portable_fn.testing import http_request, invoke


class FakeCloud:
    name = "fakecloud"

    def findings(self, app):
        return [Finding(function="fulfil", level="unsupported", message="no dead-letter queues")]

    def package(self, app, app_ref, out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "entry.txt").write_text(app_ref)
        return [Finding(function=None, level="info", message="wrote entry.txt")]

    def sample_events(self):
        return {"http-order": {"verb": "POST", "route": "/orders", "payload": '{"sku": "z"}'}}

    def invoke(self, app, function, native):
        resp = invoke(app, function, http_request(native["verb"], native["route"],
                                                  body=native["payload"]))
        return {"statusCode": resp.status, "body": resp.body.decode()}


ADAPTER = FakeCloud()
"""


def _install_fake_adapter(where: Path) -> str:
    """A third-party adapter found through the real entry-point machinery: a ``.dist-info``
    folder on ``sys.path`` declaring ``portable_fn.adapters: fakecloud`` (no real provider can
    run here, and the point is the CLI's discovery and delegation, not a provider)."""
    (where / "fakecloud_adapter.py").write_text(FAKE_ADAPTER)
    info = where / "fakecloud-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakecloud\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[portable_fn.adapters]\nfakecloud = fakecloud_adapter:ADAPTER\n"
    )
    return str(where)


def test_adapter_commands_go_through_the_entry_point(tmp_path: Path) -> None:
    path = _install_fake_adapter(tmp_path)
    kinds = cli("events", "fakecloud", path=path)
    assert kinds.returncode == 0 and kinds.stdout.split() == ["http-order"]
    sample = cli("events", "fakecloud", "http-order", path=path)
    assert json.loads(sample.stdout)["route"] == "/orders"
    invoked = cli(
        "invoke",
        SHOP,
        "create_order",
        "--provider",
        "fakecloud",
        "--event",
        "http-order",
        path=path,
    )
    assert invoked.returncode == 0, invoked.stderr
    result = json.loads(invoked.stdout)["result"]
    assert result["statusCode"] == 202 and json.loads(result["body"])["id"]
    inspected = json.loads(cli("inspect", SHOP, "--json", path=path).stdout)
    assert inspected["providers"]["fakecloud"] == [
        {"function": "fulfil", "level": "unsupported", "message": "no dead-letter queues"}
    ]
    assert "no dead-letter queues" in cli("inspect", SHOP, path=path).stdout
    out = tmp_path / "dist"
    packaged = cli("package", SHOP, "--provider", "fakecloud", "--out", str(out), path=path)
    assert packaged.returncode == 0, packaged.stderr
    assert (out / "entry.txt").read_text() == SHOP and "wrote entry.txt" in packaged.stdout


def _app_importing_pydantic(where: Path) -> Path:
    """An app that imports a real installed third-party package, and a module of its own."""
    where.mkdir()
    (where / "models.py").write_text("from pydantic import BaseModel\n\n\nclass Order(BaseModel):\n"
                                     "    sku: str\n")
    (where / "app.py").write_text(
        "import portable_fn as pf\nfrom models import Order\n\napp = pf.App('deps')\n\n\n"
        "@app.http('/orders', methods=['POST'])\ndef create(req: pf.Request) -> dict:\n"
        "    return Order.model_validate(req.json()).model_dump()\n"
    )
    return where / "app.py"


def test_package_warns_of_an_import_the_requirements_do_not_list(tmp_path: Path) -> None:
    """pydantic loaded by the app, no requirements.txt beside it: every cloud would raise
    ModuleNotFoundError at cold start. A warning (packaging still succeeds) names the module
    and its distribution, not what comes with it (pydantic_core) nor the app's own module."""
    path = _install_fake_adapter(tmp_path)
    app = str(_app_importing_pydantic(tmp_path / "shop"))
    packaged = cli("package", app, "--provider", "fakecloud", "--out", str(tmp_path / "d"),
                   path=path)
    assert packaged.returncode == 0, packaged.stderr
    warnings = [line for line in packaged.stdout.splitlines() if line.startswith("warning")]
    assert len(warnings) == 1, packaged.stdout
    assert "imports pydantic (distribution pydantic)" in warnings[0]
    assert "requirements.txt" in warnings[0] and "models" not in warnings[0]


def test_package_warns_of_an_import_a_handler_makes_when_it_runs(tmp_path: Path) -> None:
    """docs/cli.md: a third-party module the app's code imports that the package does not carry
    is a warning. One imported inside a handler (loaded at the first request, not when the app
    is) was not: the first request raised ModuleNotFoundError. Not warned of: a TYPE_CHECKING
    import (never run) and the app's own module imported the same way."""
    path = _install_fake_adapter(tmp_path)
    where = tmp_path / "lazy"
    where.mkdir()
    (where / "helpers.py").write_text("X = 1\n")
    (where / "app.py").write_text(
        "from typing import TYPE_CHECKING\n\nimport portable_fn as pf\n\n"
        "if TYPE_CHECKING:\n    import jsonschema\n\n"
        "app = pf.App('lazy')\n\n\n@app.http('/config')\ndef config(req: pf.Request) -> dict:\n"
        "    import yaml\n    import helpers\n\n"
        "    return yaml.safe_load('a: 1') | {'x': helpers.X}\n"
    )
    packaged = cli("package", str(where / "app.py"), "--provider", "fakecloud",
                   "--out", str(tmp_path / "d"), path=path)
    assert packaged.returncode == 0, packaged.stderr
    warnings = [line for line in packaged.stdout.splitlines() if line.startswith("warning")]
    assert len(warnings) == 1, packaged.stdout
    assert "imports yaml (distribution PyYAML)" in warnings[0], warnings


def test_package_is_quiet_when_the_requirements_carry_the_import(tmp_path: Path) -> None:
    """Listed in a nested ``-r`` file (as ``app_requirements`` reads it), or required by a
    listed project (pydantic-settings requires pydantic, as pip installs it): no warning."""
    path = _install_fake_adapter(tmp_path)
    app = _app_importing_pydantic(tmp_path / "shop")
    (app.parent / "requirements.txt").write_text("-r base.txt\n")
    for listed in ("pydantic>=2  # models\n", "pydantic-settings\n"):
        (app.parent / "base.txt").write_text(listed)
        packaged = cli("package", str(app), "--provider", "fakecloud",
                       "--out", str(tmp_path / "d"), path=path)
        assert packaged.returncode == 0 and "warning" not in packaged.stdout, packaged.stdout


def test_package_is_quiet_about_what_the_target_provides(tmp_path: Path) -> None:
    """An adapter's ``provides`` (what its runtime has, as Lambda has boto3) count as shipped."""
    path = _install_fake_adapter(tmp_path)
    adapter = tmp_path / "fakecloud_adapter.py"
    adapter.write_text(adapter.read_text().replace(
        'name = "fakecloud"', 'name = "fakecloud"\n    provides = ("pydantic",)'))
    app = str(_app_importing_pydantic(tmp_path / "shop"))
    packaged = cli("package", app, "--provider", "fakecloud", "--out", str(tmp_path / "d"),
                   path=path)
    assert packaged.returncode == 0 and "warning" not in packaged.stdout, packaged.stdout


def test_the_shop_readme_sample_events_run() -> None:
    paid = cli("invoke", SHOP, "invoice_paid", "--event", "examples/shop/events/invoice-paid.json")
    # A success says so and what it published: no "retryable" or "error" to misread.
    assert paid.returncode == 0 and set(json.loads(paid.stdout)) == {"ok", "published"}
    assert json.loads(paid.stdout)["ok"] is True
    order = cli(
        "invoke", SHOP, "create_order", "--event", "examples/shop/events/order-request.json"
    )
    assert json.loads(order.stdout)["response"]["status"] == 202
    poison = cli("invoke", SHOP, "fulfil", "--event", "examples/shop/events/poison-fulfilment.json")
    assert poison.returncode == 1 and "poison" in json.loads(poison.stdout)["error"]


def test_dlq_options_work_before_and_after_the_action() -> None:
    from portable_fn.cli import _parser

    parser = _parser()
    after = parser.parse_args(["dlq", "app.py", "list", "--json", "--state-dir", "s"])
    before = parser.parse_args(["dlq", "app.py", "--json", "--state-dir", "s", "list"])
    plain = parser.parse_args(["dlq", "app.py", "list"])
    assert (after.json, after.state_dir) == (before.json, before.state_dir) == (True, "s")
    assert (plain.json, plain.state_dir) == (False, ".portable-fn")


# --- Bad input: one clear line on stderr, a non-zero exit, never a traceback -----------------

BAD_APPS = {
    "raises.py": 'import portable_fn as pf\napp = pf.App("x")\nraise RuntimeError("boom")\n',
    "syntax.py": "def (:\n",
    "bad_retry.py": (
        'import portable_fn as pf\napp = pf.App("x")\n'
        '@app.queue("q", max_retries=-1)\ndef f(event): pass\n'
    ),
}


def _bad_input_cases(tmp: Path) -> list[tuple[list[str], str]]:
    """(argv, what the one line must say) for each mistake a user makes (those that need an
    adapter installed are in its own tests: test_aws_cli.py, test_gcp_cli.py)."""
    for name, text in BAD_APPS.items():
        (tmp / name).write_text(text)
    (tmp / "not-json.json").write_text("{sku: 1")
    (tmp / "a-file").write_text("")
    shop = str(ROOT / SHOP)
    return [
        (["inspect", str(tmp / "missing.py")], "no such file"),
        (["inspect", "no_such_package.app:app"], "no module"),
        (["inspect", str(tmp)], "directory"),
        (["inspect", f"{shop}:os"], "not an App"),
        (["inspect", f"{shop}:nothing_here"], "no attribute 'nothing_here'"),
        (["inspect", str(tmp / "raises.py")], "RuntimeError: boom"),
        (["inspect", str(tmp / "syntax.py")], "SyntaxError"),
        (["inspect", str(tmp / "bad_retry.py")], "max_retries"),
        (["invoke", shop, "no_such_fn", "--event", str(tmp / "not-json.json")], "fulfil"),
        (["invoke", shop, "fulfil", "--event", str(tmp / "not-json.json")], "not JSON"),
        (["invoke", shop, "fulfil", "--provider", "nocloud", "--event", "sqs"], "installed"),
        (["events", "nocloud"], "installed"),
        (["package", shop, "--provider", "nocloud"], "installed"),
        (["dlq", str(tmp / "missing.py"), "list"], "no such file"),
    ]


def test_every_command_answers_bad_input_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    for argv, says in _bad_input_cases(tmp_path):
        result = cli(*argv)
        err = result.stderr.strip()
        assert result.returncode != 0, (argv, result.stdout)
        assert "Traceback" not in err and "\n" not in err, (argv, err)
        assert err.startswith(f"portable-fn {argv[0]}: ") and says in err, (argv, err)


def test_a_state_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    """A --state-dir whose broker.sqlite3 is not SQLite (a wrong folder, a truncated copy) was
    a sqlite3.DatabaseError traceback, exit 1, from dlq and from dev."""
    (tmp_path / "broker.sqlite3").write_text("not a database\n" * 100)
    tmp_path.chmod(0o700)
    for command, *action in (["dlq", "list"], ["dlq", "redrive", "--all"], ["dev", "--port=0"]):
        result = cli(command, SHOP, "--state-dir", str(tmp_path), *action)
        err = result.stderr.strip()
        assert result.returncode == 2, (action, result.returncode, err)
        assert err.startswith(f"portable-fn {command}: ") and "broker.sqlite3" in err, err
        assert "Traceback" not in err and "\n" not in err, err


def test_dlq_json_without_broker_state_is_still_json(tmp_path: Path) -> None:
    """`dlq APP list --json` before `dev` ever ran printed nothing on stdout (a script reading
    the JSON failed on empty input); `redrive --json` likewise."""
    state = str(tmp_path / "fresh")
    listed = cli("dlq", SHOP, "--state-dir", state, "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == [], listed
    redriven = cli("dlq", SHOP, "--state-dir", state, "redrive", "7", "--json")
    assert redriven.returncode == 1, redriven
    assert json.loads(redriven.stdout) == {"redriven": [], "not_found": [7]}
    everything = cli("dlq", SHOP, "--state-dir", state, "redrive", "--all", "--json")
    assert everything.returncode == 0, everything
    assert json.loads(everything.stdout) == {"redriven": [], "not_found": []}


def test_dlq_list_escapes_terminal_controls_from_event_data(tmp_path: Path) -> None:
    """An event's id and type come from whoever posted it to the ingress or published it, and a
    handler's error text often quotes the payload: printed raw, an ESC sequence recoloured or
    retitled the developer's terminal and a line break forged a dead letter of its own line
    (OWASP "Log Injection"; the dev reporter escapes the same fields)."""
    import time as _time

    from portable_fn._local.store import Store
    from portable_fn.events import CloudEvent, to_json

    event = CloudEvent(
        id="\x1b]0;pwned\x07id", source="/s", type="t\x1b[31mred\nFORGED LINE", data={}
    )
    store = Store(tmp_path / "broker.sqlite3")
    store.enqueue(kind="queue", name="orders", event=to_json(event), functions=["fulfil"],
                  due=_time.time())
    (claimed,) = store.claim_due(_time.time(), 1)
    store.dead_letter(claimed.id, "orders-dlq", "KeyError: '\x1b[2J'")
    store.close()
    result = cli("dlq", SHOP, "--state-dir", str(tmp_path), "list")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    header, row = result.stdout.splitlines()  # the header, then one line per dead letter
    assert header.split()[:2] == ["ID", "DLQ"] and row.split()[0] == str(claimed.id)
    assert "t\\x1b[31mred\\x0aFORGED LINE" in result.stdout
    listed = json.loads(cli("dlq", SHOP, "--state-dir", str(tmp_path), "list", "--json").stdout)
    assert listed[0]["type"] == "t\x1b[31mred\nFORGED LINE"  # JSON keeps the value exact
    again = cli("dlq", SHOP, "--state-dir", str(tmp_path), "redrive", str(claimed.id))
    assert again.returncode == 0 and "re-driven 1 dead letter(s)" in again.stdout
    # An ID re-driven already: the error alone, on stderr, saying where the IDs are.
    twice = cli("dlq", SHOP, "--state-dir", str(tmp_path), "redrive", str(claimed.id))
    assert twice.returncode == 1 and twice.stdout == ""
    assert "first column of `dlq APP list`" in twice.stderr


def test_a_reader_that_goes_away_is_not_bad_input() -> None:
    """``portable-fn inspect APP --json | head -c 10``: the pipe closes under the writer. That
    was reported as bad input (``[Errno 32] Broken pipe``, exit 2); the output is just cut
    short, as Python's docs advise for SIGPIPE."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first write
    try:
        done = subprocess.run(
            [sys.executable, "-m", "portable_fn", "inspect", SHOP, "--json"],
            stdout=write, stderr=subprocess.PIPE, timeout=60, check=False,
        )
    finally:
        os.close(write)
    assert done.returncode == 1 and done.stderr == b"", done.stderr


def test_dlq_list_columns_line_up_with_the_header_whatever_the_names() -> None:
    """`dlq APP list` printed its columns 20 wide: a DLQ or function name longer than that
    pushed its line out of step with the header (and with the other lines)."""
    from portable_fn._local.commands import dlq_table

    def row(ident: int, dlq: str, function: str) -> dict[str, object]:
        return {"id": ident, "dlq": dlq, "function": function, "event_id": "e", "type": "t",
                "attempts": 1, "error": "E: x", "source_kind": "queue", "source_name": "q",
                "data": None}

    lines = dlq_table([row(4, "device-commands-dead-letters", "run_command"),
                       row(1234, "d", "a_rather_long_function_name_for_commands")])
    header = lines[0]
    for title, values in (("DLQ", ("device-commands-dead-letters", "d ")),
                          ("FUNCTION", ("run_command", "a_rather_long")),
                          ("TYPE", ("t  event", "t  event"))):
        column = header.index(title)
        found = [line.index(value) for line, value in zip(lines[1:], values, strict=True)]
        assert found == [column] * 2
    assert [line.split()[0] for line in lines] == ["ID", "4", "1234"]
    assert lines[1].index("4 ") == lines[2].index("1234") + 3  # ids right-aligned


def test_dev_on_a_port_in_use_names_it_and_the_way_out() -> None:
    """The bare errno named neither the address nor `--port 0`."""
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = cli("dev", SHOP, "--port", str(port))
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr and "--port 0" in result.stderr
