"""Fixtures for the local runtime tests: ``dev`` starts real ``portable-fn dev`` processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .devserver import SHOP, DevServer


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Callable[..., DevServer]]:
    """Start servers with ``dev(app, *args, env=..., state=...)``; all are stopped at the end."""
    started: list[DevServer] = []

    def start(
        app: str = SHOP, *args: str, env: dict[str, str] | None = None, state: Path | None = None
    ) -> DevServer:
        server = DevServer(app, state or tmp_path / "state", *args, env=env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
