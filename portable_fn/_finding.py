# SPDX-License-Identifier: Apache-2.0
"""``Finding``: what ``inspect`` and ``package`` report about a provider and an app (exported
from ``portable_fn.adapter``; its own module so packaging helpers can build findings without
importing the adapter seam)."""

from __future__ import annotations

from typing import Literal

from portable_fn._value import Value

__all__ = ["Finding"]


class Finding(Value):
    """Something a provider does differently from what the app declares.

    ``unsupported``: the provider cannot honour it (packaging warns loudly); ``warning``: honoured
    approximately; ``info``: how it is honoured.
    """

    function: str | None
    level: Literal["info", "warning", "unsupported"]
    message: str

    def __init__(
        self,
        function: str | None,
        level: Literal["info", "warning", "unsupported"],
        message: str,
    ) -> None:
        if level not in ("info", "warning", "unsupported"):
            raise ValueError(f"finding level {level!r}")
        object.__setattr__(self, "function", function)
        object.__setattr__(self, "level", level)
        object.__setattr__(self, "message", message)

    def __str__(self) -> str:
        where = f"{self.function}: " if self.function else ""
        return f"[{self.level}] {where}{self.message}"
