"""The benchmark's agent: a no-op handler returning a small dict (WORKLOADS.md)."""

from __future__ import annotations

import asyncio
import os
import signal

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


class _Gate:
    """Closed until SIGUSR1, closed again by SIGUSR2 (signals land on the loop's thread)."""

    def __init__(self) -> None:
        self.open = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.event: asyncio.Event | None = None
        signal.signal(signal.SIGUSR1, lambda *_: self._set(True))
        signal.signal(signal.SIGUSR2, lambda *_: self._set(False))

    def _set(self, open_: bool) -> None:
        self.open = open_
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._apply)

    def _apply(self) -> None:
        assert self.event is not None
        if self.open:
            self.event.set()
        elif self.event.is_set():
            self.event = asyncio.Event()

    async def wait(self) -> None:
        if self.event is None:
            self.loop, self.event = asyncio.get_running_loop(), asyncio.Event()
            self._apply()
        await self.event.wait()


def gated() -> Agent:
    """A no-op agent that holds every task while its gate is closed (W5).

    The gate starts closed; SIGUSR1 opens it, SIGUSR2 closes it again. The server
    assigns the agent up to ``DWE_BENCH_MAX`` tasks, which wait here, so the
    workflows stay in flight until the bench releases them all at once.
    """
    agent = Agent(
        os.environ.get("DWE_BENCH_AGENT_ID", "gated"),
        capabilities=["data_fetch", "analysis", "memory", "recommendation"],
        max_concurrent_tasks=int(os.environ.get("DWE_BENCH_MAX", "10000")),
    )
    gate = _Gate()
    counter = {"i": 0}

    async def handle(task: Task) -> dict:
        await gate.wait()
        counter["i"] += 1
        return {"ok": True, "i": counter["i"]}

    for cap in agent.capabilities:
        agent.handler(cap)(handle)
    return agent
