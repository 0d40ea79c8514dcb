# SPDX-License-Identifier: Apache-2.0
"""What the packaging targets and the CLI share, never a deployed function: findings helpers,
the output folder, the generated entries' frozen framework import, ``invoke --provider``'s
messages, and finding the installed adapters (copying the app's sources is
``_app_sources``). Re-exported by ``portable_fn.adapter`` (loaded when first asked for), so a
function's cold start never loads it and AWS's app.zip does not ship it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from portable_fn.adapter import ENTRY_POINT_GROUP

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from portable_fn._finding import Finding
    from portable_fn.adapter import Adapter
    from portable_fn.app import App
    from portable_fn.errors import ConfigurationError

__all__ = [
    "app_wide_secrets_findings",
    "article",
    "fresh_out_dir",
    "frozen_import",
    "idempotency_findings",
    "installed_adapters",
    "load_adapter",
    "sample_refused",
    "secrets_given",
]


def idempotency_findings(app: App, *, level: str, note: str) -> list[Finding]:
    """One finding per idempotent function, saying where its records can live on a provider
    whose package does not provision a store (``note`` names the options there)."""
    if level not in ("info", "warning", "unsupported"):
        raise ValueError(f"finding level {level!r}")
    from portable_fn._finding import Finding

    return [
        Finding(fn.name, level, f"idempotent: {note}")  # type: ignore[arg-type]
        for fn in app.functions.values()
        if fn.options.get("idempotent")
    ]


def secrets_given(app: App) -> tuple[str, ...]:
    """The app's secrets some function is given (``secrets=``), in the app's order: those a
    target that wires secrets per function references, so those that must exist to deploy."""
    named = {name for fn in app.functions.values() for name in fn.secrets}
    return tuple(name for name in app.secrets if name in named)


def app_wide_secrets_findings(
    app: App, *, provider: str, why: str, separate: str
) -> list[Finding]:
    """One note when a function is given fewer secrets than the app's (its ``secrets=``) on a
    provider whose settings are app-wide (``why``): there only ``app.secret`` keeps them from
    it; ``separate`` names the unit that would draw a boundary the platform enforces."""
    narrowed = [fn.name for fn in app.functions.values() if fn.secrets != app.secrets]
    if not narrowed:
        return []
    from portable_fn._finding import Finding

    return [Finding(None, "info", (
        f"functions {', '.join(narrowed)} are given fewer secrets than the app's (secrets=): on "
        f"{provider} that is enforced by app.secret only, which refuses a secret its function is "
        f"not given; {why}, so the platform gives every function every secret. For a boundary "
        f"{provider} enforces, put those functions in an app of their own ({separate})"))]


def fresh_out_dir(out_dir: Path, earlier: Callable[[Path], bool], provider: str) -> None:
    """Make ``out_dir`` an empty folder for a target that uploads the whole of it: a previous
    package there (``earlier(out_dir)``) is replaced, as its stale modules and data files
    would otherwise ship with the new one; a folder holding anything else (the app's own
    source, another provider's package) is refused rather than mixed into the upload."""
    import shutil

    from portable_fn.errors import ConfigurationError

    if out_dir.exists() and any(out_dir.iterdir()):
        if not earlier(out_dir):
            raise ConfigurationError(
                f"{out_dir} is not empty and holds no earlier {provider} package; "
                "choose another --out"
            )
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)


def frozen_import(
    imports: Sequence[str], *, gc: str = "gc", flag: str = "_collecting"
) -> list[str]:
    """A generated entry's import of the framework (``imports``, its import statements): with
    the collector paused, then frozen with all the runtime had loaded before it, so no
    collection during the import or later rescans those long-lived objects (cold start: 1.5-2 ms
    of a ~11 ms import after functions-framework or azure.functions went to such rescans;
    https://docs.python.org/3/library/gc.html#gc.freeze). The collector ends as it was found,
    and the app's own import, which follows, runs with it, so a cycle it drops is collected.
    ``gc`` is the name the entry imported the module as, ``flag`` a module-level name free in
    the entry. Lines, each without its newline."""
    return [
        "# Cold start: the framework imports with the collector paused, then it and all that the",
        "# runtime loaded are frozen (docs.python.org/3/library/gc.html#gc.freeze): none of it",
        "# is garbage, and no collection scans it again.",
        f"{flag} = {gc}.isenabled()",
        f"{gc}.disable()",
        "try:",
        *(f"    {statement}" for statement in imports),
        "finally:",
        f"    {gc}.freeze()",
        f"    if {flag}:",
        f"        {gc}.enable()",
        "",
        "# The app imports as it would anywhere, with the collector as it was.",
    ]


def sample_refused(what: str, fitting: Collection[str]) -> ConfigurationError:
    """``invoke --provider``'s usage error for a native event that cannot reach the function:
    ``what`` the mismatch is, then the provider's samples that would (``ConfigurationError``,
    which the CLI prints as one line, exit 2)."""
    from portable_fn.errors import ConfigurationError

    return ConfigurationError(f"{what} (samples for it: {', '.join(fitting) or 'none'})")


# Initialisms spelled out, whose first letter's name begins with a vowel sound ("an S3").
_SPELLED = ("http", "s3", "sqs", "sns", "r2", "mqtt")


def article(word: str) -> str:
    """The indefinite article before ``word`` in such a message (``an sqs``, ``an http``,
    ``a queueTrigger``)."""
    lowered = word.lower()
    return "an" if lowered[:1] in ("a", "e", "i", "o", "u") or lowered.startswith(_SPELLED) else "a"


def installed_adapters() -> dict[str, Any]:
    """Provider name -> entry point, for every installed adapter (loaded on demand)."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


# The adapters in this repository: a missing one is installed from its folder.
_OWN_ADAPTERS = ("aws", "azure", "cloudflare", "gcp")


def load_adapter(provider: str) -> Adapter:
    """The installed adapter for ``provider``; when it is missing, an ``ImportError`` naming
    the adapters that are installed, with how to install one of this repository's, or the
    right spelling of a misspelt name (``awss``, ``local``: no folder to install them from)."""
    installed = installed_adapters()
    found = installed.get(provider)
    if found is None:
        names = ", ".join(sorted(installed)) or "none"
        if provider in _OWN_ADAPTERS:
            raise ImportError(
                f"no portable-fn adapter for {provider!r} is installed; "
                # The adapters are not on PyPI yet: from a checkout, the extra finds nothing.
                f"install it from this repository with: pip install -e adapters/{provider} "
                f'(or pip install "portable-fn[{provider}]" once published; installed: {names})'
            )
        from difflib import get_close_matches

        close = get_close_matches(provider.lower(), sorted({*_OWN_ADAPTERS, *installed}), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ImportError(
            f"no portable-fn adapter for {provider!r}: the providers are "
            f"{', '.join(_OWN_ADAPTERS)} (installed: {names}){hint}"
        )
    adapter: Adapter = found.load()
    return adapter
