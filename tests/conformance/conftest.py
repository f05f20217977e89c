"""Fixtures of the conformance suite: a Ctx per scenario run, on a fixed port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from ..conftest import MakeServer, free_port
from .harness import NODE_READY, Ctx

LANGS = [
    pytest.param("python", id="python"),
    pytest.param(
        "node",
        id="node",
        marks=pytest.mark.skipif(
            not NODE_READY, reason="needs node and `make node-deps` (clients/node)"
        ),
    ),
]


@pytest.fixture
async def make_ctx(tmp_path: Path, make_server: MakeServer) -> AsyncIterator[Callable[[str], Ctx]]:
    """``make_ctx(lang)``: a Ctx whose server restarts on the same port; agents and the
    client are closed at the end (before the servers stop)."""
    made: list[Ctx] = []

    def make(lang: str) -> Ctx:
        ctx = Ctx(lang, tmp_path, make_server, free_port())
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        await ctx.close()
