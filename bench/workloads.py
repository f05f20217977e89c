"""W1-W4, M1 and M2 of ../shared/bench/WORKLOADS.md through the typed client.

Every clock starts before the first CreateWorkflow call, as a user's does: the
figures include creating the workflows, not only running them.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.v1 import enums_pb2

from .cluster import Cluster
from .common import DIAMOND, TERMINAL, check, execute, latency_figures

W2_WORKFLOWS = 200


async def w1(client: DweClient, cluster: Cluster) -> dict[str, float]:
    steps: list[dict[str, Any]] = [
        {"step_id": f"s{i}", "agent_capability": "analysis"} for i in range(2000)
    ]
    steps.append(
        {
            "step_id": "aggregate",
            "agent_capability": "analysis",
            "dependencies": [f"s{i}" for i in range(2000)],
        }
    )
    spec = build_workflow_spec("W1", steps)  # building the request is the caller's, untimed
    t0 = time.perf_counter()
    created = await client.create_workflow(spec)
    check(await execute(client, created.workflow_id), "W1")
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "steps_per_s": 2001 / wall}


async def run_w2(client: DweClient, watchers: int = 0) -> dict[str, float]:
    """200 diamonds submitted at once, each created then followed to its end by its caller.

    Latency per workflow: CreateWorkflow called -> WORKFLOW_COMPLETED seen. With
    ``watchers``, half of them follow all events (WatchEvents, open before the clock
    starts) and half one workflow each (WatchWorkflow, opened as soon as it exists).
    """
    spec = build_workflow_spec("W2", DIAMOND)
    delivered = [0]
    lags: list[float] = []
    watch_tasks: list[asyncio.Task[None]] = []
    ids: list[str] = []
    for _ in range(watchers // 2 + watchers % 2):
        watch_tasks.append(asyncio.create_task(_watch(client, None, ids, delivered, lags)))
    if watchers:
        await asyncio.sleep(0.2)  # let the subscriptions open before the load starts
    per_workflow = watchers // 2
    latencies: list[float] = []

    async def one() -> None:
        t = time.perf_counter()
        created = await client.create_workflow(spec)
        ids.append(created.workflow_id)
        if len(ids) <= per_workflow:
            stream = _watch(client, created.workflow_id, ids, delivered, lags)
            watch_tasks.append(asyncio.create_task(stream))
        check(await execute(client, created.workflow_id, delivered), "W2 workflow")
        latencies.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(W2_WORKFLOWS)))
    wall = time.perf_counter() - t0
    if watch_tasks:
        await asyncio.wait_for(asyncio.gather(*watch_tasks), 60)
    total = time.perf_counter() - t0
    out = latency_figures(wall, 4 * W2_WORKFLOWS, latencies)
    if watchers:
        out["events_per_s"] = delivered[0] / total
        out["events_delivered"] = float(delivered[0])
        out["max_lag_ms"] = 1000 * max(lags) if lags else 0.0
    return out


async def _watch(
    client: DweClient,
    workflow_id: str | None,
    ids: list[str],
    delivered: list[int],
    lags: list[float],
) -> None:
    """Follow one workflow (WatchWorkflow) or every workflow of the run (WatchEvents)."""
    stream = client.watch_workflow(workflow_id) if workflow_id else client.watch_events()
    completed = 0
    async for event in stream:
        delivered[0] += 1
        lags.append(time.time() - event.time.ToNanoseconds() / 1e9)
        if workflow_id:
            if event.type in TERMINAL:
                return
        elif event.type == enums_pb2.EVENT_TYPE_WORKFLOW_COMPLETED and event.workflow_id in ids:
            completed += 1
            if completed == W2_WORKFLOWS:
                return


async def w2(client: DweClient, cluster: Cluster) -> dict[str, float]:
    return await run_w2(client)


async def w3(client: DweClient, cluster: Cluster) -> dict[str, float]:
    steps = [{"step_id": "s0", "agent_capability": "analysis"}] + [
        {"step_id": f"s{i}", "agent_capability": "analysis", "dependencies": [f"s{i - 1}"]}
        for i in range(1, 100)
    ]
    spec = build_workflow_spec("W3", steps)
    t0 = time.perf_counter()
    created = await client.create_workflow(spec)
    check(await execute(client, created.workflow_id), "W3")
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "per_step_ms": 1000 * wall / 100}


async def w4(client: DweClient, cluster: Cluster) -> dict[str, float]:
    return await run_w2(client, watchers=20)


# M1: one long chain declared after short side steps; one slot per capability.
SIDES_AND_CHAIN: list[dict[str, Any]] = [
    *(
        {
            "step_id": f"side{i}",
            "description": "0.02",
            "agent_capability": "sleep",
            "estimated_duration": 0.02,
        }
        for i in range(8)
    ),
    {
        "step_id": "chain1",
        "description": "0.1",
        "agent_capability": "sleep",
        "estimated_duration": 0.1,
    },
    {
        "step_id": "chain2",
        "description": "0.1",
        "agent_capability": "sleep2",
        "estimated_duration": 0.1,
        "dependencies": ["chain1"],
    },
    {
        "step_id": "chain3",
        "description": "0.1",
        "agent_capability": "sleep2",
        "estimated_duration": 0.1,
        "dependencies": ["chain2"],
    },
]
# M2: 50 records through 3 one-slot stages of 10 ms each.
STAGES: list[dict[str, Any]] = [
    {"step_id": "source", "agent_capability": "s0"},
    {"step_id": "stage1", "agent_capability": "s1", "dependencies": ["source"]},
    {"step_id": "stage2", "agent_capability": "s2", "dependencies": ["stage1"]},
]


async def _compare(client: DweClient, steps: list[dict[str, Any]], mode: str) -> dict[str, float]:
    walls = {}
    for m in (mode, "parallel"):
        spec = build_workflow_spec(m, steps, execution_mode=m)
        t0 = time.perf_counter()
        created = await client.create_workflow(spec)
        check(await execute(client, created.workflow_id), f"{m} run")
        walls[m] = time.perf_counter() - t0
    return {
        "wall_s": walls[mode],
        "parallel_wall_s": walls["parallel"],
        "ratio": walls[mode] / walls["parallel"],
    }


async def m1(client: DweClient, cluster: Cluster) -> dict[str, float]:
    return await _compare(client, SIDES_AND_CHAIN, "adaptive")


async def m2(client: DweClient, cluster: Cluster) -> dict[str, float]:
    return await _compare(client, STAGES, "pipeline")
