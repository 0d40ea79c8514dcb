"""``portable-fn invoke``: a bad ``--event`` is a usage error (exit 2, one line), no traceback."""

from __future__ import annotations

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
