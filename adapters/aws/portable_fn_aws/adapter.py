# SPDX-License-Identifier: Apache-2.0
"""The ``aws`` entry point (group ``portable_fn.adapters``): what the CLI and contract suite use.

Everything heavy (template, zip, samples) is imported inside the methods, so loading the
entry point costs no more than this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portable_fn_aws._sources import PROVIDED_BY_RUNTIME

if TYPE_CHECKING:
    from portable_fn.adapter import Finding
    from portable_fn.app import App
    from portable_fn_aws.harness import AwsHarness


class AwsAdapter:
    name = "aws"
    # What the Lambda Python runtime has without the app listing it (``package``'s import check).
    provides = PROVIDED_BY_RUNTIME

    def __init__(
        self,
        *,
        runtime: str | None = None,
        architecture: str | None = None,
        bytecode: bool | None = None,
        existing: Mapping[str, str] | None = None,
    ) -> None:
        self.runtime = runtime
        self.architecture = architecture
        self.bytecode = bytecode
        self.existing = existing

    def _settings(self) -> Any:
        """Runtime, architecture, bytecode and existing resources: given here, else
        PORTABLE_FN_AWS_RUNTIME / PORTABLE_FN_AWS_ARCHITECTURE / PORTABLE_FN_AWS_BYTECODE /
        PORTABLE_FN_AWS_EXISTING (read when packaging, never at import), else python3.12 on
        x86_64, shipping sources, every queue, topic and bucket created by the stack."""
        import os

        from portable_fn.errors import ConfigurationError
        from portable_fn_aws._resources import Settings

        runtime = self.runtime or os.environ.get("PORTABLE_FN_AWS_RUNTIME") or "python3.12"
        architecture = (
            self.architecture or os.environ.get("PORTABLE_FN_AWS_ARCHITECTURE") or "x86_64"
        )
        minor = runtime.removeprefix("python3.")
        # portable_fn needs Python 3.10 or later (requires-python): on python3.9 the function
        # would deploy and then fail every import.
        if (
            not runtime.startswith("python3.")
            or not (minor.isascii() and minor.isdigit() and int(minor) >= 10)
            or architecture not in ("x86_64", "arm64")
        ):
            raise ConfigurationError(
                f"unsupported Lambda runtime {runtime!r} / architecture {architecture!r}: "
                "use python3.N (N >= 10) and x86_64 or arm64"
            )
        bytecode = self.bytecode
        if bytecode is None:
            bytecode = os.environ.get("PORTABLE_FN_AWS_BYTECODE", "").lower() in ("1", "true")
        existing = self.existing
        if existing is None:
            from portable_fn_aws._existing import ENV, parse

            existing = parse(os.environ.get(ENV, ""))
        return Settings(
            runtime=runtime, architecture=architecture, bytecode=bytecode, existing=dict(existing)
        )

    def findings(self, app: App) -> list[Finding]:
        from portable_fn_aws._template import build

        return build(app, self._settings(), strict=False)[1]

    def package(self, app: App, app_ref: str, out_dir: Path) -> list[Finding]:
        from portable_fn_aws.target import package

        return package(app, app_ref, Path(out_dir), self._settings())

    def sample_events(self) -> Mapping[str, Any]:
        from portable_fn_aws.samples import SAMPLES

        return {kind: make() for kind, make in SAMPLES.items()}

    def invoke(self, app: App, function: str, native_event: Any) -> Any:
        from portable_fn_aws import _invoke_fit
        from portable_fn_aws._handler import lambda_handler
        from portable_fn_aws.native import InvokeContext

        handler = lambda_handler(app, function)  # an unknown function is refused first
        _invoke_fit.check(
            app.function(function).trigger, function, native_event, self.sample_events()
        )
        return handler(native_event, InvokeContext.for_function(app, function))

    def harness(self) -> AwsHarness:
        from portable_fn_aws.harness import AwsHarness

        return AwsHarness()


adapter = AwsAdapter()
