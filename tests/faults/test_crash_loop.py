"""kill -9 of the server at random moments during a W2-like load, again and again,
with agents killed mid-step too; afterwards nothing is lost (see checks.py).

Each cycle launches a batch of callers (tests/faults/callers.py), waits a random
time drawn from a seeded RNG, sometimes kills an agent while it runs a handler and
restarts it, then kills the server (sometimes during its drain, SIGTERM then
SIGKILL) and restarts it on the same port and SQLite file. The short version runs
in ``make test``; ``DWE_FAULTS=full`` (``make faults``) runs the long one.
``DWE_FAULTS_SEED`` repeats a run's choices (the seed is in its figures).
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from dwe.clients.typed import DweClient

from .callers import Load, fault_client
from .checks import Figures, check_idempotent, retried, run_twice_by_cause, verify
from .cluster import Cluster
from .settings import FULL, MODE, seed

CYCLES, WORKFLOWS = (28, 200) if FULL else (3, 20)
#: The longest wait before a cycle's fault, in seconds.
MAX_DELAY = 0.5
AGENT_KILLS = 0.5  # share of cycles that also kill an agent mid-step
MID_DRAIN = 0.25  # share of server kills sent while it drains (SIGTERM first)
#: Seconds the callers get to finish once the last restart is done.
SETTLE = 60.0

pytestmark = pytest.mark.timeout(280 if FULL else 90)


class CrashLoop:
    """The load, the faults and their counts."""

    def __init__(self, cluster: Cluster, client: DweClient, rng: random.Random) -> None:
        self.cluster = cluster
        self.load = Load(client, rng)
        self.rng = rng
        self.faults: Counter[str] = Counter()

    async def cycle(self, batch: int) -> None:
        self.load.launch(batch)
        await asyncio.sleep(self.rng.uniform(0, MAX_DELAY))  # when, not a synchronisation
        late_agent = None
        if self.rng.random() < AGENT_KILLS:
            agent_id = self.rng.choice(self.cluster.agent_ids)
            cut = await self.cluster.kill_agent_mid_step(agent_id)
            self.faults["agent kills mid-step" if cut else "agent kills idle"] += 1
            if self.rng.random() < 0.5:
                self.cluster.start_agent(agent_id)
            else:
                late_agent = agent_id  # comes back after the server
        await self.kill_server()
        await self.cluster.server.start()
        if late_agent:
            self.cluster.start_agent(late_agent)

    async def kill_server(self) -> None:
        server = self.cluster.server
        if self.rng.random() < MID_DRAIN:
            server.signal(signal.SIGTERM)
            await asyncio.sleep(self.rng.uniform(0, 0.3))  # somewhere in the drain
            self.faults["server kills mid-drain"] += 1
        else:
            self.faults["server kills"] += 1
        server.kill()


async def test_no_workflow_lost_across_crashes(tmp_path: Path) -> None:
    chosen = seed()
    started = time.monotonic()
    cluster = Cluster(tmp_path, agents=2, seed=chosen)
    await cluster.start()
    try:
        async with fault_client(cluster.address) as client:
            loop = CrashLoop(cluster, client, random.Random(chosen))
            callers = loop.load.callers
            for i in range(CYCLES):
                await loop.cycle(WORKFLOWS * (i + 1) // CYCLES - WORKFLOWS * i // CYCLES)
            raised = await loop.load.settle(SETTLE)
            verdict = await verify(client, callers, cluster.server.db, cluster.run_lines())
            await check_idempotent(client, callers, verdict)
            verdict.problems[:0] = raised
    finally:
        tails = cluster.tails()
        await cluster.stop()
    figures = Figures.of("crash-loop", MODE, chosen, CYCLES, verdict, started)
    figures.extra = {"faults": dict(loop.faults), "retried": retried(callers)}
    figures.extra["resumes"] = sum(c.resumes for c in callers)
    figures.extra["run twice"] = run_twice_by_cause(cluster.run_lines(), cluster.killed)
    figures.record()
    assert not verdict.problems, "\n".join(verdict.problems[:20]) + "\n" + tails
    assert (verdict.lost, verdict.accepted_twice, verdict.seq_gaps) == (0, 0, 0)
