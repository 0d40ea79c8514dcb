# SPDX-License-Identifier: Apache-2.0
"""A tiny block-style YAML writer for the SAM template (tooling only; no PyYAML dependency).

Scalars that could be misread (every string but plain identifiers) are written as JSON
strings, which YAML 1.2 reads as double-quoted scalars.
"""

from __future__ import annotations

import json
import re
from typing import Any

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_.:/-]*")
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED and not text.endswith(":"):
        return text
    return _UNPRINTABLE.sub(_escaped, json.dumps(text, ensure_ascii=False))


# What JSON leaves as it is and YAML does not read back: DEL and the C1 controls are outside
# YAML's printable set (PyYAML and cfn-lint refuse the template), NEL and U+2028/U+2029 are
# line breaks a double-quoted scalar folds into a space (YAML 1.1 section 5.2), U+FEFF a byte
# order mark. Escaped, as a double-quoted scalar allows (\uXXXX, YAML 1.2 section 5.7).
_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def _escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _lines(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    out: list[str] = []
    if isinstance(value, dict):
        if not value:
            return [pad + "{}"]
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                out.append(f"{pad}{_scalar(key)}:")
                out.extend(_lines(item, indent + 1))
            else:
                rendered = "{}" if item == {} else "[]" if item == [] else _scalar(item)
                out.append(f"{pad}{_scalar(key)}: {rendered}")
        return out
    if isinstance(value, list):
        if not value:
            return [pad + "[]"]
        for item in value:
            if isinstance(item, dict | list) and item:
                nested = _lines(item, indent + 1)
                out.append(f"{pad}- {nested[0].lstrip()}")
                out.extend(nested[1:])
            else:
                out.append(f"{pad}- {_scalar(item)}")
        return out
    return [pad + _scalar(value)]


def dump(document: dict[str, Any]) -> str:
    return "\n".join(_lines(document, 0)) + "\n"
