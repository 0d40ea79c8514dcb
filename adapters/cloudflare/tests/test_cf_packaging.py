# SPDX-License-Identifier: Apache-2.0
"""The packaged Worker carries the app's own modules, and nothing else.

A Python Worker imports the modules uploaded beside its entry: "Python workers can be split
across multiple files ... ``import module``", with ``src/`` as the import root
(https://developers.cloudflare.com/workers/languages/python/examples/#modules-in-your-worker).
So an app that imports a sibling module (``import helpers`` beside ``app.py``) or a module of
its own package (``from . import models``) only runs on Cloudflare if the packager copies those
modules into ``src/``; and a Worker's upload is size-limited
(https://developers.cloudflare.com/workers/platform/limits/#worker-size), so virtualenvs, tests,
caches and earlier build output must stay out. Each app here is written to ``tmp_path`` the way a
user's project lies on disk, packaged through the adapter, and run on real Pyodide with the real
``workers`` SDK.
"""

from __future__ import annotations

import base64
import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyodide_worker import PyodideWorker

from portable_fn.errors import ConfigurationError
from portable_fn.testing import load_app
from portable_fn_cloudflare.adapter import adapter

ECHO = "https://app.example.workers.dev"

SIBLING_APP = '''\
import portable_fn as pf

import cfpk_pricing
from cfpk_lib import units
from cfpk_ns import fmt  # a namespace package: a folder without __init__.py

app = pf.App("siblings")


@app.http("/price/{n}", methods=["GET"])
def price(req: pf.Request) -> dict:
    n = int(req.path_params["n"])
    return {"total": cfpk_pricing.total(n), "unit": units.UNIT, "label": fmt.label(n)}
'''

PACKAGE_APP = '''\
import portable_fn as pf

from . import models
from .services import tax

app = pf.App("pkg")


@app.http("/order/{n}", methods=["GET"])
def order(req: pf.Request) -> dict:
    return models.order(int(req.path_params["n"]), tax.rate())
'''


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def junk(folder: Path) -> None:
    """What lies around in a real project folder and must not reach the Worker."""
    write(
        folder,
        {
            ".venv/pyvenv.cfg": "home = /usr/bin\n",
            ".venv/lib/python3.12/site-packages/big.py": "X = 1\n",
            "venv/pyvenv.cfg": "home = /usr/bin\n",  # a virtualenv without a leading dot
            "venv/lib/python3.12/site-packages/other.py": "X = 1\n",
            "tests/__init__.py": "",
            "tests/test_app.py": "def test_x():\n    pass\n",
            "__pycache__/app.cpython-311.pyc": "not bytecode",
            "dist/cloudflare/src/stale.py": "STALE = True\n",
            "node_modules/pkg/index.py": "X = 1\n",
            ".env": "SECRET=1\n",
            ".git/config": "[core]\n",
        },
    )


def fetch_json(worker: PyodideWorker, path: str) -> tuple[int, object]:
    reply = worker.call("fetch", method="GET", url=ECHO + path)
    return reply["status"], json.loads(base64.b64decode(reply["body_b64"]))


def carried(src: Path) -> set[str]:
    """Files of ``src/`` besides the vendored portable-fn packages and the entry."""
    return {
        p.relative_to(src).as_posix()
        for p in src.rglob("*")
        if p.is_file()
        and p.relative_to(src).parts[0] not in ("portable_fn", "portable_fn_cloudflare")
    }


@pytest.fixture
def sibling_project(tmp_path: Path) -> Iterator[Path]:
    project = tmp_path / "project"
    write(
        project,
        {
            "app.py": SIBLING_APP,
            "cfpk_pricing.py": "def total(n: int) -> int:\n    return n * 3\n",
            "cfpk_lib/__init__.py": "",
            "cfpk_lib/units.py": 'UNIT = "EUR"\n',
            # Not a module: wrangler would not upload it (or, as .txt, upload it as a module).
            "cfpk_lib/data/rates.json": "{}\n",
            "cfpk_lib/NOTES.txt": "notes\n",
            "cfpk_lib/tests/test_units.py": "",
            "cfpk_ns/fmt.py": "def label(n: int) -> str:\n    return f'{n} items'\n",
            "scripts/release.py": "print('not imported by the app')\n",
            "README.md": "# the project\n",  # beside the app: not a module
            # Data the app could read beside it: Azure and GCP ship it, a Worker cannot.
            "rates.json": "{}\n",
            "requirements.txt": "httpx\n",
        },
    )
    junk(project)
    yield project
    for name in [m for m in sys.modules if m.startswith(("cfpk_", "_portable_fn_app_app"))]:
        del sys.modules[name]


@pytest.fixture
def package_project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "root"
    write(
        root,
        {
            "cfpk_shop/__init__.py": "",
            "cfpk_shop/app.py": PACKAGE_APP,
            "cfpk_shop/models.py": (
                "def order(n: int, rate: float) -> dict:\n"
                "    return {'n': n, 'gross': round(n * (1 + rate), 2)}\n"
            ),
            "cfpk_shop/services/__init__.py": "",
            "cfpk_shop/services/tax.py": "def rate() -> float:\n    return 0.2\n",
        },
    )
    junk(root / "cfpk_shop")
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))
    for name in [m for m in sys.modules if m.startswith("cfpk_")]:
        del sys.modules[name]


def test_sibling_modules_beside_the_app_file_are_carried(sibling_project: Path) -> None:
    ref = str(sibling_project / "app.py")
    out = sibling_project / "dist" / "cloudflare"  # the CLI's default: inside the project
    adapter.package(load_app(ref), ref, out)
    assert carried(out / "src") == {
        "entry.py",
        "app.py",
        "cfpk_pricing.py",
        "cfpk_lib/__init__.py",
        "cfpk_lib/units.py",
        "cfpk_ns/fmt.py",
    }


def test_sibling_imports_run_on_pyodide(sdk_dir: Path, sibling_project: Path) -> None:
    ref = str(sibling_project / "app.py")
    out = sibling_project / "dist" / "cloudflare"
    adapter.package(load_app(ref), ref, out)
    worker = PyodideWorker(sdk_dir, out)
    try:
        assert fetch_json(worker, "/price/4") == (
            200,
            {"total": 12, "unit": "EUR", "label": "4 items"},
        )
    finally:
        worker.close()


# What a package app's Worker carries besides the runtime: the entry and the whole package.
PACKAGE_MODULES = {
    "entry.py",
    "cfpk_shop/__init__.py",
    "cfpk_shop/app.py",
    "cfpk_shop/models.py",
    "cfpk_shop/services/__init__.py",
    "cfpk_shop/services/tax.py",
}


def test_package_modules_are_carried(package_project: Path, tmp_path: Path) -> None:
    app = importlib.import_module("cfpk_shop.app").app
    out = tmp_path / "out"
    adapter.package(app, "cfpk_shop.app:app", out)
    assert carried(out / "src") == PACKAGE_MODULES


def test_output_folder_inside_the_package_is_not_carried(package_project: Path) -> None:
    """``--out`` may point inside the app's own package; packaging twice must not nest the
    first Worker inside the second."""
    app = importlib.import_module("cfpk_shop.app").app
    out = package_project / "cfpk_shop" / "worker-out"
    adapter.package(app, "cfpk_shop.app:app", out)
    adapter.package(app, "cfpk_shop.app:app", out)
    assert carried(out / "src") == PACKAGE_MODULES


def test_relative_imports_run_on_pyodide(
    sdk_dir: Path, package_project: Path, tmp_path: Path
) -> None:
    app = importlib.import_module("cfpk_shop.app").app
    out = tmp_path / "out"
    adapter.package(app, "cfpk_shop.app:app", out)
    worker = PyodideWorker(sdk_dir, out)
    try:
        assert fetch_json(worker, "/order/10") == (200, {"n": 10, "gross": 12.0})
    finally:
        worker.close()


def test_an_app_module_named_like_the_entry_is_refused(tmp_path: Path) -> None:
    """``src/entry.py`` is the Worker's ``main``: an app file of that name would be replaced by
    it (and the entry would import itself)."""
    write(tmp_path, {"entry.py": 'import portable_fn as pf\napp = pf.App("e")\n'})
    ref = str(tmp_path / "entry.py")
    app = load_app(ref)
    with pytest.raises(ConfigurationError, match="entry"):
        adapter.package(app, ref, tmp_path / "out")


def test_data_files_the_worker_lacks_are_reported(sibling_project: Path) -> None:
    """wrangler uploads a Python Worker's ``**/*.py`` only (sources.py), so a file the app
    opens beside its code (``Path(__file__).parent / "rates.json"``) is missing at run time;
    ``package`` left it out without a word, and the Worker failed on first read."""
    ref = str(sibling_project / "app.py")
    out = sibling_project / "dist" / "cloudflare"
    notes = [str(n) for n in adapter.package(load_app(ref), ref, out)]
    (note,) = [n for n in notes if "not uploaded" in n]
    assert note.startswith("[warning]")
    for name in ("rates.json", "cfpk_lib/data/rates.json", "cfpk_lib/NOTES.txt"):
        assert name in note
    for name in ("requirements.txt", ".env", "tests", "venv", "dist", "node_modules"):
        assert name not in note  # read by the packager, or never packaged on any target


def test_a_package_without_data_files_gets_no_such_note(
    package_project: Path, tmp_path: Path
) -> None:
    app = importlib.import_module("cfpk_shop.app").app
    notes = [str(n) for n in adapter.package(app, "cfpk_shop.app:app", tmp_path / "out")]
    assert not [n for n in notes if "not uploaded" in n]
