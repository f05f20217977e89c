"""Fixtures for client tests against the real server (``server``, ``client``: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from realkit import (
    Cli,
    CliResult,
    PyAgent,
    make_py_agent,
    run_cli,
    serve_until_connected,
    stop_agent,
    wait_agents,
    wait_for,
)

from dwe.server.app import DweServer


@pytest.fixture
def cli(server: DweServer) -> Cli:
    """Runs the CLI against the test's server: ``await cli("status", wid, "--json")``."""

    async def call(*args: str, timeout: float = 30.0) -> CliResult:
        return await run_cli("--target", server.address, *args, timeout=timeout)

    return call


@pytest.fixture
async def py_agent(server: DweServer) -> AsyncIterator[PyAgent]:
    """A connected in-process agent "py-agent" (see realkit.make_py_agent); its blocked
    handlers are released and it is stopped at teardown."""
    py = make_py_agent("py-agent")
    serving = await serve_until_connected(py, server.address)
    try:
        yield py
    finally:
        await stop_agent(py, serving)


@pytest.fixture
async def agent_process(
    server: DweServer, spawn_agent: Callable[..., Any]
) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """``await agent_process(DWE_TEST_AGENT_ID="x", ...)``: a ``dwe agent`` process
    (tests/support/agents.py, ``factory=`` picks one) connected to the test's server.

    It waits until the agent is connected before returning the process.
    """
    procs: list[Any] = []

    async def start(factory: str = "counting", **env: Any) -> Any:
        proc = spawn_agent(server.address, factory, **env)
        procs.append(proc)
        agent_id = str(env.get("DWE_TEST_AGENT_ID", "test-agent"))
        try:
            await wait_agents(server, agent_id)
        except TimeoutError as err:
            raise TimeoutError(f"{err}\n{proc.output()}") from None
        return proc

    yield start
    for p in procs:
        if p.proc.poll() is None:
            p.proc.terminate()
    await wait_for(
        lambda: all(p.proc.poll() is not None for p in procs), 15, "agent processes exited"
    )
