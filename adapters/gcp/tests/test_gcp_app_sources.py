# SPDX-License-Identifier: Apache-2.0
"""A file app that imports a sibling *package* and reads a data file beside it, served by the
real functions-framework from the packaged source directory.

``gcloud functions deploy --source`` uploads the directory and the framework imports
``main.py`` from it, so "Your function can also import local modules ... in the same
directory" (https://cloud.google.com/functions/docs/writing#directory-structure-python) and
read files deployed with it: ``helpers/`` (a package) and ``rates.json`` beside ``app.py`` must
be in the package. What the app folder's ``.gcloudignore`` leaves out of an upload
(https://cloud.google.com/sdk/gcloud/reference/topic/gcloudignore: gitignore syntax plus
``#!include:``) stays out of the package, as gcloud would have left it out.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from portable_fn._local.loader import load_app
from portable_fn.errors import ConfigurationError
from servers import start, stop, wait_ready

from portable_fn_gcp.adapter import adapter

APP = '''\
import json
from pathlib import Path

import portable_fn as pf
from gcpk_helpers import pricing

app = pf.App("siblings")
RATES = json.loads((Path(__file__).parent / "rates.json").read_text())


@app.http("/orders/{order_id}", methods=["GET"])
def get_order(req: pf.Request) -> dict:
    return {"id": req.path_params["order_id"], "total": pricing.total(2),
            "currency": RATES["currency"]}
'''


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def _assert_serves_the_order(out: Path, logs: Path) -> None:
    """The packaged ``get_order`` under the real functions-framework answers with the total
    its sibling package computed and the currency its data file holds."""
    server = start(out, "get_order", {}, logs)
    try:
        wait_ready(server)
        status, _, body = server.request("/orders/o-1", method="GET")
    finally:
        stop(server)
    assert status == 200, server.output()
    assert json.loads(body) == {"id": "o-1", "total": 42, "currency": "EUR"}


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "project"
    files = {
        "app.py": APP,
        "gcpk_helpers/__init__.py": "",
        "gcpk_helpers/pricing.py": "def total(n: int) -> int:\n    return n * 21\n",
        "rates.json": '{"currency": "EUR"}\n',
    }
    _write(root, files)
    yield root
    for name in [m for m in sys.modules if m.startswith(("gcpk_", "_portable_fn_app_app"))]:
        del sys.modules[name]
    if str(root) in sys.path:
        sys.path.remove(str(root))


def test_a_sibling_package_and_a_data_file_are_served(project: Path, tmp_path: Path) -> None:
    ref = str(project / "app.py")
    out = project / "dist" / "gcp"  # the CLI's default: inside the project
    adapter.package(load_app(ref), ref, out)
    for name in ("app.py", "gcpk_helpers/__init__.py", "gcpk_helpers/pricing.py", "rates.json"):
        assert (out / name).is_file(), name
    _assert_serves_the_order(out, tmp_path)


PACKAGE_APP = '''\
import json
from pathlib import Path

import portable_fn as pf
from gcpk_shop.common import pricing

app = pf.App("nested")
RATES = json.loads((Path(__file__).parent / "rates.json").read_text())


@app.http("/orders/{order_id}", methods=["GET"])
def get_order(req: pf.Request) -> dict:
    return {"id": req.path_params["order_id"], "total": pricing.total(2),
            "currency": RATES["currency"]}
'''


def test_a_package_app_importing_a_sibling_package_of_its_package_is_served(
    tmp_path: Path,
) -> None:
    """``gcpk_shop.api.app`` imports ``gcpk_shop.common``: the whole outermost package ships,
    not only the app module's folder."""
    root = tmp_path / "root"
    files = {
        "gcpk_shop/__init__.py": "",
        "gcpk_shop/api/__init__.py": "",
        "gcpk_shop/api/app.py": PACKAGE_APP,
        "gcpk_shop/api/rates.json": '{"currency": "EUR"}\n',
        "gcpk_shop/common/__init__.py": "",
        "gcpk_shop/common/pricing.py": "def total(n: int) -> int:\n    return n * 21\n",
    }
    _write(root, files)
    sys.path.insert(0, str(root))
    try:
        ref = "gcpk_shop.api.app:app"
        out = tmp_path / "dist" / "gcp"
        adapter.package(load_app(ref), ref, out)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.startswith("gcpk_")]:
            del sys.modules[name]
    _assert_serves_the_order(out, tmp_path)


def test_what_the_gcloudignore_beside_the_app_leaves_out_is_not_packaged(project: Path) -> None:
    files = {
        ".gcloudignore": (
            "# as `gcloud topic gcloudignore` documents it\n.gcloudignore\n.git\n.gitignore\n"
            "#!include:.gitignore\n/notes/\n**/fixtures/**\n!gcpk_helpers/fixtures/keep.json\n"
            "*.sql\n!schema.sql\n"
        ),
        ".gitignore": "*.log\nlocal_data/\n",
        "debug.log": "x\n",
        "local_data/big.csv": "x\n",
        "notes/todo.md": "x\n",
        "docs/notes/kept.md": "x\n",  # /notes/ is anchored at the root
        "gcpk_helpers/fixtures/sample.json": "{}\n",
        "gcpk_helpers/fixtures/keep.json": "{}\n",  # its folder is ignored: gcloud keeps it out
        "dump.sql": "x\n",
        "schema.sql": "x\n",
    }
    _write(project, files)
    ref = str(project / "app.py")
    out = project / "dist" / "gcp"
    adapter.package(load_app(ref), ref, out)
    carried = {
        p.relative_to(out).as_posix() for p in out.rglob("*")
        if p.is_file() and p.relative_to(out).parts[0] not in ("portable_fn", "portable_fn_gcp")
        and "__pycache__" not in p.parts
    }
    assert carried == {
        "app.py", "gcpk_helpers/__init__.py", "gcpk_helpers/pricing.py", "rates.json",
        "docs/notes/kept.md", "schema.sql",
        "main.py", "requirements.txt", "deploy.sh", ".gcloudignore",
    }


def test_a_gcloudignore_including_a_missing_file_is_refused(project: Path) -> None:
    # gcloud fails the deploy on it (BadIncludedFileError): say so at package time.
    (project / ".gcloudignore").write_text("#!include:.gitignore\n")
    ref = str(project / "app.py")
    with pytest.raises(ConfigurationError, match="gitignore"):
        adapter.package(load_app(ref), ref, project / "dist" / "gcp")
