"""Three replicas on one PostgreSQL database under load (issue 10): 500 diamonds
submitted round-robin to all three, agents spread over them; all complete, no agent runs
more than its limit at once, and no result is accepted twice."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable

import orjson

from dwe.clients.local import ServerProcess
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.v1 import enums_pb2

from ..conftest import ROOT, AgentProcess, wait_for
from ..support.specs import DIAMOND
from .helpers import name_of

DIAMONDS = 500
MAX = 4


def _replica(url: str, name: str) -> ServerProcess:
    return ServerProcess(url, "--replica-id", name, "--lease-seconds", "3", cwd=ROOT)


async def test_500_diamonds_round_robin_over_three_replicas(
    pg_url: str, spawn_agent: Callable[..., AgentProcess]
) -> None:
    replicas = [await asyncio.to_thread(_replica, pg_url, f"r{i}") for i in range(3)]
    caps = ",".join(sorted({s["agent_capability"] for s in DIAMOND}))
    for i, replica in enumerate(replicas):  # one agent on each replica
        spawn_agent(
            replica.address,
            DWE_TEST_AGENT_ID=f"a{i}",
            DWE_TEST_CAPS=caps,
            DWE_TEST_MAX=MAX,
            DWE_TEST_DELAY=0,
        )
    clients = [DweClient(r.address) for r in replicas]
    try:
        await wait_for(
            lambda: _connected(clients[0], 3), 30, "three agents, through their replicas"
        )
        spec = build_workflow_spec("diamond", DIAMOND)
        gate = asyncio.Semaphore(50)

        async def submit(i: int) -> str:
            client = clients[i % 3]
            async with gate:
                made = await client.create_workflow(spec, f"rr-{i}")
                await client.start_workflow(made.workflow_id)
            return made.workflow_id

        ids = await asyncio.gather(*(submit(i) for i in range(DIAMONDS)))
        owner = clients[0]

        await wait_for(lambda: _completed(owner, DIAMONDS), 180, "every diamond completed")
        completions: Counter[tuple[str, str]] = Counter()
        peak = 0
        for wid in ids:
            status = await owner.get_workflow_status(wid)
            assert status.state == enums_pb2.WORKFLOW_STATE_COMPLETED
            for step in status.steps:
                peak = max(peak, orjson.loads(step.output.data)["max_seen"])
            async for event in owner.watch_workflow(wid):
                if name_of(event) == "agent_completed":
                    completions[(wid, event.step_id)] += 1
    finally:
        for client in clients:
            await client.close()
        for replica in replicas:
            with contextlib.suppress(Exception):
                replica.stop()
    assert len(set(ids)) == DIAMONDS
    assert set(completions.values()) == {1} and len(completions) == DIAMONDS * len(DIAMOND)
    assert peak <= MAX, f"an agent ran {peak} steps at once (limit {MAX})"


async def _connected(client: DweClient, n: int) -> bool:
    return sum(a.connected for a in await client.list_agents()) == n


async def _completed(client: DweClient, n: int) -> bool:
    metrics = await client.get_engine_metrics()
    return int(metrics.completed_workflows) == n
