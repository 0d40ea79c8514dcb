# SPDX-License-Identifier: Apache-2.0
"""CloudEvents 1.0: the value every non-HTTP handler receives, and its wire formats.

Spec: https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md
JSON format: https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/formats/json-format.md
HTTP binding: https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md

Standard library only: this module runs in every deployed function, Pyodide included.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

# The value, its data codec, the JSON format and the HTTP binding each live in a module of
# their own; this module is where users and adapters import them from.
from portable_fn._cloudevent import (
    SPECVERSION,
    CloudEvent,
    ExtensionValue,
    format_time,
    new_id,
    parse_time,
    received_extension,
)
from portable_fn._event_data import decode_data, encode_data, is_json_content_type
from portable_fn._event_http import (
    STRUCTURED_CONTENT_TYPE,
    from_http,
    http_mode,
    is_json_format,
    to_binary,
    to_structured,
)
from portable_fn._event_json import from_dict, from_json, sniff_structured, to_dict, to_json

__all__ = [
    "SPECVERSION",
    "STRUCTURED_CONTENT_TYPE",
    "CloudEvent",
    "ExtensionValue",
    "decode_data",
    "encode_data",
    "format_time",
    "from_dict",
    "from_http",
    "from_json",
    "http_mode",
    "is_json_content_type",
    "is_json_format",
    "new_id",
    "parse_time",
    "received_extension",
    "schedule_data",
    "sniff_structured",
    "storage_data",
    "to_binary",
    "to_dict",
    "to_json",
    "to_structured",
]




def storage_data(
    *,
    bucket: str,
    key: str,
    size: int | None,
    etag: str | None,
    action: Literal["created", "deleted"],
    content_type: str | None = None,
) -> dict[str, Any]:
    """The portable storage payload every provider's storage event carries (DESIGN section 2)."""
    data: dict[str, Any] = {
        "bucket": bucket,
        "key": key,
        "size": size,
        "etag": etag,
        "action": action,
    }
    if content_type is not None:
        data["content_type"] = content_type
    return data


def schedule_data(*, expression: str, scheduled_time: datetime) -> dict[str, Any]:
    """The portable schedule payload: the trigger's expression and when this run was due."""
    return {"expression": expression, "scheduled_time": format_time(scheduled_time)}
