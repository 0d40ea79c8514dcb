"""``APP`` references, as uvicorn takes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from portable_fn._local.loader import AppLoadError, load_app

ROOT = Path(__file__).resolve().parents[2]


def test_file_path_module_and_attribute_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert load_app("examples/shop/app.py").name == "shop"
    assert load_app("examples/shop/app.py:app").name == "shop"
    assert load_app("tests.local.apps.slow:app").name == "slow"
    assert load_app("tests.local.apps.slow").name == "slow"


def test_errors_say_what_is_wrong(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    with pytest.raises(AppLoadError, match="no such file"):
        load_app("examples/nope.py")
    with pytest.raises(AppLoadError, match="no module"):
        load_app("nope.nothing:app")
    with pytest.raises(AppLoadError, match="'os' is module, not an App"):
        load_app("examples/shop/app.py:os")
    with pytest.raises(AppLoadError, match=r"no attribute 'uuid'.*Apps there: app"):
        load_app("examples/shop/app.py:uuid")
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(AppLoadError, match="found no App"):
        load_app(str(empty))
