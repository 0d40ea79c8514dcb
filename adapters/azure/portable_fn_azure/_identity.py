# SPDX-License-Identifier: Apache-2.0
"""Identity-based connections: the settings the Functions host reads in place of a connection
string, read the same way, for the publisher and the poison-queue move.

- Storage (``<connection>__accountName``, else ``__queueServiceUri``, else ``__serviceUri``: the
  host's order, ``StorageClientProvider.TryGetServiceUri`` and the client factory's
  ``serviceUri`` constructor argument in the WebJobs storage extension);
- Service Bus and Event Hubs (``<connection>__fullyQualifiedNamespace``);
- the credential (``Microsoft.Extensions.Azure`` ``ClientFactory.CreateCredential``):
  ``__credential`` = ``managedidentity`` is a ``ManagedIdentityCredential`` (the user-assigned
  one whose ``__clientId`` is given, else the system-assigned one); ``__tenantId``,
  ``__clientId`` and ``__clientSecret`` a ``ClientSecretCredential``; anything else
  ``DefaultAzureCredential``.

https://learn.microsoft.com/azure/azure-functions/functions-reference#configure-an-identity-based-connection
azure-identity is imported on first use only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["credential", "namespace", "queue_service_url", "setting"]

# Where the host builds a storage URL from an account name (public cloud, HTTPS).
_STORAGE_SUFFIX = "core.windows.net"


def setting(env: Mapping[str, str], prefix: str, key: str) -> str | None:
    """``<prefix>__<key>``, its key matched ignoring case as .NET configuration does; a blank
    value counts as absent."""
    name = f"{prefix}__{key}"
    value = env.get(name)
    if value is None:
        folded = name.casefold()
        value = next((v for k, v in env.items() if k.casefold() == folded), None)
    return (value.strip() or None) if value is not None else None


def queue_service_url(env: Mapping[str, str], prefix: str) -> str | None:
    account = setting(env, prefix, "accountName")
    if account is not None:
        return f"https://{account}.queue.{_STORAGE_SUFFIX}"
    return setting(env, prefix, "queueServiceUri") or setting(env, prefix, "serviceUri")


def namespace(env: Mapping[str, str], prefix: str) -> str | None:
    return setting(env, prefix, "fullyQualifiedNamespace")


def credential(env: Mapping[str, str], prefix: str, instead_of: str) -> Any:
    """The token credential the host would use for connection ``prefix``; ``instead_of`` names
    the secret setting that is absent, for the error when azure-identity is not installed."""
    try:
        import azure.identity as identity
    except ImportError as exc:
        raise ImportError(
            f"{instead_of} is not set and an identity-based connection ({prefix}__*) needs "
            'azure-identity: pip install "portable-fn-azure[identity]"'
        ) from exc
    client_id = setting(env, prefix, "clientId")
    kind = setting(env, prefix, "credential")
    if kind is not None and kind.casefold() == "managedidentity":
        return identity.ManagedIdentityCredential(client_id=client_id)
    tenant, secret = setting(env, prefix, "tenantId"), setting(env, prefix, "clientSecret")
    if tenant and client_id and secret:
        return identity.ClientSecretCredential(tenant, client_id, secret)
    return identity.DefaultAzureCredential()
