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
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from dwe.clients.typed import DweClient

from .callers import Caller, fault_client, follow
from .checks import Figures, Verdict, check_idempotent, retried, verify
from .cluster import Cluster

FULL = os.environ.get("DWE_FAULTS") == "full"
MODE = "full" if FULL else "short"
CYCLES, WORKFLOWS = (28, 200) if FULL else (3, 20)
#: The longest wait before a cycle's fault, in seconds.
MAX_DELAY = 0.5
AGENT_KILLS = 0.5  # share of cycles that also kill an agent mid-step
MID_DRAIN = 0.25  # share of server kills sent while it drains (SIGTERM first)
#: Seconds the callers get to finish once the last restart is done.
SETTLE = 60.0


def seed() -> int:
    chosen = os.environ.get("DWE_FAULTS_SEED")
    return int(chosen) if chosen else random.SystemRandom().randrange(1_000_000)


class CrashLoop:
    """The load, the faults and their counts."""

    def __init__(self, cluster: Cluster, client: DweClient, rng: random.Random) -> None:
        self.cluster = cluster
        self.client = client
        self.rng = rng
        self.callers: list[Caller] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.faults: Counter[str] = Counter()

    def launch(self, n: int) -> None:
        for _ in range(n):
            caller = Caller(f"faults-{len(self.callers)}", rng=random.Random(self.rng.random()))
            caller.context = {"n": len(self.callers)}
            self.callers.append(caller)
            self.tasks.append(asyncio.create_task(follow(self.client, caller)))

    async def cycle(self, batch: int) -> None:
        self.launch(batch)
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

    async def settle(self, verdict: Verdict) -> None:
        """Wait for every caller; those still running after SETTLE seconds are cancelled
        (their workflows then count as lost), those that raised are problems."""
        done, pending = await asyncio.wait(self.tasks, timeout=SETTLE)
        for task in pending:
            task.cancel()
        for task in done:
            if task.exception() is not None:
                verdict.problems.append(f"a caller raised {task.exception()!r}")


async def test_no_workflow_lost_across_crashes(tmp_path: Path) -> None:
    chosen = seed()
    started = time.monotonic()
    cluster = Cluster(tmp_path, agents=2, seed=chosen)
    await cluster.start()
    verdict = Verdict()
    try:
        async with fault_client(cluster.address) as client:
            loop = CrashLoop(cluster, client, random.Random(chosen))
            for i in range(CYCLES):
                await loop.cycle(WORKFLOWS * (i + 1) // CYCLES - WORKFLOWS * i // CYCLES)
            await loop.settle(verdict)
            found = await verify(client, loop.callers, cluster.server.db, cluster.run_lines())
            await check_idempotent(client, loop.callers, found)
            found.problems[:0] = verdict.problems
            verdict = found
    finally:
        tails = cluster.tails()
        await cluster.stop()
    figures = Figures.of("crash-loop", MODE, chosen, CYCLES, verdict, started)
    figures.extra = {"faults": dict(loop.faults), "retried": retried(loop.callers)}
    figures.extra["resumes"] = sum(c.resumes for c in loop.callers)
    figures.record()
    assert not verdict.problems, "\n".join(verdict.problems[:20]) + "\n" + tails
    assert (verdict.lost, verdict.accepted_twice, verdict.seq_gaps) == (0, 0, 0)


pytestmark = pytest.mark.timeout(280 if FULL else 90)
