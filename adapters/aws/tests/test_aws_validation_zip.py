# SPDX-License-Identifier: Apache-2.0
"""The validation modules ship only with an app that validates: the shop's ``app.zip`` leaves
them out, and an app whose handler takes a dataclass carries them and runs under awslambdaric
(the real Lambda runtime client) against the Runtime API emulator: a valid body reaches the
handler as the model, an invalid one is a 422."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portable_fn.testing import load_app
from portable_fn_aws.adapter import adapter

from aws_fixtures import Functions, load, packaged

VALIDATION = {"portable_fn/_validation.py", "portable_fn/_converters.py", "portable_fn/_models.py"}

APP = '''\
from dataclasses import dataclass

import portable_fn as pf

app = pf.App("validates")


@dataclass
class Order:
    sku: str
    quantity: int


@app.http("/orders", methods=["POST"])
def create(order: Order) -> dict:
    return {"sku": order.sku, "quantity": order.quantity}
'''


def test_the_shop_zip_leaves_the_validation_modules_out(shop_package: Path) -> None:
    names = set(zipfile.ZipFile(shop_package / "app.zip").namelist())
    assert "portable_fn/_pipeline.py" in names and not VALIDATION & names


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory) -> Path:
    task, names = packaged(tmp_path_factory.mktemp("validates"), "validates_app", APP)
    assert names >= VALIDATION
    return task


@pytest.fixture
def api(task: Path, aws_env: dict[str, str]) -> Iterator[Any]:
    functions = Functions(task, aws_env)
    yield functions("create")
    functions.stop()


def _post(body: dict[str, Any]) -> dict[str, Any]:
    event = load("function_url.json")
    text = json.dumps(body)
    event.update(rawPath="/orders", rawQueryString="", cookies=[], body=text,
                 isBase64Encoded=False)
    event["headers"] = {"content-type": "application/json", "content-length": str(len(text))}
    event["requestContext"]["http"].update(method="POST", path="/orders")
    return event


def test_a_validating_app_runs_its_models_in_lambda(api: Any) -> None:
    ok = api.invoke(_post({"sku": "book", "quantity": 2}))
    assert ok.ok, ok
    assert ok.body["statusCode"] == 200
    assert json.loads(ok.body["body"]) == {"sku": "book", "quantity": 2}
    bad = api.invoke(_post({"sku": "book", "quantity": "many"}))
    assert bad.ok, bad
    assert bad.body["statusCode"] == 422


def test_an_app_beside_the_packaged_one_brings_what_its_functions_import(
    tmp_path: Path,
) -> None:
    """Importing the entry imports the modules shipped beside the app, and an ``App`` one of
    them defines registers its functions too: a model-taking handler there loads
    ``_validation``, a middleware ``_middleware``, an idempotent function the stores. The zip
    carries them, and the entry imports with nothing but the zip on the path (``-S -I``)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "admin_app.py").write_text(
        "from dataclasses import dataclass\n\nimport portable_fn as pf\n\n"
        "admin = pf.App('admin')\n\n\n@dataclass\nclass Item:\n    sku: str\n\n\n"
        "@admin.http('/items', methods=['POST'])\ndef add(item: Item) -> dict:\n"
        "    return {'sku': item.sku}\n\n\n"
        "@admin.queue('audits', idempotent=True)\n"
        "def audit(event: pf.CloudEvent) -> None: ...\n\n\n"
        "@admin.middleware\ndef passing(value, ctx, call_next):\n    return call_next(value, ctx)\n"
    )
    (src / "front_app.py").write_text(
        "import admin_app  # noqa: F401\nimport portable_fn as pf\n\napp = pf.App('front')\n\n\n"
        "@app.http('/x')\ndef x(req: pf.Request) -> dict:\n    return {'x': 1}\n"
    )
    sys.path.insert(0, str(src))
    try:
        adapter.package(load_app(str(src / "front_app.py")), str(src / "front_app.py"),
                        tmp_path / "out")
    finally:
        sys.path.remove(str(src))
        for name in ("front_app", "admin_app"):
            sys.modules.pop(name, None)
    with zipfile.ZipFile(tmp_path / "out" / "app.zip") as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "task")
    needed = VALIDATION | {"portable_fn/_middleware.py", "portable_fn/idempotency/__init__.py"}
    assert needed <= names
    script = f"import sys; sys.path.insert(0, {str(tmp_path / 'task')!r}); import pf_entry"
    done = subprocess.run([sys.executable, "-S", "-I", "-c", script], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
