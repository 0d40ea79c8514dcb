# SPDX-License-Identifier: Apache-2.0
"""``package``: the folder and zip a zip deploy takes, indexed by ``azure.functions`` in a fresh
interpreter that sees only the package (and the installed azure-functions library)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from portable_fn import App
from portable_fn.testing import RecordingPublisher

from portable_fn_azure import AzureOptions
from portable_fn_azure.adapter import AzureAdapter

REPO = Path(__file__).resolve().parents[3]

# The worker puts the app folder first on sys.path, then imports function_app.
INDEX = """
import json, sys
sys.path.insert(0, sys.argv[1])
import function_app, portable_fn_azure
assert portable_fn_azure.__file__.startswith(sys.argv[1]), portable_fn_azure.__file__
print(json.dumps({f.get_function_name(): json.loads(f.get_function_json())
                  for f in function_app.app.get_functions()}))
"""


@pytest.fixture
def packaged(shop: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Any]:
    app, _ = shop
    monkeypatch.chdir(REPO)
    out = tmp_path / "azure"
    findings = AzureAdapter().package(app, "examples.shop.app:app", out)
    return out, findings


def test_files(packaged: tuple[Path, Any]) -> None:
    out, _ = packaged
    for name in ("function_app.py", "host.json", "requirements.txt", "local.settings.json",
                 ".funcignore", "app.zip", "examples/shop/app.py",
                 "portable_fn/__init__.py", "portable_fn_azure/_functionapp.py"):
        assert (out / name).is_file(), name
    entry = (out / "function_app.py").read_text()
    assert "from examples.shop.app import app as portable_app" in entry
    assert "app = function_app(portable_app)" in entry


def test_host_json(packaged: tuple[Path, Any]) -> None:
    out, _ = packaged
    host = json.loads((out / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    assert host["extensions"]["http"]["routePrefix"] == ""
    # nightly_report declares 120 s; the others keep 600 s, and the value is app-wide.
    assert host["functionTimeout"] == "00:10:00"
    # fulfil: max_retries=3 -> 4 attempts; first retry after the 1 s initial backoff.
    assert host["extensions"]["queues"] == {"maxDequeueCount": 4,
                                            "visibilityTimeout": "00:00:01",
                                            "batchSize": 10, "messageEncoding": "base64"}


def test_settings_requirements_and_zip(packaged: tuple[Path, Any]) -> None:
    out, _ = packaged
    settings = json.loads((out / "local.settings.json").read_text())["Values"]
    assert settings["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert settings["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert "ServiceBusConnection" in settings and "EVENTGRID_BUS_ENDPOINT" in settings
    reqs = (out / "requirements.txt").read_text().split()
    assert reqs[0] == "azure-functions"
    assert any(r.startswith("azure-storage-queue") for r in reqs)
    assert any(r.startswith("azure-servicebus") for r in reqs)
    assert any(r.startswith("azure-identity") for r in reqs)  # identity-based connections
    names = zipfile.ZipFile(out / "app.zip").namelist()
    assert "function_app.py" in names and "host.json" in names
    assert "local.settings.json" not in names  # secrets stay local
    tag = f"cpython-{sys.version_info.major}{sys.version_info.minor}"
    assert f"portable_fn_azure/__pycache__/_functionapp.{tag}.pyc" in names  # no compile at start


def test_findings_report_the_poison_queue(packaged: tuple[Path, Any]) -> None:
    _, findings = packaged
    unsupported = [f for f in findings if f.level == "unsupported"]
    assert [(f.function, "fulfilment-poison" in f.message) for f in unsupported] == [
        ("fulfil", True)]
    assert any(f.function is None and "bytecode compiled" in f.message for f in findings)


def test_findings_name_a_deploy_that_installs_the_requirements(
        packaged: tuple[Path, Any]) -> None:
    """``az functionapp deployment source config-zip --src app.zip``, as the package described
    its zip, installs nothing: "By default Kudu assumes that zip deployments do not require any
    build-related actions" (https://learn.microsoft.com/cli/azure/functionapp/deployment/source
    #az-functionapp-deployment-source-config-zip), so requirements.txt (the Storage Queue,
    Service Bus and Event Grid SDKs pf.send loads, the app's own packages) never reached the
    Function App. Remote build is what installs it
    (https://learn.microsoft.com/azure/azure-functions/python-build-options#remote-build)."""
    _, findings = packaged
    [deploy] = [f for f in findings if f.function is None and "app.zip" in f.message]
    assert deploy.level == "info"
    assert "config-zip --src app.zip --build-remote true" in deploy.message
    assert "requirements.txt" in deploy.message


def test_the_package_indexes_in_a_fresh_interpreter(packaged: tuple[Path, Any]) -> None:
    out, _ = packaged
    done = subprocess.run([sys.executable, "-c", INDEX, str(out)], cwd=out,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    snapshot = json.loads((Path(__file__).parent / "snapshots" / "shop_bindings.json")
                          .read_text())
    assert {k: v["bindings"] for k, v in found.items()} == {
        k: v["bindings"] for k, v in snapshot.items()}


def test_options_are_written_into_the_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            ) -> None:
    app_file = tmp_path / "src" / "tasks.py"
    app_file.parent.mkdir()
    app_file.write_text("import portable_fn as pf\nworker = pf.App('tasks')\n"
                        "@worker.queue('jobs')\ndef job(event):\n    pass\n")
    (app_file.parent / "requirements.txt").write_text(
        "# the app's own\nhttpx>=0.27\nportable-fn\n\nazure-functions\n")
    monkeypatch.syspath_prepend(str(app_file.parent))
    import importlib

    module = importlib.import_module("tasks")
    app: App = module.worker
    app.use_publisher(RecordingPublisher())
    out = tmp_path / "out"
    AzureAdapter(AzureOptions(queues="servicebus")).package(app, str(app_file), out)
    entry = (out / "function_app.py").read_text()
    assert "from tasks import worker as portable_app" in entry
    assert "AzureOptions(queues='servicebus')" in entry
    assert (out / "tasks.py").is_file()
    assert "queues" not in json.loads((out / "host.json").read_text())["extensions"]
    assert (out / "requirements.txt").read_text().split() == [
        "azure-functions", "azure-servicebus>=7.11", "azure-identity>=1.15", "httpx>=0.27"]


def test_nested_requirement_files_reach_the_remote_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Azure's remote build runs pip on the package root's requirements.txt, where ``-r
    reqs/base.txt`` of an app in a package folder named nothing (pip reads it beside the file
    naming it, https://pip.pypa.io/en/stable/reference/requirements-file-format/): the nested
    lines take its place, and a ``-c`` file, named by its local path, is copied to the root."""
    package_dir = tmp_path / "src" / "az_nested_pkg"
    (package_dir / "reqs").mkdir(parents=True)
    (package_dir / "__init__.py").write_text("")
    (package_dir / "app.py").write_text("import portable_fn as pf\napp = pf.App('nested')\n"
                                        "@app.http('/x')\ndef x(req):\n    return 'x'\n")
    (package_dir / "requirements.txt").write_text("-r reqs/base.txt\n-c reqs/pins.txt\n")
    (package_dir / "reqs" / "base.txt").write_text("six==1.16.0\n")
    (package_dir / "reqs" / "pins.txt").write_text("six<2\n")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    import importlib

    app: App = importlib.import_module("az_nested_pkg.app").app
    out = tmp_path / "out"
    AzureAdapter(AzureOptions()).package(app, "az_nested_pkg.app:app", out)
    assert (out / "requirements.txt").read_text().split("\n")[1:] == [
        "six==1.16.0", "-c constraints-0.txt", ""]
    assert (out / "constraints-0.txt").read_text() == "six<2\n"


@pytest.mark.parametrize(("seconds", "text"), [
    (1.0, "00:00:01"), (0.5, "00:00:00.500"), (300, "00:05:00"), (3725.25, "01:02:05.250"),
    # TimeSpan reads "24:00:00" as 24 days: from a day on, the days come first.
    (86_400, "1.00:00:00"), (90_000.5, "1.01:00:00.500"), (691_200, "8.00:00:00")])
def test_timespan(seconds: float, text: str) -> None:
    from portable_fn_azure.options import timespan

    assert timespan(seconds) == text


def test_repackaging_replaces_the_previous_package(shop: Any, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from portable_fn.errors import ConfigurationError

    app, _ = shop
    monkeypatch.chdir(REPO)
    out = tmp_path / "azure"
    AzureAdapter().package(app, "examples.shop.app:app", out)
    (out / "stale_module.py").write_text("x = 1\n")
    AzureAdapter().package(app, "examples.shop.app:app", out)
    assert not (out / "stale_module.py").exists()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigurationError):
        AzureAdapter().package(app, "examples.shop.app:app", other)
    assert (other / "notes.txt").read_text() == "keep me"


def test_a_declared_timeout_reaches_host_json_and_the_package_still_indexes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """host.json ``functionTimeout`` is app-wide: the longest declared one
    (https://learn.microsoft.com/azure/azure-functions/functions-scale#timeout); ``package``
    returns what Azure cannot honour of the declarations, and the worker still indexes it."""
    app_file = tmp_path / "src" / "long_jobs.py"
    app_file.parent.mkdir()
    app_file.write_text("import portable_fn as pf\napp = pf.App('long', timeout=200)\n"
                        "@app.http('/x', auth='anonymous')\ndef x(req):\n    return 'x'\n"
                        "@app.queue('jobs', timeout=1800, memory=2048)\ndef job(event):\n"
                        "    pass\n")
    monkeypatch.syspath_prepend(str(app_file.parent))
    import importlib

    app: App = importlib.import_module("long_jobs").app
    app.use_publisher(RecordingPublisher())
    out = tmp_path / "out"
    found = AzureAdapter().package(app, str(app_file), out)
    assert json.loads((out / "host.json").read_text())["functionTimeout"] == "00:30:00"
    levels = {(f.function, f.level, f.message.split(":")[0]) for f in found
              if "timeout" in f.message or "memory" in f.message}
    assert levels == {
        (None, "info", "timeout is app-wide on Azure"),
        ("job", "warning", "timeout 1800 s is past the Consumption plan's 10-minute maximum"),
        ("job", "warning", "memory 2048 MB"),
    }
    done = subprocess.run([sys.executable, "-c", INDEX, str(out)], cwd=out,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout.strip().splitlines()[-1])) == {
        "x", "job", "portable_fn_fallback"}


@pytest.mark.parametrize(("options", "sdks"), [
    (AzureOptions(), {"azure-storage-queue", "azure-servicebus", "azure-eventgrid"}),
    (AzureOptions(queues="servicebus", topics="eventgrid"),
     {"azure-servicebus", "azure-eventgrid"}),
])
def test_an_app_that_only_publishes_gets_the_sdks_and_settings_it_publishes_with(
        options: AzureOptions, sdks: set[str]) -> None:
    """A remote build installs requirements.txt only
    (https://learn.microsoft.com/azure/azure-functions/python-build-options#remote-build). They
    were chosen from the app's triggers, so an app that sends, publishes and emits to what
    other apps consume got ``azure-functions`` alone, and each publish raised ImportError in
    Azure; nor did local.settings.json name the Event Grid topics it publishes to. Now what the
    handlers' calls name counts too."""
    from portable_fn_azure.target import local_settings, requirements

    app = App("sender")

    @app.http("/go", methods=["POST"])
    def go(req: Any) -> dict[str, bool]:
        import portable_fn as pf

        pf.send("billing", {"amount": 5})
        pf.publish("audit", {"what": "go"})
        pf.emit("com.example.went", {})
        return {"ok": True}

    reqs = {line.split(">=")[0] for line in requirements(app, options)}
    assert sdks | {"azure-functions", "azure-identity"} == reqs
    values = local_settings(app, options)["Values"]
    assert "EVENTGRID_BUS_ENDPOINT" in values
    assert ("EVENTGRID_AUDIT_ENDPOINT" in values) == (options.topics == "eventgrid")
