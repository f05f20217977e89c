"""The benchmark's agent: a no-op handler returning a small dict (WORKLOADS.md)."""

from __future__ import annotations

import asyncio
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


STAGE_SECONDS = 0.01
RECORDS = 50


def slot() -> Agent:
    """One-slot agents for the mode comparisons (ADAPTIVE and PIPELINE rows).

    ``sleep`` steps sleep the seconds in their description; ``s0`` emits RECORDS
    records, one per STAGE_SECONDS; ``s1``/``s2`` spend STAGE_SECONDS per item.
    """
    agent = Agent(
        os.environ.get("DWE_BENCH_AGENT_ID", "slot"),
        capabilities=os.environ.get("DWE_BENCH_CAPS", "sleep").split(","),
        max_concurrent_tasks=1,
    )

    async def sleep(task: Task) -> dict:
        await asyncio.sleep(float(task.description or 0))
        return {"slept": task.description}

    async def source(task: Task) -> list[int]:
        for i in range(RECORDS):
            await asyncio.sleep(STAGE_SECONDS)
            await task.emit(i)
        return list(range(RECORDS))

    async def stage(task: Task) -> object:
        (value,) = task.inputs.values()
        items = value if isinstance(value, list) else [value]
        for _ in items:
            await asyncio.sleep(STAGE_SECONDS)
        return items if isinstance(value, list) else items[0]

    handlers = {"sleep": sleep, "sleep2": sleep, "s0": source, "s1": stage, "s2": stage}
    for cap in agent.capabilities:
        agent.handler(cap)(handlers[cap])
    return agent
