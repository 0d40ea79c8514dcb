# SPDX-License-Identifier: Apache-2.0
"""``portable-fn package APP --provider azure``: a Functions v2 app folder plus a zip.

Writes ``function_app.py`` (one call: ``function_app(portable_app)``), ``host.json`` (extension
bundle, retries, poison-queue settings, empty route prefix so portable paths stay as written,
the app-wide ``functionTimeout`` of ``limits``),
``requirements.txt`` (third-party packages only), ``local.settings.json`` (Azurite's development
storage, the app's ``env`` and secret references: ``app_settings``), ``.funcignore``, the app's
own code and data files (``portable_fn.adapter.copy_app_source``: a zip deploy uploads the
folder) and the vendored ``portable_fn`` and ``portable_fn_azure`` packages (the Functions host
puts the app root on ``sys.path``; the two packages are pure Python, so nothing needs building
for Linux), and ``app.zip`` for zip deploy with remote build (``az functionapp deployment source
config-zip --src app.zip --build-remote true``: without it, zip deploy builds nothing and
requirements.txt is never installed).
Reference: https://learn.microsoft.com/azure/azure-functions/functions-reference-python,
https://learn.microsoft.com/azure/azure-functions/functions-host-json.
"""

from __future__ import annotations

import compileall
import json
import py_compile
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

from portable_fn.adapter import (
    Finding,
    app_requirements,
    copy_app_source,
    fresh_out_dir,
    frozen_import,
    localized_constraints,
)
from portable_fn.app import App
from portable_fn.triggers import Event, Queue, Stream, Topic

from portable_fn_azure.app_settings import (
    adapter_settings,
    app_settings,
    published,
    uses,
)
from portable_fn_azure.findings import findings, queue_settings, stream_settings
from portable_fn_azure.limits import function_timeout, host_timeout
from portable_fn_azure.options import PACKAGING_ONLY, AzureOptions, timespan

__all__ = ["host_json", "local_settings", "package", "requirements"]

BUNDLE = {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}
FUNCIGNORE = [".git*", ".vscode", ".venv", "local.settings.json", "app.zip", "tests", "test"]
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".pytest_cache", ".mypy_cache")


def host_json(app: App, options: AzureOptions) -> dict[str, Any]:
    extensions: dict[str, Any] = {"http": {"routePrefix": ""}}
    settings = queue_settings(app, options)
    if settings is not None:
        attempts, visibility, batch = settings
        extensions["queues"] = {
            "maxDequeueCount": attempts,
            "visibilityTimeout": timespan(visibility),
            "batchSize": batch,
            "messageEncoding": "base64",
        }
    streams = stream_settings(app)
    if streams is not None:
        # https://learn.microsoft.com/azure/azure-functions/functions-bindings-event-hubs#host-json
        batch, offset = streams
        extensions["eventHubs"] = {"maxEventBatchSize": batch,
                                   "initialOffsetOptions": {"type": offset}}
    return {
        "version": "2.0",
        "extensionBundle": BUNDLE,
        # App-wide: the longest of the functions' timeouts (limits.function_timeout).
        "functionTimeout": host_timeout(function_timeout(app)),
        "extensions": extensions,
        "logging": {"logLevel": {"default": "Information"}},
    }


def requirements(
    app: App, options: AzureOptions, app_dir: Path | None = None, out_dir: Path | None = None
) -> list[str]:
    """What remote build installs: azure-functions, the SDKs the app's triggers publish with
    (and azure-identity for them, for identity-based connections), and the lines of a
    ``requirements.txt`` beside the app (portable-fn itself is vendored)."""
    reqs = ["azure-functions"]
    # Triggers, and what the handlers publish to (read once): an app that only sends to a
    # queue another app consumes imports the queue's SDK on its first send all the same.
    sent = published(app)
    messaging = uses(app, Queue, Topic, Event, Stream) or bool(
        sent.queues or sent.topics or sent.unknown)
    if messaging and options.queues == "storage":
        reqs.append("azure-storage-queue>=12.9")
    if messaging and "servicebus" in (options.queues, options.topics):
        reqs.append("azure-servicebus>=7.11")
    if uses(app, Event) or sent.bus or (messaging and options.topics == "eventgrid"):
        reqs.append("azure-eventgrid>=4.11")
    if len(reqs) > 1:
        # An identity-based connection (managed identity: the Flex Consumption plan's default)
        # sends with a credential from azure-identity; it loads only when one is used.
        reqs.append("azure-identity>=1.15")
    if app_dir is not None:
        own = dict.fromkeys(app_requirements(app_dir / "requirements.txt"))
        if out_dir is not None:  # the remote build reads -c files in the package
            own = dict.fromkeys(localized_constraints(list(own), out_dir))
        reqs += [line for line in own if line not in reqs]
    return reqs


def local_settings(app: App, options: AzureOptions) -> dict[str, Any]:
    """The adapter's settings (Azurite's development storage, empty connections to fill in),
    then the app's own ``env`` and secret references (``app_settings``: a name that would
    replace one of the adapter's is refused)."""
    return {"IsEncrypted": False,
            "Values": {**adapter_settings(app, options), **app_settings(app, options)}}


def _entry_source(module: str, attribute: str, app: App, options: AzureOptions) -> str:
    changed = {k: v for k, v in options.changed().items() if k not in PACKAGING_ONLY}
    args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
    imports = "from portable_fn_azure import AzureOptions, function_app" if changed else (
        "from portable_fn_azure import function_app")
    call = f"function_app(portable_app, AzureOptions({args}))" if changed else (
        "function_app(portable_app)")
    return "\n".join([
        f'"""Azure Functions entry for portable-fn app {app.name!r} (generated; do not edit)."""',
        "import gc",
        "",
        *frozen_import([imports]),
        f"from {module} import {attribute} as portable_app",
        "",
        f"app = {call}",
        "",
    ])


# Top-level names the package's own files take (function_app.py is the host's entry module).
RESERVED = frozenset(("function_app", "portable_fn", "portable_fn_azure"))


def _vendor(out_dir: Path) -> None:
    import portable_fn

    import portable_fn_azure

    for package in (portable_fn, portable_fn_azure):
        source = Path(package.__file__ or "").parent
        shutil.copytree(source, out_dir / source.name, ignore=_SKIP, dirs_exist_ok=True)


def _compile(out_dir: Path) -> None:
    """Ship bytecode: a zip deploy runs from a read-only mount (WEBSITE_RUN_FROM_PACKAGE), where
    Python cannot write ``__pycache__``, so without it every cold start compiles every module.
    Unchecked-hash pycs, because the package never changes once built and a zip keeps
    modification times only to two seconds."""
    compileall.compile_dir(out_dir, quiet=1, workers=1,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)


def _zip(out_dir: Path) -> None:
    skip = {"local.settings.json", "app.zip", ".funcignore"}
    with zipfile.ZipFile(out_dir / "app.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(out_dir.rglob("*")):
            relative = path.relative_to(out_dir)
            if path.is_file() and relative.as_posix() not in skip:
                archive.write(path, relative.as_posix())


def _earlier(out_dir: Path) -> bool:
    """Whether ``out_dir`` holds a package this target wrote."""
    return (out_dir / "function_app.py").is_file() and (out_dir / "host.json").is_file()


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


def package(app: App, app_ref: str, out_dir: Path,
            options: AzureOptions | None = None) -> list[Finding]:
    opts = options or AzureOptions()
    # First: a refused setting name (or vault name) leaves out_dir as it was.
    settings = local_settings(app, opts)
    fresh_out_dir(out_dir, _earlier, "Azure")  # a zip deploy carries the whole folder
    # Data files too: a zip deploy carries the whole folder (the app's own JSON, templates...).
    source = copy_app_source(app, app_ref, out_dir, provider="azure", reserved=RESERVED,
                             out_dir=out_dir)
    app_dir = source.folder
    _vendor(out_dir)
    (out_dir / "function_app.py").write_text(
        _entry_source(source.module, source.attribute, app, opts), encoding="utf-8")
    _write_json(out_dir / "host.json", host_json(app, opts))
    _write_json(out_dir / "local.settings.json", settings)
    (out_dir / "requirements.txt").write_text(
        "\n".join(requirements(app, opts, app_dir, out_dir)) + "\n", encoding="utf-8")
    (out_dir / ".funcignore").write_text("\n".join(FUNCIGNORE) + "\n", encoding="utf-8")
    _compile(out_dir)
    _zip(out_dir)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return [*findings(app, opts), *source.findings, Finding(
        None, "info", f"bytecode compiled for Python {version}: run the Function App on Python "
                      f"{version} (or package with the Python it runs) to skip compiling at "
                      "cold start"), DEPLOY]


# Zip deploy runs no build unless asked ("By default Kudu assumes that zip deployments do not
# require any build-related actions", az functionapp deployment source config-zip): without
# remote build requirements.txt is never installed, and the first pf.send, or the import of
# the app's own packages, fails on the Function App.
# https://learn.microsoft.com/azure/azure-functions/python-build-options#remote-build
DEPLOY = Finding(
    None, "info", "deploy app.zip with remote build, which installs requirements.txt: az "
                  "functionapp deployment source config-zip --src app.zip --build-remote true "
                  "(or func azure functionapp publish from the folder)")
