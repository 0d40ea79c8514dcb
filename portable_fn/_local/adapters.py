# SPDX-License-Identifier: Apache-2.0
"""The CLI's lookup of an adapter by provider name, with an error that helps with a typo."""

from __future__ import annotations

from typing import Any


def adapter_named(provider: str) -> Any:
    """The installed adapter, or an ``ImportError`` that also lists the installed ones (a
    misspelt name gets the right spelling, not only an install hint for an extra that may not
    exist)."""
    from portable_fn import adapter

    try:
        return adapter.load_adapter(provider)
    except ImportError as exc:
        installed = adapter.installed_adapters()
        if provider in installed:
            raise  # installed but broken: its own message says why
        names = ", ".join(sorted(installed)) or "none"
        raise ImportError(f"{exc} (installed: {names})") from None
