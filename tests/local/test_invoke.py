"""``portable-fn invoke``: a bad ``--event`` is a usage error (exit 2, one line), no traceback."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from portable_fn.cli import main

SHOP = str(Path(__file__).resolve().parents[2] / "examples" / "shop" / "app.py")


@pytest.mark.parametrize(
    ("function", "event", "says"),
    [
        ("fulfil", "{not json", "not JSON"),
        ("get_order", "{}", "give a concrete"),  # the route has a {order_id} parameter
        # Nested past the parser: a RecursionError traceback, exit 1.
        ("fulfil", "[" * 100_000 + "]" * 100_000, "deeper than it can be read"),
    ],
)
def test_bad_event_exits_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], function: str, event: str, says: str
) -> None:
    path = tmp_path / "event.json"
    path.write_text(event)
    assert main(["invoke", SHOP, function, "--event", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("portable-fn invoke: ") and says in err
    assert "Traceback" not in err



@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_an_event_file_with_a_byte_order_mark_is_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], encoding: str
) -> None:
    """Notepad saves UTF-8 with a BOM and Windows PowerShell's `>` writes UTF-16: both are
    JSON files (RFC 8259 section 8.1), not a usage error."""
    path = tmp_path / "event.json"
    path.write_text('{"id": "o1", "sku": "b\u00e9"}', encoding=encoding)
    assert main(["invoke", SHOP, "request_fulfilment", "--event", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["published"][0]["data"] == {"id": "o1", "sku": "bé"}


class _Raising:
    """Stands in for a provider adapter (the core's tests run without any installed): its
    ``invoke`` raises the handler's error, as the AWS adapter does for an asynchronous event
    (Lambda retries it) and the Azure one for any failed invocation."""

    name = "raising"

    def sample_events(self) -> dict[str, object]:
        return {"order": {"sku": "a"}}

    def invoke(self, app: object, function: str, native: object) -> object:
        raise ValueError("no stock")


def test_a_native_event_whose_handler_raises_is_reported_with_exit_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:

    import portable_fn.adapter

    monkeypatch.setattr(portable_fn.adapter, "load_adapter", lambda name: _Raising())
    assert main(["invoke", SHOP, "fulfil", "--provider", "raising", "--event", "order"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["raised"] == {"type": "ValueError", "message": "no stock"}
    assert report["provider"] == "raising" and "result" not in report


def test_event_dash_reads_the_event_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`portable-fn events aws sqs | portable-fn invoke APP fulfil --provider aws --event -`:
    `-` is standard input, as for most command-line tools; it was "no such file"."""
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"id": "o1", "sku": "b"}')))
    assert main(["invoke", SHOP, "request_fulfilment", "--event", "-"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["published"][0]["data"] == {"id": "o1", "sku": "b"}
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"{not json")))
    assert main(["invoke", SHOP, "request_fulfilment", "--event", "-"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("portable-fn invoke: --event '-' (standard input) is not JSON")


def test_a_sample_name_without_provider_says_samples_need_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A sample name is native: without --provider the message named only a missing file."""
    assert main(["invoke", SHOP, "fulfil", "--event", "sqs"]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "--provider" in err and "\n" not in err.strip()


def test_an_http_request_file_with_unknown_keys_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`{"sku": "a"}` for an HTTP function was taken as a request with no body (the handler
    answered 400 "request body is empty"): the order was dropped without a word."""
    path = tmp_path / "order.json"
    path.write_text('{"sku": "a"}')
    assert main(["invoke", SHOP, "create_order", "--event", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("portable-fn invoke: ") and "'sku'" in err and '"json"' in err
    path.write_text('{"path": "/orders", "json": {"sku": "a"}}')
    assert main(["invoke", SHOP, "create_order", "--event", str(path)]) == 0


@pytest.mark.parametrize(
    ("request_spec", "says"),
    [
        ({"path": "/orders/o1", "headers": ["accept"]}, '"headers"'),
        ({"path": "/orders/o1", "headers": {"accept": 1}}, '"headers"'),
        ({"path": "/orders/o1", "query": 5}, '"query"'),
        ({"path": 5}, '"path"'),
        ({"path": "/orders/o1", "method": 7}, '"method"'),
        ({"path": "/orders/o1", "body": {"a": 1}}, '"body"'),
        ({"path": "/orders/o1", "body": "x", "json": {}}, '"json" or "body"'),
    ],
)
def test_a_malformed_http_request_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], request_spec: object, says: str
) -> None:
    """A request field of the wrong JSON type was a TypeError/ValueError traceback (exit 1),
    and {"body": {...}} was sent as the dict's keys joined."""
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request_spec))
    assert main(["invoke", SHOP, "get_order", "--event", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("portable-fn invoke: ") and says in err and "Traceback" not in err


def test_a_request_file_sends_a_base64_body_as_its_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``invoke`` writes a binary response body as ``"body"`` + ``"base64": true``; the request
    file refused that key, so no binary body could be sent. Now its bytes reach the handler."""
    app = tmp_path / "bin_app.py"
    app.write_text(
        "import hashlib\nimport portable_fn as pf\napp = pf.App('bin')\n\n"
        "@app.http('/up', methods=['POST'], auth='anonymous')\n"
        "def up(request: pf.Request) -> dict:\n"
        "    return {'n': len(request.body), 'sha': hashlib.sha256(request.body).hexdigest()}\n"
    )
    data = bytes(range(256))
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"body": base64.b64encode(data).decode(), "base64": True}))
    assert main(["invoke", str(app), "up", "--event", str(path)]) == 0
    body = json.loads(json.loads(capsys.readouterr().out)["response"]["body"])
    assert body == {"n": 256, "sha": hashlib.sha256(data).hexdigest()}
    for wrong, says in (({"body": "%%", "base64": True}, "not base64"),
                        ({"body": "eA==", "base64": "yes"}, '"base64"')):
        path.write_text(json.dumps(wrong))
        assert main(["invoke", str(app), "up", "--event", str(path)]) == 2
        err = capsys.readouterr().err
        assert says in err and "Traceback" not in err


_EXITS = '''
import sys
import portable_fn as pf

app = pf.App("exits")


@app.http("/leave", methods=["GET"])
def leave(req: pf.Request) -> None:
    sys.exit(3)


@app.queue("jobs")
def job(event: pf.CloudEvent) -> None:
    sys.exit(5)
'''


@pytest.mark.parametrize(
    ("function", "event", "shape"),
    [("leave", {"method": "GET", "path": "/leave"}, "response"), ("job", {"a": 1}, "ok")],
)
def test_a_handler_that_calls_sys_exit_is_a_failed_invocation_with_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], function: str, event: object, shape: str
) -> None:
    """``sys.exit()`` in a handler fails the invocation (Lambda's ``Runtime.ExitError``,
    https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html): exit 1 and
    the JSON report, as for any failure. Before, ``invoke`` itself exited with the handler's
    code (3 or 5) and printed nothing on stdout."""
    app = tmp_path / "exits.py"
    app.write_text(_EXITS)
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    assert main(["invoke", str(app), function, "--event", str(path)]) == 1
    out = json.loads(capsys.readouterr().out)
    if shape == "response":
        assert out["response"]["status"] == 500
    else:
        assert (out["ok"], out["retryable"]) == (False, True) and "sys.exit(5)" in out["error"]


class _Exiting(_Raising):
    """An adapter whose handler called ``sys.exit()``: the dispatcher lets it through."""

    def invoke(self, app: object, function: str, native: object) -> object:
        raise SystemExit(3)


def test_a_native_event_whose_handler_exits_is_reported_with_exit_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import portable_fn.adapter

    monkeypatch.setattr(portable_fn.adapter, "load_adapter", lambda name: _Exiting())
    assert main(["invoke", SHOP, "fulfil", "--provider", "raising", "--event", "order"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["raised"]["type"] == "HandlerExited"
    assert "sys.exit(3)" in report["raised"]["message"]



def test_plain_data_for_an_event_function_takes_its_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Plain JSON for an ``@app.event`` function was wrapped in an event of type
    ``<app>.event``, which the function's own type filter declined: ``{"ok": true}`` and exit
    0 for a handler that never ran. The wrapper takes the function's type."""
    path = tmp_path / "paid.json"
    path.write_text('{"invoice": "2026-0042"}')
    assert main(["invoke", SHOP, "invoice_paid", "--event", str(path)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["ok"] is True
    assert '"invoice paid"' in captured.err  # the handler's own line: it ran


@pytest.mark.parametrize(
    ("function", "event", "says"),
    [
        # a storage function's filter reads data.action: plain data has none
        ("on_upload", {"sku": "a"}, "no action in the event's data"),
        ("on_upload", {"bucket": "uploads", "key": "a.txt", "action": "deleted"}, "deleted"),
        # a CloudEvent of another type than the function takes
        ("invoice_paid", {"specversion": "1.0", "id": "1", "source": "/s",
                          "type": "com.example.other"}, "com.example.other"),
    ],
)
def test_an_event_the_function_would_not_run_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], function: str, event: object, says: str
) -> None:
    """The function's filter declines the event, so nothing would run: it was reported as
    ``{"ok": true}`` with exit 0. It is refused with exit 2 and the filter's reason."""
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    assert main(["invoke", SHOP, function, "--event", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("portable-fn invoke: ") and "would not run" in err and says in err
    assert "Traceback" not in err


def test_the_storage_data_the_refusal_asks_for_runs_the_handler(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The refusal above asks for {"bucket", "key", "action"}; given just that, the shop's
    handler failed on ``event.data["size"]`` (KeyError, exit 1): storage data always carries
    size and etag (event-mapping rule 4), None where unknown."""
    path = tmp_path / "upload.json"
    path.write_text('{"bucket": "uploads", "key": "a.txt", "action": "created"}')
    assert main(["invoke", SHOP, "on_upload", "--event", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_an_event_read_from_a_pipe_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--event <(jq ...)`` and ``--event /dev/stdin`` name a pipe, not a regular file: they
    were refused as "no such file". Any readable path but a directory is read."""
    import os
    import threading

    fifo = tmp_path / "event.pipe"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb") as pipe:
            pipe.write(b'{"id": "o1", "sku": "b"}')

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        code = main(["invoke", SHOP, "request_fulfilment", "--event", str(fifo)])
    finally:
        if writer.is_alive():  # the CLI never opened the pipe: open it, so the writer ends
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        writer.join(10)
    assert code == 0
    assert json.loads(capsys.readouterr().out)["published"][0]["data"]["sku"] == "b"
    assert main(["invoke", SHOP, "request_fulfilment", "--event", str(tmp_path)]) == 2
