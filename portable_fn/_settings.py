# SPDX-License-Identifier: Apache-2.0
"""An app's environment: plain settings (``App(env=...)``) and secrets (``App(secrets=...)``).

Both reach the handler as environment variables, on every provider, as each platform's own
configuration does (Lambda environment variables, Cloud Run's ``--set-env-vars`` and
``--set-secrets``, Azure app settings and Key Vault references, Workers vars and secrets).
``portable-fn package`` writes ``env``'s values into what it emits; a secret's value never
appears in code or in an artifact: each target names where its platform fills it from, at
deploy or instance start, so reading one costs an ``os.environ`` lookup and no SDK import.

Names are the portable subset: Lambda takes ``[a-zA-Z][a-zA-Z0-9_]+``
(https://docs.aws.amazon.com/lambda/latest/api/API_Environment.html), Windows app settings on
Azure are case-insensitive, Key Vault secret names take letters, digits and ``-`` only: so
upper case, digits and ``_``, at least two characters, and none a platform sets itself
(Lambda's reserved variables, https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime;
Cloud Run's ``PORT`` and ``K_*``; Azure's ``FUNCTIONS_*``, ``WEBSITE_*``, ``AzureWebJobs*``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from portable_fn.errors import ConfigurationError, SecretNotSet

__all__ = ["apply", "read_secret", "secret_names", "validate"]

# Strings: compiled (and cached by ``re``) when an app first declares a setting, not at import.
_NAME = r"[A-Z][A-Z0-9_]{1,63}"
_RESERVED_PREFIXES = (
    "AWS_", "LAMBDA_", "PF_", "PORTABLE_FN_", "FUNCTIONS_", "FUNCTION_", "WEBSITE_",
    "AZUREWEBJOBS", "APPSETTING_", "K_", "X_GOOGLE_", "CLOUD_RUN_", "PYTHON",
)
_RESERVED = frozenset({
    "PATH", "HOME", "LANG", "TZ", "PORT", "PWD", "USER", "SHELL", "HOSTNAME", "TMPDIR",
    "LD_LIBRARY_PATH", "ENTRY_POINT", "GOOGLE_FUNCTION_SOURCE", "GOOGLE_CLOUD_PROJECT",
})
# Names a secret usually has: one in env= would be written into template.yaml, deploy.sh,
# wrangler.toml and local.settings.json.
_SECRET_LIKE = r"(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|APIKEY|PRIVATE_KEY|CREDENTIALS?)$"
# Lambda's limit on all of a function's variables together, keys and values (API_Environment).
LAMBDA_ENV_BYTES = 4096
# What Azure leaves in an app setting whose Key Vault reference it could not resolve (no
# identity, no access, no such secret): the reference itself, as the value
# (https://learn.microsoft.com/azure/app-service/app-service-key-vault-references#troubleshoot-key-vault-references).
_UNRESOLVED = ("@Microsoft.KeyVault(",)


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or re.fullmatch(_NAME, name) is None:
        raise ConfigurationError(
            f"{what} name {name!r} must be 2-64 upper-case letters, digits and '_', starting "
            "with a letter (the names every provider's settings accept)"
        )
    if name in _RESERVED or name.startswith(_RESERVED_PREFIXES):
        raise ConfigurationError(
            f"{what} name {name!r} is one a platform sets itself (Lambda's AWS_*/LAMBDA_*, "
            "Cloud Run's PORT and K_*, Azure's FUNCTIONS_*/WEBSITE_*, PATH, TZ, ...) or "
            "portable-fn's own (PF_*, PORTABLE_FN_*): choose another"
        )
    return name


def validate(
    env: Mapping[str, str] | None, secrets: Iterable[str]
) -> tuple[Mapping[str, str], tuple[str, ...]]:
    """``App(env=, secrets=)`` checked: names, string values, no name twice."""
    if env is None:
        env = {}
    if not isinstance(env, Mapping):
        raise ConfigurationError(f"App env= takes a mapping of name to string, got {env!r}")
    plain: dict[str, str] = {}
    for name, value in env.items():
        _check_name(name, "env")
        if not isinstance(value, str):
            raise ConfigurationError(
                f"env {name} must be a string (environment variables are), got {value!r}"
            )
        if "\x00" in value:
            raise ConfigurationError(
                f"env {name} holds a NUL character, which no environment variable can hold"
            )
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ConfigurationError(
                f"env {name} holds a lone surrogate, which UTF-8 (every provider's "
                "configuration) cannot encode"
            ) from None
        if re.search(_SECRET_LIKE, name):
            import warnings

            # stacklevel 3: the App(...) call in the user's module, not this line.
            warnings.warn(
                f"env {name} looks like a secret: env= values are written into every "
                f"provider's configuration files; declare it in secrets=[{name!r}] and read "
                f"it with app.secret({name!r})",
                stacklevel=3,
            )
        plain[name] = value
    names: list[str] = []
    for name in secret_names(secrets, "App secrets="):
        _check_name(name, "secret")
        if name in names:
            raise ConfigurationError(f"secret {name} is declared twice")
        if name in plain:
            raise ConfigurationError(
                f"{name} is in both env= and secrets=: a secret's value is never in code"
            )
        names.append(name)
    return MappingProxyType(plain), tuple(names)


def secret_names(secrets: Iterable[str], where: str) -> list[str]:
    """The names ``secrets`` (an App's or a decorator's ``secrets=``) lists, in a stable order;
    refused when it is one string or holds values."""
    if isinstance(secrets, Mapping):
        raise ConfigurationError(
            f"{where} takes the secrets' names only: a secret's value is never in code "
            "(each provider's secret store holds it; see docs/core-api.md, Settings and secrets)"
        )
    if isinstance(secrets, str):
        raise ConfigurationError(
            f"{where} takes a list of names, got the string {secrets!r}: "
            f"write secrets=[{secrets!r}]"
        )
    if isinstance(secrets, (set, frozenset)):
        return sorted(secrets)  # a set's order changes from run to run; artifacts must not
    return list(secrets)


def apply(env: Mapping[str, str]) -> None:
    """The app's ``env`` in ``os.environ`` where the process has no value of its own: deployed,
    the platform has set every one already (its value wins, as an operator's override should);
    under ``portable-fn dev``, ``package``, ``inspect`` and a test run, the declared values
    stand in, so module-level reads (``PAGE_SIZE = int(os.environ["PAGE_SIZE"])``) work as
    deployed. An environment is one per process: a second App's value for a name the first
    set does not replace it (in tests, ``monkeypatch.setenv`` does)."""
    for name, value in env.items():
        os.environ.setdefault(name, value)


def read_secret(app: Any, name: str) -> str:
    """``app.secret(name)``: the secret's value from the environment the platform filled."""
    if name not in app.secrets:
        if name in app.env:
            raise ConfigurationError(
                f"{name} is a setting of app {app.name!r} (env=), not a secret: read it "
                f"with os.environ[{name!r}]"
            )
        declared = ", ".join(app.secrets) or "none"
        raise ConfigurationError(
            f"secret {name!r} is not declared on app {app.name!r} (declared: {declared}): "
            f"add it to App(secrets=[...]) so `portable-fn package` wires it on every provider"
        )
    _check_function(app, name)
    value = os.environ.get(name)
    if not value:
        raise SecretNotSet(name, _unset_hint(name, "is empty" if value == "" else None))
    if value.startswith(_UNRESOLVED):
        raise SecretNotSet(
            name,
            "Azure could not resolve its Key Vault reference: give the function app's "
            "managed identity 'Key Vault Secrets User' on the vault, and check the secret "
            "exists",
        )
    return value


def _check_function(app: Any, name: str) -> None:
    """Inside one of ``app``'s functions, ``name`` must be among the secrets it is given: on
    AWS and GCP the others are not wired to it, so reading one would work locally only."""
    from portable_fn._invocation import current

    invocation = current()
    if invocation is None or invocation.app is not app:
        return
    function = invocation.function
    if name not in function.secrets:
        raise ConfigurationError(
            f"function {function.name!r} is not given secret {name!r} (its secrets=: "
            f"{list(function.secrets)!r}): add it to the decorator's secrets=[...]"
        )


def _unset_hint(name: str, empty: str | None) -> str:
    from portable_fn._invocation import current

    said = f"the environment variable {empty}: " if empty else ""
    if current() is None:
        # Module level: packaging and inspecting import the app too, where no deployed secret
        # is (nor on Cloudflare, whose secrets arrive with the first request).
        return (
            f"{said}read secrets inside a handler, not when the module is imported: "
            "packaging, inspecting and Cloudflare's import have no secrets"
        )
    return (
        f"{said}deployed, the platform fills it from its secret store as `portable-fn "
        "package` wired it (see docs/core-api.md, Settings and secrets); locally, set the "
        f"environment variable {name}"
    )
