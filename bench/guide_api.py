"""W2 through the guide's ``DynamicWorkflowEngine`` (what most users call).

Each caller does what the guide shows: ``create_workflow`` with the step dicts,
then ``execute_workflow`` following the event dicts to the terminal one.
"""

from __future__ import annotations

import asyncio
import time

from dwe.clients.engine import DynamicWorkflowEngine
from dwe.clients.typed import DweClient

from .cluster import Cluster
from .common import DIAMOND, latency_figures
from .workloads import W2_WORKFLOWS

_ENGINES: dict[str, DynamicWorkflowEngine] = {}


def engine_for(address: str) -> DynamicWorkflowEngine:
    """One engine per server, kept for the whole run (as an application keeps one)."""
    if address not in _ENGINES:
        _ENGINES[address] = DynamicWorkflowEngine(address)
    return _ENGINES[address]


async def close_engines() -> None:
    for engine in _ENGINES.values():
        await engine.aclose()
    _ENGINES.clear()


async def run_w2_guide(engine: DynamicWorkflowEngine) -> dict[str, float]:
    """200 diamonds, each created and executed to its end by its own caller."""
    latencies: list[float] = []

    async def one(i: int) -> None:
        t = time.perf_counter()
        workflow = await engine.create_workflow(f"W2 guide {i}", steps=DIAMOND)
        last = ""
        async for event in engine.execute_workflow(workflow):
            last = event["event"]
        if last != "workflow_completed":
            raise RuntimeError(f"W2 guide workflow ended with {last!r}")
        latencies.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(W2_WORKFLOWS)))
    wall = time.perf_counter() - t0
    return latency_figures(wall, 4 * W2_WORKFLOWS, latencies)


async def w2_guide(client: DweClient, cluster: Cluster) -> dict[str, float]:
    return await run_w2_guide(engine_for(cluster.client_address))
