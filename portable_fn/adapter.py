# SPDX-License-Identifier: Apache-2.0
"""What an adapter implements and what it calls: the seam between the core and a provider.

An adapter is a distribution (``portable-fn-aws`` ...) that registers an ``Adapter`` object under
the entry point group ``portable_fn.adapters``; the CLI loads it by provider name, the runtime
never scans. Inside, the adapter turns native payloads into ``Request``/``CloudEvent`` values,
calls the dispatch functions re-exported here, and turns the outcome back into the native shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from portable_fn._dispatch import (
    OK,
    Outcome,
    declined,
    dispatch_event,
    dispatch_event_async,
    run_event,
    run_sync,
)
from portable_fn._dispatch_http import dispatch_http, dispatch_http_async
from portable_fn._event_data import undeclared
from portable_fn._sendable import NO_CONTENT, unsendable
from portable_fn.context import Context
from portable_fn.events import CloudEvent

if TYPE_CHECKING:
    from pathlib import Path

    from portable_fn._app_sources import copy_app_source
    from portable_fn._batch import Batch, dispatch_batch
    from portable_fn._finding import Finding
    from portable_fn._requirements import (
        app_requirements,
        localized_constraints,
        requirement_options,
    )
    from portable_fn._tooling import (
        app_wide_secrets_findings,
        article,
        fresh_out_dir,
        frozen_import,
        idempotency_findings,
        installed_adapters,
        load_adapter,
        sample_refused,
        secrets_given,
    )
    from portable_fn.app import App
    from portable_fn.testing import Harness

__all__ = [
    "ENTRY_POINT_GROUP",
    "NO_CONTENT",
    "OK",
    "Adapter",
    "Batch",
    "Context",
    "Finding",
    "Outcome",
    "Publisher",
    "app_requirements",
    "app_wide_secrets_findings",
    "article",
    "copy_app_source",
    "declined",
    "dispatch_batch",
    "dispatch_event",
    "dispatch_event_async",
    "dispatch_http",
    "dispatch_http_async",
    "fresh_out_dir",
    "frozen_import",
    "idempotency_findings",
    "installed_adapters",
    "load_adapter",
    "localized_constraints",
    "requirement_options",
    "run_event",
    "run_sync",
    "sample_refused",
    "secrets_given",
    "shortened",
    "undeclared",
    "unsendable",
]

ENTRY_POINT_GROUP = "portable_fn.adapters"


@runtime_checkable
class Publisher(Protocol):
    """Where ``pf.publish``/``pf.send``/``pf.emit`` go; one per provider, plus the local broker."""

    def publish(self, topic: str, event: CloudEvent) -> None: ...

    def send(self, queue: str, event: CloudEvent, *, delay: float | None = None) -> None: ...

    def emit(self, event: CloudEvent) -> None: ...


class Adapter(Protocol):
    """A provider's adapter, as the CLI and the contract suite see it.

    Optionally, ``provides``: the distributions every package of the target has although the
    app's ``requirements.txt`` does not list them, as names (``("boto3",)``: what the platform's
    runtime has, or what the target pins itself). ``package`` warns about an app module that
    neither they, the adapter's own distribution, the app's requirements nor what those
    require provide (``portable_fn._import_check.unlisted_imports``); an adapter without it
    provides nothing more.
    """

    name: str

    def findings(self, app: App) -> list[Finding]:
        """What this provider cannot honour, or honours differently, for ``app``."""
        ...

    def package(self, app: App, app_ref: str, out_dir: Path) -> list[Finding]:
        """Write the deployable package for ``app`` (imported as ``app_ref``) into ``out_dir``."""
        ...

    def sample_events(self) -> Mapping[str, Any]:
        """Named sample native events (``portable-fn events PROVIDER KIND``)."""
        ...

    def invoke(self, app: App, function: str, native_event: Any) -> Any:
        """Run one function on a native event through the adapter; the native result."""
        ...

    def harness(self) -> Harness:
        """The contract-suite harness for this provider."""
        ...


def shortened(name: str, limit: int) -> str:
    """``name`` when it has at most ``limit`` characters; else its first characters (without
    a trailing ``-``), ``-`` and the first 8 hex digits of the SHA-256 of the whole of
    ``name``: a provider resource name this package makes up stays unique (two names that
    share their first characters get two hashes) and stable (a different name in another
    release would deploy a second resource beside the first)."""
    if len(name) <= limit:
        return name
    import hashlib  # only for a name too long: off every cold-start path

    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-')}-{digest}"


# Loaded when first asked for: an adapter imports this module on every cold start, and these
# serve batch sources (``Batch``) or packaging and the CLI only (``Finding``, the requirements
# helpers, ``_tooling``'s); a GCP HTTP function loads none of them, and AWS's app.zip ships
# none of the packaging modules.
_LAZY = {
    "Batch": "_batch",
    "dispatch_batch": "_batch",
    "Finding": "_finding",
    "app_requirements": "_requirements",
    "localized_constraints": "_requirements",
    "requirement_options": "_requirements",
    "copy_app_source": "_app_sources",
    **dict.fromkeys(
        (
            "app_wide_secrets_findings", "article", "fresh_out_dir", "frozen_import",
            "idempotency_findings", "installed_adapters", "load_adapter", "sample_refused",
            "secrets_given",
        ),
        "_tooling",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"portable_fn.{module}"), name)
    globals()[name] = value  # found directly from now on
    return value
