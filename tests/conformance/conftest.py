"""Fixtures of the conformance suite: a Ctx per scenario run, on a fixed port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from ..conftest import MakeServer, free_port
from .harness import NODE_READY, Ctx, Secure

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


#: Every scenario runs plain, and with TLS and auth on (agent tokens bound to their ids).
MODES = ["plain", "secure"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_ctx(
    tmp_path: Path, make_server: MakeServer, mode: str
) -> AsyncIterator[Callable[[str], Ctx]]:
    """``make_ctx(lang)``: a Ctx whose server restarts on the same port; agents and the
    client are closed at the end (before the servers stop). In the secure mode the
    server has TLS and auth on, the client an admin token, each agent its own token."""
    made: list[Ctx] = []

    def make(lang: str) -> Ctx:
        ctx = Ctx(lang, tmp_path, make_server, free_port())
        if mode == "secure":
            ctx.secure = Secure(tmp_path / f"secure-{len(made)}")
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        await ctx.close()
