"""Helpers for client tests against the real server: the CLI as a subprocess and an
in-process SDK agent with a few fixed capabilities."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from dwe.agent_sdk import Agent, NonRetryableError, Task

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # for the shared helpers of tests/conftest.py
    sys.path.insert(0, str(ROOT))

from tests.conftest import WAIT, wait_agents, wait_for  # noqa: E402

__all__ = [
    "ROOT",
    "WAIT",
    "AgentProcess",
    "Cli",
    "CliResult",
    "PyAgent",
    "make_py_agent",
    "run_cli",
    "serve_until_connected",
    "stop_agent",
    "wait_agents",
    "wait_for",
]
CLI_TIMEOUT = 30.0


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json_lines(self) -> list[Any]:
        return [orjson.loads(line) for line in self.out.splitlines() if line.strip()]


Cli = Callable[..., Awaitable[CliResult]]
AgentProcess = Callable[..., Awaitable[Any]]  # the agent_process fixture


async def run_cli(*args: str, timeout: float = CLI_TIMEOUT) -> CliResult:
    """``python -m dwe.cli ARGS`` as a real process, awaited without blocking
    the event loop (the server under test runs on it)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dwe.cli",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return CliResult(proc.returncode, out.decode(), err.decode())


@dataclass
class PyAgent:
    """An in-process SDK agent (see :func:`make_py_agent`)."""

    agent: Agent
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    started: asyncio.Queue[str] = field(default_factory=asyncio.Queue)


def make_py_agent(agent_id: str = "py-agent", **options: Any) -> PyAgent:
    """Capabilities:

    ``work`` returns ``{"step", "context", "inputs"}`` as the task saw them;
    ``stream`` streams "one" and "two" (with data ``{"n": 2}``), returns ``{"streamed": 2}``;
    ``fail`` raises NonRetryableError("boom");
    ``block`` puts its step id on ``started`` and waits for ``gate``.
    """
    options.setdefault("graceful_timeout", 2.0)
    agent = Agent(agent_id, "py", ["work", "stream", "fail", "block"], 8, **options)
    py = PyAgent(agent)

    @agent.handler("work")
    async def work(task: Task) -> dict[str, Any]:
        return {"step": task.step_id, "context": task.context, "inputs": dict(task.inputs)}

    @agent.handler("stream")
    async def stream(task: Task) -> dict[str, Any]:
        await task.stream("one")
        await task.stream("two", {"n": 2})
        return {"streamed": 2}

    @agent.handler("fail")
    async def fail(task: Task) -> dict[str, Any]:
        raise NonRetryableError("boom")

    @agent.handler("block")
    async def block(task: Task) -> dict[str, Any]:
        py.started.put_nowait(task.step_id)
        await py.gate.wait()
        return {"released": task.step_id}

    return py


async def serve_until_connected(py: PyAgent, address: str, timeout: float = 15.0) -> asyncio.Task:
    """Starts ``py.agent.serve(address)`` as a task; returns it once the agent is connected."""
    serving = asyncio.create_task(py.agent.serve(address))
    connected = asyncio.create_task(py.agent.connected.wait())
    done, _ = await asyncio.wait(
        {serving, connected}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
    )
    connected.cancel()
    if serving in done:
        serving.result()  # raises the serve error
        raise AssertionError("agent stopped before connecting")
    if connected not in done:
        serving.cancel()
        raise TimeoutError(f"agent {py.agent.agent_id} did not connect to {address}")
    return serving


async def stop_agent(py: PyAgent, serving: asyncio.Task) -> None:
    """Releases blocked handlers and stops the agent gracefully."""
    py.gate.set()
    py.agent.stop()
    await asyncio.wait_for(serving, 10)
