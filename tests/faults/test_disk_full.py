"""The disk fills up mid-run: callers get UNAVAILABLE naming the cause; after space
returns, or after a kill -9 and a restart, every acknowledged workflow completes,
memory and store agree and no seq is skipped (checks.py).

As root the database lives on a small tmpfs that a filler file fills (disk.py).
Otherwise the restart variant makes the database read-only while the server is
down, and the live variant, which needs a real full disk, skips.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dwe.clients import UnavailableError
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient

from ..conftest import wait_for
from .callers import DIAMOND, Load, fault_client
from .checks import Figures, Verdict, retried, verify
from .cluster import Cluster
from .disk import Disk, small_disk
from .settings import FULL, MODE, seed

pytestmark = pytest.mark.timeout(120)

#: Workflows in flight when the disk fills, and more created while it is full.
BEFORE, DURING = (30, 10) if FULL else (12, 6)
#: Runs of the live variant, each on a new tmpfs. One server sees one fill: once the WAL
#: has been checkpointed, SQLite writes over its old frames, which needs no new space.
ROUNDS = 3 if FULL else 1
#: Far more than a commit's share of the last free pages: its commit needs new ones.
BIG = {"blob": "x" * 256 * 1024}
#: The cause callers must be told, as SQLite names it.
CAUSE = r"database or disk is full|attempt to write a readonly database"
SETTLE = 60.0


@dataclass
class Run:
    """One disk-full run: its cluster, load, client and what it found."""

    cluster: Cluster
    load: Load
    client: DweClient
    disk: Disk
    verdict: Verdict = field(default_factory=Verdict)
    extra: dict[str, object] = field(default_factory=dict)

    async def fill_under_load(self) -> None:
        """Diamonds run; the disk fills; a create and the agents' results fail to commit."""
        await self.cluster.connected(self.client)
        self.load.launch(BEFORE)
        await wait_for(self._running, what="diamonds running")
        self.disk.fill()
        if self.disk.kind == "tmpfs":
            await probe(self.client)
            self.load.launch(DURING)
            await wait_for(self._refused, what="a caller told the disk is full")
            await wait_for(lambda: self.cluster.withheld() >= 3, what="agents' work not stored")

    def _running(self) -> bool:
        """Every create acknowledged, handlers running, and workflows still to finish."""
        ends = sum(1 for line in self.cluster.run_lines() if line[0] == "end")
        done = all(c.done for c in self.load.callers)
        return self.load.acknowledged() == BEFORE and ends >= BEFORE // 2 and not done

    def _refused(self) -> bool:
        """A caller was told the cause."""
        failures = [k for c in self.load.callers for k in c.failures]
        return any(k.startswith("create UNAVAILABLE") and re.search(CAUSE, k) for k in failures)

    async def finish(self) -> None:
        raised = await self.load.settle(SETTLE)
        db, runs = self.disk.db, self.cluster.run_lines()
        self.verdict = await verify(self.client, self.load.callers, db, runs)
        self.verdict.problems[:0] = raised


async def probe(client: DweClient) -> None:
    """A create while the disk is full fails with UNAVAILABLE naming the cause."""
    spec = build_workflow_spec("probe", DIAMOND, context=BIG)
    with pytest.raises(UnavailableError, match="the store could not commit: " + CAUSE):
        await client.create_workflow(spec, "probe-while-full")


@asynccontextmanager
async def disk_run(tmp_path: Path, disk: Disk, test: str) -> AsyncIterator[Run]:
    """A server on ``disk`` with two agents; reports the figures, fails on problems."""
    chosen, started = seed(), time.monotonic()
    cluster = Cluster(tmp_path, agents=2, seed=chosen, step_ms=50, db=disk.db)
    await cluster.start()
    try:
        async with fault_client(cluster.address) as client:
            run = Run(cluster, Load(client, random.Random(chosen)), client, disk)
            yield run
    finally:
        disk.free()
        tails = cluster.tails()
        await cluster.stop()
    figures = Figures.of(test, MODE, chosen, 1, run.verdict, started)
    figures.extra = {"disk": disk.kind, **run.extra, "retried": retried(run.load.callers)}
    figures.record()
    assert not run.verdict.problems, "\n".join(run.verdict.problems[:20]) + "\n" + tails


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_disk_full_then_space_returns(tmp_path: Path, round_: int) -> None:
    with small_disk(tmp_path, live=True) as disk:
        async with disk_run(tmp_path, disk, "disk-full") as run:
            await run.fill_under_load()
            disk.free()  # the server carries on by itself
            await run.finish()


async def test_disk_full_then_kill_and_restart(tmp_path: Path) -> None:
    """kill -9 while the disk is full; a server started before space returns either
    refuses to start, naming the cause, or answers UNAVAILABLE naming it; once space
    is back, a server on the same file finishes every acknowledged workflow."""
    with small_disk(tmp_path, live=False) as disk:
        async with disk_run(tmp_path, disk, "disk-full-restart") as run:
            await run.fill_under_load()
            server = run.cluster.server
            server.kill()
            if disk.kind != "tmpfs":
                run.load.launch(DURING)  # retried until a server can store them
            try:
                await server.start()
            except RuntimeError as refused:  # exited: its log names the cause
                assert re.search(CAUSE, str(refused)), refused
                run.extra["start before space returned"] = "exited naming the cause"
            else:
                await probe(run.client)
                run.extra["start before space returned"] = "served, UNAVAILABLE naming the cause"
            disk.free()
            if server.proc is None or server.proc.poll() is not None:
                await server.start()
            await run.finish()
