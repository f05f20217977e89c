"""W5 (10,000 diamonds in flight) and W6 (1,000 agents), each on a server of its own.

W5: two agents hold every task behind a closed gate (bench.agents:gated), so all
the diamonds submitted are in flight at once; then the gate opens. The server's
RSS before the submission and with all in flight gives KiB per in-flight
workflow; the drain is timed from the release to the last completion.

W6: 1,000 agents in 10 processes (bench.swarm, 2 slots each) under W2 load. RSS
before and after they connect gives KiB per agent session; ListAgents'
completed_steps gives the spread of tasks over agents.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import statistics
import time
from pathlib import Path
from typing import Any

from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient

from .cluster import Cluster
from .common import DIAMOND, summary
from .workloads import run_w2

W5_WORKFLOWS = int(os.environ.get("BENCH_W5_WORKFLOWS", "10000"))
W6_PROCESSES = 10
W6_AGENTS = int(os.environ.get("BENCH_W6_AGENTS", "1000"))
SETTLE_S = 1.0  # lets the server finish what it was doing before RSS is read


async def _metrics(client: DweClient) -> Any:
    return await client.get_engine_metrics()


async def _wait_for(client: DweClient, done: Any, what: str, timeout: float = 600) -> float:
    """Poll engine metrics until ``done(metrics)``; the seconds it took."""
    t0 = time.perf_counter()
    while not done(await _metrics(client)):
        if time.perf_counter() - t0 > timeout:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return time.perf_counter() - t0


async def _submit(client: DweClient, n: int) -> None:
    """Create and start ``n`` diamonds, up to 256 calls at once."""
    spec = build_workflow_spec("W5", DIAMOND)
    limit = asyncio.Semaphore(256)

    async def one() -> None:
        async with limit:
            created = await client.create_workflow(spec)
            await client.start_workflow(created.workflow_id)

    await asyncio.gather(*(one() for _ in range(n)))


async def _w5_round(client: DweClient, cluster: Cluster, n: int) -> dict[str, float]:
    """One W5 round on a server whose gated agents hold nothing."""
    await asyncio.sleep(SETTLE_S)
    rss0 = cluster.rss_mib()
    base = (await _metrics(client)).completed_workflows
    t0 = time.perf_counter()
    await _submit(client, n)
    submit_s = time.perf_counter() - t0
    await _wait_for(client, lambda m: sum(m.agent_load.values()) >= n, "every fetch held")
    await asyncio.sleep(SETTLE_S)
    rss1 = cluster.rss_mib()
    active = (await _metrics(client)).active_workflows
    for proc in cluster.agents:
        proc.send_signal(signal.SIGUSR1)
    drain_s = await _wait_for(client, lambda m: m.completed_workflows - base >= n, "the drain")
    for proc in cluster.agents:
        proc.send_signal(signal.SIGUSR2)  # closed again for the next round
    return {
        "workflows_in_flight": float(active),
        "rss_before_mib": rss0,
        "rss_in_flight_mib": rss1,
        "kib_per_workflow": (rss1 - rss0) * 1024 / n,
        "submit_s": submit_s,
        "drain_s": drain_s,
        "drain_steps_per_s": 4 * n / drain_s,
    }


async def _w5_server(tmp: Path, n: int) -> dict[str, float]:
    """W5 on a fresh server: a warm-up round of 200, the measured round, then a repeat.

    The repeat shows what the same server needs again once the first round's
    memory is free inside the process (Python keeps it; RSS does not go down).
    """
    env = {"DWE_BENCH_MAX": str(n)}
    agents = [("bench.agents:gated", {**env, "DWE_BENCH_AGENT_ID": f"gated-{i}"}) for i in (0, 1)]
    cluster = Cluster(str(tmp / "w5.db"), agents=agents)
    try:
        async with DweClient(cluster.client_address) as client:
            await cluster.wait_agents(client)
            await _w5_round(client, cluster, 200)  # warm-up: every code path once
            out = await _w5_round(client, cluster, n)
            again = await _w5_round(client, cluster, n)
            out["repeat_kib_per_workflow"] = again["kib_per_workflow"]
            out["repeat_drain_s"] = again["drain_s"]
            out["server_peak_rss_mib"] = cluster.rss_mib()
            return out
    finally:
        cluster.stop()
        with contextlib.suppress(FileNotFoundError):
            for path in tmp.glob("w5.db*"):
                path.unlink()


async def w5(tmp: Path, reps: int) -> dict[str, Any]:
    """W5, ``reps`` times, each on a fresh server."""
    return summary([await _w5_server(tmp, W5_WORKFLOWS) for _ in range(reps)])


def _spread(completed: list[int]) -> dict[str, float]:
    mean = statistics.mean(completed)
    return {
        "agents": float(len(completed)),
        "tasks_max": float(max(completed)),
        "tasks_min": float(min(completed)),
        "tasks_mean": mean,
        "tasks_max_over_mean": max(completed) / mean if mean else 0.0,
        "agents_idle": float(sum(1 for c in completed if c == 0)),
    }


async def w6(tmp: Path, reps: int) -> dict[str, Any]:
    """W6: 1,000 agents in 10 processes, then W2 (typed client), warm-up + ``reps``."""
    cluster = Cluster(str(tmp / "w6.db"), agents=[])
    per_process = W6_AGENTS // W6_PROCESSES
    try:
        async with DweClient(cluster.client_address) as client:
            await asyncio.sleep(SETTLE_S)
            gc.collect()
            rss0 = cluster.rss_mib()
            t0 = time.perf_counter()
            for p in range(W6_PROCESSES):
                args = (cluster.address, str(per_process), f"swarm{p}", "2")
                cluster.start_process("-m", "bench.swarm", *args)
            await cluster.wait_agents(client, per_process * W6_PROCESSES)
            connect_s = time.perf_counter() - t0
            await asyncio.sleep(2 * SETTLE_S)
            rss1 = cluster.rss_mib()
            await run_w2(client)  # warm-up
            out = summary([await run_w2(client) for _ in range(reps)])
            completed = [a.completed_steps for a in await client.list_agents() if a.connected]
            out.update(_spread(completed))
            out.update(
                connect_s=connect_s,
                rss_before_mib=rss0,
                rss_connected_mib=rss1,
                kib_per_session=(rss1 - rss0) * 1024 / len(completed),
                server_peak_rss_mib=cluster.rss_mib(),
            )
            return out
    finally:
        cluster.stop()
