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


def test_a_file_is_the_module_its_siblings_import(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An app split across modules (Chalice's blueprints, Azure's): ``app.py`` makes the App
    and imports ``admin``, which does ``from app import app`` and adds its routes. Loaded by
    file path, the file ran as a private module, so ``from app import app`` ran it again as
    ``app``: a second App took admin's routes, and ``dev``, ``inspect`` and ``package`` (whose
    entry imports ``app`` and would have them) silently lacked them."""
    import sys

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])  # restored afterwards
    stem = f"splitapp_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{stem}.py").write_text(
        "import portable_fn as pf\n"
        "app = pf.App('split')\n"
        "@app.http('/hello')\n"
        "def hello(req): return 'hi'\n"
        f"import {stem}_admin  # noqa: E402  registers its routes on this app\n"
    )
    (tmp_path / f"{stem}_admin.py").write_text(
        f"from {stem} import app\n"
        "@app.http('/admin/stats')\n"
        "def stats(req): return {}\n"
    )
    try:
        app = load_app(f"{stem}.py")
        assert sorted(app.functions) == ["hello", "stats"]
        import sys

        assert sys.modules[stem].app is app
    finally:
        import sys

        for name in (stem, f"{stem}_admin", f"_portable_fn_app_{stem}"):
            sys.modules.pop(name, None)


def test_a_file_named_like_a_loaded_module_still_loads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A file whose name is taken by a module already imported (a ``json.py`` beside the app)
    does not replace it: it loads under a private name, as before. (A module of the test's own
    stands for ``json``: a real ``json.py`` on ``sys.path`` would shadow it for the processes
    later tests spawn.)"""
    import sys
    import types

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # load_app adds the app's folder
    taken = types.ModuleType("takenmod_pf")
    monkeypatch.setitem(sys.modules, "takenmod_pf", taken)
    (tmp_path / "takenmod_pf.py").write_text("import portable_fn as pf\napp = pf.App('named')\n")
    try:
        assert load_app("takenmod_pf.py").name == "named"
        assert sys.modules["takenmod_pf"] is taken
    finally:
        sys.modules.pop("_portable_fn_app_takenmod_pf", None)


def test_an_app_that_exits_while_importing_is_a_load_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``sys.exit()`` at import (a script's guard gone wrong) ended the CLI silently with the
    app's own exit code; it is a load error naming where, as any other exception."""
    app = tmp_path / "quits.py"
    app.write_text("import sys\nsys.exit(3)\n")
    with pytest.raises(AppLoadError, match=r"SystemExit: 3 \(quits.py, line 2\)"):
        load_app(str(app))
    (tmp_path / "quitsmod.py").write_text("import sys\nsys.exit('no')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(AppLoadError, match="SystemExit: no"):
        load_app("quitsmod:app")


def test_a_missing_module_the_app_imports_is_named_not_the_app(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``shopapp`` importing a missing ``shop`` said "no module 'shopapp'": the check took any
    missing module whose name starts the APP's for the APP itself."""
    (tmp_path / "shopapp.py").write_text("import shop\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(AppLoadError, match="No module named 'shop'") as caught:
        load_app("shopapp")
    assert "no module 'shopapp'" not in str(caught.value)
