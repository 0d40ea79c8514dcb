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

__all__ = ["apply_local", "read_secret", "validate"]

_NAME = re.compile(r"[A-Z][A-Z0-9_]{1,63}")
_RESERVED_PREFIXES = (
    "AWS_", "LAMBDA_", "PF_", "PORTABLE_FN_", "FUNCTIONS_", "FUNCTION_", "WEBSITE_",
    "AZUREWEBJOBS", "APPSETTING_", "K_", "X_GOOGLE_", "CLOUD_RUN_", "PYTHON",
)
_RESERVED = frozenset({
    "PATH", "HOME", "LANG", "TZ", "PORT", "PWD", "USER", "SHELL", "HOSTNAME", "TMPDIR",
    "LD_LIBRARY_PATH", "ENTRY_POINT", "GOOGLE_FUNCTION_SOURCE",
})
# Lambda's limit on all of a function's variables together, keys and values (API_Environment).
LAMBDA_ENV_BYTES = 4096
# What Azure leaves in an app setting whose Key Vault reference it could not resolve (no
# identity, no access, no such secret): the reference itself, as the value
# (https://learn.microsoft.com/azure/app-service/app-service-key-vault-references#troubleshoot-key-vault-references).
_UNRESOLVED = ("@Microsoft.KeyVault(",)

# Set by the local runtime (``portable-fn dev`` and ``invoke``) while it imports the app: an
# App created then puts its ``env`` in ``os.environ`` (what the shell set wins), as a deploy
# would have, so module-level reads work locally too.
local = False


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
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
        plain[name] = value
    if isinstance(secrets, str):
        raise ConfigurationError(
            f"App secrets= takes a list of names, got the string {secrets!r}: "
            f"write secrets=[{secrets!r}]"
        )
    names: list[str] = []
    for name in secrets:
        _check_name(name, "secret")
        if name in names:
            raise ConfigurationError(f"secret {name} is declared twice")
        if name in plain:
            raise ConfigurationError(
                f"{name} is in both env= and secrets=: a secret's value is never in code"
            )
        names.append(name)
    return MappingProxyType(plain), tuple(names)


def apply_local(env: Mapping[str, str]) -> None:
    """Under the local runtime, the app's ``env`` in ``os.environ`` (the shell's values win)."""
    if local:
        for name, value in env.items():
            os.environ.setdefault(name, value)


def read_secret(app: Any, name: str) -> str:
    """``app.secret(name)``: the secret's value from the environment the platform filled."""
    if name not in app.secrets:
        declared = ", ".join(app.secrets) or "none"
        raise ConfigurationError(
            f"secret {name!r} is not declared on app {app.name!r} (declared: {declared}): "
            f"add it to App(secrets=[...]) so `portable-fn package` wires it on every provider"
        )
    value = os.environ.get(name)
    if value is None:
        raise SecretNotSet(
            name,
            "deployed, the platform fills it from its secret store as `portable-fn package` "
            "wired it (see docs/core-api.md, Settings and secrets); locally, set the "
            f"environment variable {name}",
        )
    if value.startswith(_UNRESOLVED):
        raise SecretNotSet(
            name,
            "Azure could not resolve its Key Vault reference: give the function app's "
            "managed identity 'Key Vault Secrets User' on the vault, and check the secret "
            "exists",
        )
    return value
