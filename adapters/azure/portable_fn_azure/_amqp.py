# SPDX-License-Identifier: Apache-2.0
"""Binary-mode CloudEvents of the AMQP binding, shared by Service Bus and Event Hubs.

https://github.com/cloudevents/spec/blob/main/cloudevents/bindings/amqp-protocol-binding.md
(section 3.1.3.1): every attribute but ``datacontenttype`` is an application property named
``cloudEvents_<name>`` or ``cloudEvents:<name>``; ``datacontenttype`` is the AMQP content-type;
the body is ``data``. The host hands application properties over as a JSON object (an AMQP
timestamp, such as ``time``, as its ISO 8601 text).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portable_fn.events import CloudEvent, decode_data, from_dict

__all__ = ["attributes", "from_binary"]

_PREFIXES = ("cloudEvents_", "cloudEvents:")
_PREFIX_LENGTH = 12  # both prefixes


def attributes(props: Mapping[str, Any] | None) -> dict[str, Any]:
    """The CloudEvents attributes among application properties (empty: not binary mode)."""
    if not props:
        return {}
    return {key[_PREFIX_LENGTH:]: value for key, value in props.items()
            if isinstance(key, str) and key.startswith(_PREFIXES)}


def from_binary(attrs: Mapping[str, Any], body: bytes, content_type: str | None) -> CloudEvent:
    """The event of a binary-mode message; ``InvalidCloudEventError`` if the attributes break
    the spec. A producer that left the content-type empty but sent ``datacontenttype`` as a
    property still declared the data's type, so that is used."""
    obj: dict[str, Any] = dict(attrs)
    declared = obj.pop("datacontenttype", None)
    kind = content_type or (declared if isinstance(declared, str) and declared else None)
    if kind:
        obj["datacontenttype"] = kind
    return from_dict(obj).replace(data=decode_data(body, kind))
