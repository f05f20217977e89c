"""The benchmark's agent: a no-op handler returning a small dict (WORKLOADS.md)."""

from __future__ import annotations

import os

from dwe.agent_sdk import Agent, Task


def noop() -> Agent:
    agent = Agent(
        os.environ.get("DWE_BENCH_AGENT_ID", "bench"),
        capabilities=["data_fetch", "analysis", "memory", "recommendation"],
        max_concurrent_tasks=int(os.environ.get("DWE_BENCH_MAX", "5000")),
    )
    counter = {"i": 0}

    async def handle(task: Task) -> dict:
        counter["i"] += 1
        return {"ok": True, "i": counter["i"]}

    for cap in agent.capabilities:
        agent.handler(cap)(handle)
    return agent
