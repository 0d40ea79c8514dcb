# SPDX-License-Identifier: Apache-2.0
"""A file app that imports a sibling *package* and reads a data file beside it runs on Azure.

The Functions host puts the app root on ``sys.path`` and imports ``function_app``
("Folder structure": shared code lives in folders of the project root and is imported from
``function_app.py``,
https://learn.microsoft.com/azure/azure-functions/functions-reference-python#folder-structure);
a zip deploy carries the whole folder (``az functionapp deployment source config-zip``,
https://learn.microsoft.com/azure/azure-functions/deployment-zip-push). So ``helpers/`` (a
package) and ``rates.json`` beside ``app.py`` must be in the package. The package is indexed and
the function invoked by the real ``azure.functions`` library in a fresh interpreter that sees
only the package, with the HTTP invocation built from ``events/http_get_route.json`` (the
host's RpcHttp shape, as the other Azure tests use it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from portable_fn.testing import load_app

from portable_fn_azure.adapter import AzureAdapter

APP = '''\
import json
from pathlib import Path

import portable_fn as pf
from azpk_helpers import pricing

app = pf.App("siblings")
RATES = json.loads((Path(__file__).parent / "rates.json").read_text())


@app.http("/orders/{order_id}", methods=["GET"])
def get_order(req: pf.Request) -> dict:
    return {"id": req.path_params["order_id"], "total": pricing.total(2),
            "currency": RATES["currency"]}
'''

PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import function_app
from portable_fn_azure import worker
names = list(worker.index(function_app.app))  # get_functions(), once, as the worker
reply = worker.invoke(function_app.app, "get_order", json.loads(sys.argv[2]))
print(json.dumps([names, reply.status_code, json.loads(reply.get_body())]))
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "project"
    files = {
        "app.py": APP,
        "azpk_helpers/__init__.py": "",
        "azpk_helpers/pricing.py": "def total(n: int) -> int:\n    return n * 21\n",
        "rates.json": '{"currency": "EUR"}\n',
        "venv/pyvenv.cfg": "home = /usr/bin\n",
        "tests/test_app.py": "",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    yield root
    for name in [m for m in sys.modules if m.startswith(("azpk_", "_portable_fn_app_app"))]:
        del sys.modules[name]
    if str(root) in sys.path:
        sys.path.remove(str(root))


def test_a_sibling_package_and_a_data_file_reach_the_package(project: Path) -> None:
    ref = str(project / "app.py")
    out = project / "dist" / "azure"  # the CLI's default: inside the project
    AzureAdapter().package(load_app(ref), ref, out)
    for name in ("app.py", "azpk_helpers/__init__.py", "azpk_helpers/pricing.py", "rates.json"):
        assert (out / name).is_file(), name
    assert not (out / "venv").exists() and not (out / "tests").exists()
    names = zipfile.ZipFile(out / "app.zip").namelist()
    assert "azpk_helpers/pricing.py" in names and "rates.json" in names


def test_the_packaged_app_indexes_and_runs_under_azure_functions(project: Path) -> None:
    ref = str(project / "app.py")
    out = project / "dist" / "azure"
    AzureAdapter().package(load_app(ref), ref, out)
    event = (Path(__file__).parent / "events" / "http_get_route.json").read_text()
    done = subprocess.run([sys.executable, "-c", PROBE, str(out), event], cwd=out,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    names, status, body = json.loads(done.stdout.strip().splitlines()[-1])
    assert "get_order" in names
    assert (status, body) == (200, {"id": "o-1", "total": 42, "currency": "EUR"})
