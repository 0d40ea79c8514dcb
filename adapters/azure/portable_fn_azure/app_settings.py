# SPDX-License-Identifier: Apache-2.0
"""The function app's settings: the adapter's own, ``App(env=...)`` and ``App(secrets=...)``.

All go into ``local.settings.json`` ``Values``: ``func start`` reads them, and
``func azure functionapp publish <function app> --publish-local-settings`` uploads them as app
settings, asking before it overwrites one that Azure holds with another value
(https://learn.microsoft.com/azure/azure-functions/functions-core-tools-reference#func-azure-functionapp-publish).
A zip deploy of ``app.zip`` leaves that file out, so ``findings`` names the settings to upload.

A secret's value is never written. With a Key Vault (``AzureOptions(key_vault=...)`` or
``PORTABLE_FN_AZURE_KEY_VAULT``) its setting is a Key Vault reference,
``@Microsoft.KeyVault(VaultName=<vault>;SecretName=<secret>)``, which App Service resolves
with the function app's managed identity and hands the function as the secret's value
(https://learn.microsoft.com/azure/app-service/app-service-key-vault-references). Secret names
take only letters, digits and '-', 1-127 of them; vault names 3-24 letters, digits and single
'-' (https://learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates#object-identifiers,
https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftkeyvault).
Without a vault the secret is left to be set as an app setting by hand.

App settings are the function app's, read by every function in it as environment variables
(https://learn.microsoft.com/azure/azure-functions/functions-app-settings): a decorator's
``secrets=`` cannot narrow what Azure gives a function, so ``app.secret`` alone enforces it
there, which a finding says (``app_wide_secrets_findings``).

Loaded only by ``package`` and ``inspect``, never at a cold start.
"""

from __future__ import annotations

import os
import re
import shlex
from typing import TYPE_CHECKING

from portable_fn.adapter import Finding, app_wide_secrets_findings
from portable_fn.app import App
from portable_fn.errors import ConfigurationError
from portable_fn.triggers import Event, Stream, Topic

from portable_fn_azure.options import AzureOptions, setting_name

if TYPE_CHECKING:
    from portable_fn._publishes import Targets

__all__ = [
    "KEY_VAULT_ENV", "adapter_settings", "app_settings", "collisions", "key_vault",
    "secret_name", "settings_findings", "uses",
]

KEY_VAULT_ENV = "PORTABLE_FN_AZURE_KEY_VAULT"
# 3-24 characters, a letter first, a letter or digit last, no "--".
_VAULT = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){1,22}[A-Za-z0-9]")
DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"


def key_vault(options: AzureOptions) -> str | None:
    """The vault the secrets are read from: the option, else ``PORTABLE_FN_AZURE_KEY_VAULT``
    (read when packaging, as the AWS adapter reads its PORTABLE_FN_AWS_* settings), else None."""
    vault = options.key_vault if options.key_vault is not None else (
        os.environ.get(KEY_VAULT_ENV) or None)
    if vault is not None and not _VAULT.fullmatch(vault):
        raise ConfigurationError(
            f"Key Vault name {vault!r} (AzureOptions(key_vault=) or {KEY_VAULT_ENV}) must be 3-24 "
            "letters, digits and single '-', starting with a letter and ending with a letter or "
            "digit")
    return vault


def secret_name(app: App, name: str) -> str:
    """The Key Vault secret that holds ``name``: ``shop-STRIPE-KEY`` for ``STRIPE_KEY`` of app
    ``shop``. The app prefix lets apps share a vault; '_' becomes '-', the only other character
    secret names take. At most 40 + 1 + 64 characters, within the 127 allowed."""
    return f"{app.name}-{name.replace('_', '-')}"


def _reference(vault: str, app: App, name: str) -> str:
    return f"@Microsoft.KeyVault(VaultName={vault};SecretName={secret_name(app, name)})"


def uses(app: App, *kinds: type[object]) -> bool:
    """Whether any of ``app``'s functions has a trigger of one of ``kinds``."""
    return any(isinstance(f.trigger, kinds) for f in app.functions.values())


def published(app: App) -> Targets:
    """What the handlers publish, send and emit to, read from their calls (packaging only):
    an app that publishes needs the SDK and settings of where it publishes, whether or not it
    has a trigger of that kind (the consumer may be another app)."""
    from portable_fn._publishes import Targets, scan

    merged = Targets()
    for fn in app.functions.values():
        targets = scan(fn.handler)
        merged.topics |= targets.topics
        merged.queues |= targets.queues
        merged.bus = merged.bus or targets.bus
        merged.unknown |= targets.unknown
    return merged


def adapter_settings(app: App, options: AzureOptions) -> dict[str, str]:
    """The settings the adapter itself writes: worker runtime, connections, Event Grid topics."""
    values = {"FUNCTIONS_WORKER_RUNTIME": "python",
              options.storage_connection: DEVELOPMENT_STORAGE}
    if "servicebus" in (options.queues, options.topics):
        values[options.servicebus_connection] = ""
    if uses(app, Stream):
        values[options.eventhub_connection] = ""
    sent = published(app)
    topics = {f.trigger.name for f in app.functions.values() if isinstance(f.trigger, Topic)}
    topics |= sent.topics
    endpoints = sorted(topics) if options.topics == "eventgrid" else []
    for name in [*endpoints, "bus"] if uses(app, Event) or sent.bus else endpoints:
        values[setting_name(name, "ENDPOINT")] = ""
        values[setting_name(name, "KEY")] = ""
    return values


def collisions(app: App, options: AzureOptions) -> list[str]:
    """``env``/``secrets`` names that are settings the adapter writes. Compared ignoring case:
    the Functions host reads settings through .NET configuration, whose keys ignore case, and
    Core Tools matches local settings to Azure's ignoring case (PublishFunctionAppAction
    MergeAppSettings), so ``SERVICEBUSCONNECTION`` would replace ``ServiceBusConnection``."""
    own = {name.lower(): name for name in adapter_settings(app, options)}
    return [f"{name} (App env=/secrets=) is the app setting {own[name.lower()]} the Azure "
            "adapter writes for its connections: rename it, or the AzureOptions connection "
            "setting"
            for name in [*app.env, *app.secrets] if name.lower() in own]


def app_settings(app: App, options: AzureOptions) -> dict[str, str]:
    """``env`` as written, and with a vault each secret's Key Vault reference; refuses a name
    that would replace one of the adapter's settings."""
    clashes = collisions(app, options)
    if clashes:
        raise ConfigurationError("; ".join(clashes))
    values = dict(app.env)
    vault = key_vault(options)
    if vault is not None:
        values.update({name: _reference(vault, app, name) for name in app.secrets})
    return values


def _assignments(values: dict[str, str]) -> str:
    return " ".join(shlex.quote(f"{name}={value}") for name, value in values.items())


def settings_findings(app: App, options: AzureOptions) -> list[Finding]:
    """What the deploy must do for ``env`` and ``secrets`` to reach the function: upload the
    settings (a zip deploy does not carry local.settings.json), and store or set the secrets."""
    clashes = collisions(app, options)
    if clashes:
        return [Finding(None, "unsupported", clash) for clash in clashes]
    out = []
    values = app_settings(app, options)
    if values:
        out.append(Finding(None, "info", (
            f"app settings {', '.join(values)} are in local.settings.json, which app.zip leaves "
            "out: upload them with func azure functionapp publish <function app> "
            "--publish-local-settings (answer no when it asks to overwrite Azure's connection "
            f"settings such as {options.storage_connection}: the local ones are the emulator's "
            "and empty placeholders) or az functionapp config "
            "appsettings set --name <function app> --resource-group <resource group> "
            f"--settings {_assignments(values)}")))
    if not app.secrets:
        return out
    out.extend(app_wide_secrets_findings(
        app, provider="Azure", separate="a separate function app",
        why="app settings are the function app's (os.environ holds them all)"))
    vault = key_vault(options)
    if vault is None:
        out.append(Finding(None, "warning", (
            f"secrets {', '.join(app.secrets)} are not wired (no Key Vault named): set each as "
            "an app setting, az functionapp config appsettings set --name <function app> "
            "--resource-group <resource group> --settings "
            f"{' '.join(f'{name}=...' for name in app.secrets)}, or set {KEY_VAULT_ENV} "
            "(AzureOptions(key_vault=...)) to package them as Key Vault references")))
        return out
    commands = "; ".join(
        f"az keyvault secret set --vault-name {vault} --name {secret_name(app, name)} "
        "--value ..." for name in app.secrets)
    out.append(Finding(None, "info", (
        f"secrets {', '.join(app.secrets)} are Key Vault references to vault {vault!r}: give "
        "the function app a managed identity (az functionapp identity assign) with the 'Key "
        "Vault Secrets User' role on the vault (RBAC) or the Get secret permission (access "
        f"policy), and store each secret: {commands}")))
    return out
