# SPDX-License-Identifier: Apache-2.0
"""What ``app.zip`` carries of the app: what it imports and reads, not what lies beside it.

Lambda unzips the package into ``/var/task``, which is on ``sys.path``
(https://docs.aws.amazon.com/lambda/latest/dg/python-package.html), and the zip is capped at
50 MB zipped, 250 MB unzipped
(https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). A file app's
sibling package and data file must be in the zip; a virtualenv named ``venv`` beside it (not
hidden, so the old rules zipped it whole), tests and build output must not. The zip's entry is
then imported in a fresh interpreter that sees only the unzipped package.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from portable_fn.testing import load_app
from portable_fn_aws.adapter import adapter

APP = '''\
import json
from pathlib import Path

import portable_fn as pf
from awspk_helpers import pricing

app = pf.App("siblings")
RATES = json.loads((Path(__file__).parent / "rates.json").read_text())


@app.http("/total", methods=["GET"])
def total(req: pf.Request) -> dict:
    return {"total": pricing.total(2), "currency": RATES["currency"]}
'''


def _project(root: Path) -> Path:
    (root / "awspk_helpers").mkdir(parents=True)
    (root / "awspk_helpers" / "__init__.py").write_text("")
    (root / "awspk_helpers" / "pricing.py").write_text("def total(n):\n    return 7 * n\n")
    (root / "rates.json").write_text('{"currency": "EUR"}')
    (root / "app.py").write_text(APP)
    venv = root / "venv" / "lib" / "python3.11" / "site-packages" / "big"
    venv.mkdir(parents=True)
    (root / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "__init__.py").write_text("x = 1\n" * 1000)
    (root / "tests").mkdir()
    (root / "tests" / "test_app.py").write_text("def test(): pass\n")
    (root / "test_pricing.py").write_text("def test(): pass\n")
    (root / "build").mkdir()
    (root / "build" / "junk.py").write_text("")
    return root / "app.py"


def test_the_zip_carries_what_the_app_imports_and_reads_and_nothing_else(tmp_path: Path) -> None:
    app_file = _project(tmp_path / "project")
    sys.path.insert(0, str(app_file.parent))
    try:
        app = load_app(str(app_file))
        adapter.package(app, str(app_file), tmp_path / "out")
    finally:
        sys.path.remove(str(app_file.parent))
        for name in [m for m in sys.modules if m.startswith("awspk_helpers")]:
            del sys.modules[name]
    with zipfile.ZipFile(tmp_path / "out" / "app.zip") as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "task")
    assert {"app.py", "rates.json", "awspk_helpers/__init__.py",
            "awspk_helpers/pricing.py", "pf_entry.py"} <= names
    leaked = [n for n in names if n.split("/")[0] in ("venv", "tests", "build")
              or n == "test_pricing.py"]
    assert leaked == []
    probe = (
        "import sys, types; sys.path.insert(0, sys.argv[1]); import pf_entry; "
        "ctx = types.SimpleNamespace(aws_request_id='r-1', function_name='total', "
        "get_remaining_time_in_millis=lambda: 3000); "
        "event = {'version': '2.0', 'routeKey': 'GET /total', 'rawPath': '/total', "
        "'headers': {}, 'requestContext': {'http': {'method': 'GET', 'path': '/total'}, "
        "'stage': '$default'}, 'isBase64Encoded': False}; "
        "print(pf_entry.total(event, ctx)['body'])"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", probe, str(tmp_path / "task")],
        capture_output=True, text=True, check=True, timeout=60,
    )
    assert out.stdout.strip() == '{"total":14,"currency":"EUR"}'
