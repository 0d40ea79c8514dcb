"""The ``portable-fn`` CLI, run as a subprocess (``python -m portable_fn.cli``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOP = "examples/shop/app.py"


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
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

    plain = tmp_path / "data.json"
    plain.write_text(json.dumps({"id": "o2", "sku": "b"}))  # not a CloudEvent: becomes data
    sent = cli("invoke", SHOP, "request_fulfilment", "--event", str(plain))
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["published"][0]["name"] == "fulfilment"


def test_errors_exit_2_with_a_message(tmp_path: Path) -> None:
    missing = cli("events", "no-such-cloud", "sqs")
    assert missing.returncode == 2 and "pip install" in missing.stderr
    package = cli("package", SHOP, "--provider", "no-such-cloud", "--out", str(tmp_path / "d"))
    assert package.returncode == 2
    bad_app = cli("inspect", "examples/none.py")
    assert bad_app.returncode == 2 and "no such file" in bad_app.stderr
    no_file = cli("invoke", SHOP, "fulfil", "--event", str(tmp_path / "absent.json"))
    assert no_file.returncode == 2 and "absent.json" in no_file.stderr
    empty = cli("dlq", SHOP, "--state-dir", str(tmp_path / "none"), "list")
    assert empty.returncode == 0 and "nothing was dead-lettered" in empty.stderr
