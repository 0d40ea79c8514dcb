"""``portable-fn invoke``: a bad ``--event`` is a usage error (exit 2, one line), no traceback."""

from __future__ import annotations

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
