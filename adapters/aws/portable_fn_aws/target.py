# SPDX-License-Identifier: Apache-2.0
"""``portable-fn package APP --provider aws``: ``app.zip`` and a SAM ``template.yaml``.

The zip holds the app's source, the core and only the runtime modules of this adapter (the
tooling stays out, as Chalice keeps its runtime apart from its deployer; their docstrings and
comments too, every line kept where it was: ``_strip``), a generated
``pf_entry.py`` with one Lambda handler per function, and the app's ``requirements.txt``
resolved for the Lambda platform (manylinux wheels for the runtime's Python); boto3 and
botocore are left out because the Lambda Python runtime ships them. Entries are sorted and
timestamped 1980-01-01 so the same input gives the same zip.
Deployment package format: https://docs.aws.amazon.com/lambda/latest/dg/python-package.html
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from portable_fn.adapter import Finding, copy_app_source, frozen_import
from portable_fn.triggers import Stream
from portable_fn_aws._optional import left_out
from portable_fn_aws._resources import Settings
from portable_fn_aws._sources import package_files, resolved_dependencies
from portable_fn_aws._strip import stripped
from portable_fn_aws._template import build
from portable_fn_aws._yaml import dump

if TYPE_CHECKING:
    from portable_fn.app import App

# What runs inside Lambda; everything else in portable_fn_aws is tooling.
RUNTIME_MODULES = (
    "__init__",
    "_attributes",
    "_base_path",
    "_batches",
    "_common",
    "_event_handler",
    "_handler",
    "_http_handler",
    "_http_out",
    "_kpl",
    "_nested",
    "_redelivery",
    "alb",
    "apigw_v1",
    "apigw_v2",
    "dynamodb",
    "eventbridge",
    "function_url",
    "kinesis",
    "publisher",
    "s3",
    "sns",
    "sqs",
    "vpc_lattice",
)
# Loaded only by stream functions' handlers, so shipped only with them.
STREAM_MODULES = ("_kpl", "dynamodb", "kinesis")
# Never run in Lambda: the local dev runtime, the CLI, the test harness, the ASGI app, and the
# packagers' copier of app sources, reader of requirements files, check of the app's imports,
# findings (what a package or inspect reports) and their shared helpers (_tooling).
CORE_EXCLUDED = (
    "_local", "cli.py", "__main__.py", "testing.py", "asgi.py", "_app_sources.py",
    "_requirements.py", "_import_check.py", "_publishes.py", "_finding.py", "_tooling.py",
)
_EPOCH = (1980, 1, 1, 0, 0, 0)


def package(
    app: App, app_ref: str, out_dir: Path, settings: Settings | None = None
) -> list[Finding]:
    settings = settings or Settings()
    # First: what the template cannot express refuses the package before anything is written.
    template, findings = build(app, settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # The app's code as every target takes it (its modules, packages and data files, never
        # a virtualenv, tests or build output beside it), at the zip's root.
        source = copy_app_source(
            app, app_ref, Path(tmp), provider="aws", out_dir=out_dir,
            reserved=(settings.handler_module, "portable_fn", "portable_fn_aws"),
        )
        for path in sorted(Path(tmp).rglob("*")):
            if path.is_file():
                entries[path.relative_to(tmp).as_posix()] = path.read_bytes()
        # The app's own requirements.txt, beside its module, resolved for the Lambda platform.
        requirements = Path(tmp).joinpath(*source.module.split(".")[:-1], "requirements.txt")
        if requirements.is_file():
            entries.update(
                resolved_dependencies(requirements, settings.runtime, settings.architecture)
            )
    # What no app shipped here imports: the idempotency stores, middleware, validation.
    excluded: tuple[str, ...] = CORE_EXCLUDED + left_out(app, app_ref)
    framework = package_files("portable_fn", exclude=excluded)
    runtime: tuple[str, ...] = RUNTIME_MODULES
    if not any(isinstance(fn.trigger, Stream) for fn in app.functions.values()):
        # Kinesis and DynamoDB Streams records reach stream functions only.
        runtime = tuple(m for m in runtime if m not in STREAM_MODULES)
    framework.update(package_files("portable_fn_aws", only=runtime))
    entries.update({name: stripped(text) for name, text in framework.items()})
    entries[f"{settings.handler_module}.py"] = entry_module(
        app, source.module, source.attribute
    ).encode("utf-8")
    compiled: list[Finding] = []
    if settings.bytecode:
        from portable_fn_aws._bytecode import compile_framework

        compiled = compile_framework(entries, settings.runtime)
    _write_zip(out_dir / settings.code_uri, entries)
    (out_dir / "template.yaml").write_text(dump(template), encoding="utf-8")
    return [*findings, *source.findings, *compiled]


def entry_module(app: App, module: str, attribute: str) -> str:
    lines = [
        f"# Generated by portable-fn for app {app.name!r}: the Lambda entry (do not edit).",
        "# Each function's Handler is pf_entry.<function name>.",
        "import gc as _pf_gc",
        "",
        *frozen_import(
            ["from portable_fn_aws import lambda_handler as _pf_lambda_handler"],
            gc="_pf_gc",
            flag="_pf_collecting",
        ),
        f"from {module} import {attribute} as _pf_app",
        "",
    ]
    lines += [f"{name} = _pf_lambda_handler(_pf_app, {name!r})" for name in app.functions]
    return "\n".join(lines) + "\n"


def _write_zip(path: Path, entries: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16  # readable by the Lambda runtime user
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name])
