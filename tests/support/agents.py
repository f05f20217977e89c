"""Agents for end-to-end tests, run in subprocesses with ``dwe agent tests.support.agents:NAME``.

Each factory reads its settings from environment variables so one module
serves many tests: DWE_TEST_AGENT_ID, DWE_TEST_CAPS (comma-separated),
DWE_TEST_MAX (max_concurrent_tasks), DWE_TEST_DELAY (seconds per step).
"""

from __future__ import annotations

import asyncio
import os

from dwe.agent_sdk import Agent, Task


def _agent() -> Agent:
    return Agent(
        os.environ.get("DWE_TEST_AGENT_ID", "test-agent"),
        agent_type=os.environ.get("DWE_TEST_AGENT_TYPE", ""),
        capabilities=os.environ.get("DWE_TEST_CAPS", "analysis").split(","),
        max_concurrent_tasks=int(os.environ.get("DWE_TEST_MAX", "1")),
    )


def counting() -> Agent:
    """Every capability sleeps DWE_TEST_DELAY and reports the concurrency it saw."""
    agent = _agent()
    delay = float(os.environ.get("DWE_TEST_DELAY", "0.05"))
    state = {"running": 0, "max_seen": 0}

    async def handle(task: Task) -> dict:
        state["running"] += 1
        state["max_seen"] = max(state["max_seen"], state["running"])
        try:
            await asyncio.sleep(delay)
            return {
                "agent": agent.agent_id,
                "running": state["running"],
                "max_seen": state["max_seen"],
                "step": task.step_id,
            }
        finally:
            state["running"] -= 1

    for cap in agent.capabilities:
        agent.handler(cap)(handle)
    return agent


def hanging() -> Agent:
    """Signals it started (via a file) and then never finishes: for disconnect tests."""
    agent = _agent()
    marker = os.environ.get("DWE_TEST_MARKER", "")

    async def handle(task: Task) -> dict:
        if marker:
            with open(marker, "a") as f:
                f.write(f"{task.step_id}\n")
        await asyncio.Event().wait()
        return {}

    for cap in agent.capabilities:
        agent.handler(cap)(handle)
    return agent


def traced() -> Agent:
    """Configures tracing from OTEL_* variables, then answers every capability."""
    from dwe.agent_sdk.telemetry import configure_from_env

    configure_from_env()
    agent = _agent()

    async def handle(task: Task) -> dict:
        return {"traced": True}

    for cap in agent.capabilities:
        agent.handler(cap)(handle)
    return agent
