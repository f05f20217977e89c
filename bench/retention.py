"""``make bench-retention``: database growth with and without retention, and the cost of FULL.

Real processes: a ``dwe server`` and two no-op agents per server (bench/agents.py),
the databases on the disk of the working directory (not tmpfs, where an fsync
is free). This process is the client.

1. Growth: rounds of 1,000 W2 diamonds (4 steps each). Without retention the
   database only grows. With retention, after each round the workflows that ended
   before the previous round ended are pruned (``PruneWorkflows``), so one round is
   kept: once on a new database (``auto_vacuum=INCREMENTAL``, the file shrinks) and
   once on a database created before schema 5 (``auto_vacuum=NONE``: freed pages
   are reused, the file stops growing but does not shrink). Sizes are SQLite's own
   (page_count x page_size, as of the last commit, WAL included), read after each
   round, and the file on disk after the server stopped.
2. ``--sqlite-synchronous FULL`` against NORMAL: two servers side by side, W2
   (200 diamonds at once) alternating between them, ``BENCH_REPS`` times each;
   and, steadier on a noisy VM, the time of one commit on its own: the store
   (no server) writing small batches (a workflow update, a step update, two
   events), alternating blocks of NORMAL and FULL.

``BENCH_ROUNDS`` (default 5) and ``BENCH_REPS`` (default 10) size the runs;
``BENCH_JSON=path`` also writes the figures as JSON.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench.cluster import ROOT
from bench.common import DIAMOND
from bench.common import check as _check
from bench.common import execute as _execute
from bench.workloads import run_w2 as _w2
from dwe.clients.local import ServerProcess, start_agent, stop
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.server.engine.model import StepSpec, WorkflowSpec
from dwe.server.engine.runs import WorkflowRun
from dwe.server.store import mapping
from dwe.server.store.rows import EventRow, WriteBatch
from dwe.server.store.sqlite import SqliteStore

PER_ROUND = 1000
CONCURRENT = 200  # diamonds in flight at once
MiB = 2**20


class Node:
    """A dwe server with two no-op agent processes."""

    def __init__(self, db: Path, *server_args: str) -> None:
        self.server = ServerProcess(db, *server_args, cwd=ROOT)
        self.address = self.server.address
        self.agents = [
            start_agent(
                "bench.agents:noop", self.address, {"DWE_BENCH_AGENT_ID": f"bench-{i}"}, cwd=ROOT
            )
            for i in range(2)
        ]

    async def ready(self, client: DweClient) -> None:
        deadline = time.monotonic() + 30
        while sum(a.connected for a in await client.list_agents()) < len(self.agents):
            if time.monotonic() > deadline:
                raise RuntimeError("agents did not connect")
            await asyncio.sleep(0.01)

    def stop(self) -> None:
        stop(self.agents)
        self.server.stop()


async def diamonds(client: DweClient, n: int) -> None:
    """Run ``n`` W2 diamonds to completion, CONCURRENT at a time."""
    spec = build_workflow_spec("W2", DIAMOND)
    for start in range(0, n, CONCURRENT):
        created = await asyncio.gather(
            *(client.create_workflow(spec) for _ in range(min(CONCURRENT, n - start)))
        )
        kinds = await asyncio.gather(*(_execute(client, c.workflow_id) for c in created))
        for kind in kinds:
            _check(kind, "W2 diamond")


def sqlite_size(db: Path) -> dict[str, float]:
    """The database's size as SQLite sees it (WAL included), and its free pages, in MiB."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA query_only=ON")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        workflows = conn.execute("SELECT COUNT(*) FROM workflows").fetchone()[0]
    finally:
        conn.close()
    return {"size_mib": pages * page / MiB, "free_mib": free * page / MiB, "workflows": workflows}


async def growth(db: Path, rounds: int, prune: bool) -> dict[str, Any]:
    """Rounds of PER_ROUND diamonds; with ``prune``, keep only the last round after each."""
    node = Node(db)
    per_round: list[dict[str, float]] = []
    try:
        async with DweClient(node.address) as client:
            await node.ready(client)
            ends: list[float] = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                await diamonds(client, PER_ROUND)
                row: dict[str, float] = {"run_s": time.perf_counter() - t0}
                ends.append(time.time())
                if prune and len(ends) > 1:
                    t0 = time.perf_counter()
                    pruned = await client.prune_workflows(time.time() - ends[-2])
                    row |= {"pruned": pruned.workflows, "pruned_events": pruned.events}
                    row["prune_s"] = time.perf_counter() - t0
                per_round.append(row | sqlite_size(db))
    finally:
        node.stop()
    sizes = [r["size_mib"] for r in per_round]
    return {
        "rounds": per_round,
        "growth_mib_per_1000": (sizes[-1] - sizes[0]) / max(len(sizes) - 1, 1),
        "file_mib_after_stop": db.stat().st_size / MiB,
    }


def old_database(db: Path) -> None:
    """An empty file in WAL mode: the server migrates it, but auto_vacuum stays NONE,
    as in every database created before schema 5."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()


async def sync_cost(tmp: Path, reps: int) -> dict[str, Any]:
    """W2 steps/s with synchronous NORMAL and FULL, alternating, in the same run."""
    modes = ("NORMAL", "FULL")
    nodes = {m: Node(tmp / f"sync-{m.lower()}.db", "--sqlite-synchronous", m) for m in modes}
    runs: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    try:
        clients = {m: DweClient(nodes[m].address) for m in modes}
        for m in modes:
            await nodes[m].ready(clients[m])
            await _w2(clients[m])  # warm-up
        for i in range(reps):
            for m in modes if i % 2 == 0 else reversed(modes):
                runs[m].append(await _w2(clients[m]))
        for c in clients.values():
            await c.close()
    finally:
        for node in nodes.values():
            node.stop()
    out: dict[str, Any] = {}
    for m in modes:
        steps = [r["steps_per_s"] for r in runs[m]]
        p99 = [r["p99_ms"] for r in runs[m]]
        out[m] = {"steps_per_s": statistics.median(steps), "all": steps, "p99_ms": p99}
        out[m]["p99_median_ms"] = statistics.median(p99)
    pairs = [f / n for f, n in zip(out["FULL"]["all"], out["NORMAL"]["all"], strict=True)]
    out["full_over_normal"] = statistics.median(pairs)
    out["pair_ratios"] = pairs
    return out


def commit_cost(tmp: Path, blocks: int = 10, per_block: int = 200) -> dict[str, Any]:
    """Milliseconds per commit of a small batch, NORMAL and FULL, in alternating blocks."""
    spec = WorkflowSpec("c", (StepSpec("a", capability="c"),))
    stores = {m: SqliteStore(tmp / f"commit-{m.lower()}.db", m) for m in ("NORMAL", "FULL")}
    times: dict[str, list[float]] = {m: [] for m in stores}
    try:
        runs = {}
        for m, store in stores.items():
            run = runs[m] = WorkflowRun(f"w-{m}", spec, 1.0)
            row, steps = mapping.workflow_insert(run.id, "", spec, 1.0)
            store.write(WriteBatch(new_workflows=[row], new_steps=steps))
        seq = 0
        for b in range(blocks):
            for m in stores if b % 2 == 0 else reversed(list(stores)):
                run = runs[m]
                for _ in range(per_block):
                    seq += 2
                    events = [EventRow(run.id, s, "agent_stream", 1.0, "a", 1, "", b"x" * 200)
                              for s in (seq - 1, seq)]  # fmt: skip
                    batch = WriteBatch(
                        workflow_updates=[mapping.workflow_update(run)],
                        step_updates=[mapping.step_update(run.steps["a"])],
                        events=events,
                    )
                    t0 = time.perf_counter()
                    stores[m].write(batch)
                    times[m].append(1000 * (time.perf_counter() - t0))
    finally:
        for store in stores.values():
            store.close()
    out: dict[str, Any] = {m: statistics.median(t) for m, t in times.items()}
    out["p90"] = {m: sorted(t)[int(0.9 * len(t))] for m, t in times.items()}
    out["commits"] = len(times["FULL"])
    return out


async def main() -> dict[str, Any]:
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    reps = int(os.environ.get("BENCH_REPS", "10"))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="dwe-bench-retention-", dir=".") as name:
        tmp = Path(name)
        results["no_retention"] = await growth(tmp / "keep.db", rounds, prune=False)
        results["retention"] = await growth(tmp / "prune.db", rounds, prune=True)
        old_database(tmp / "old.db")
        results["retention_old_file"] = await growth(tmp / "old.db", rounds, prune=True)
        results["synchronous"] = await sync_cost(tmp, reps)
        results["commit_ms"] = commit_cost(tmp)
    return results


def report(r: dict[str, Any]) -> None:
    print(f"\ndwe retention benchmark ({os.cpu_count()} cores, Python {sys.version.split()[0]})")
    print(f"rounds of {PER_ROUND:,} W2 diamonds; size = SQLite pages after the round (MiB)")
    for key, label in (
        ("no_retention", "no retention"),
        ("retention", "retention, keep 1 round, new file (auto_vacuum INCREMENTAL)"),
        ("retention_old_file", "retention, keep 1 round, pre-5 file (auto_vacuum NONE)"),
    ):
        g = r[key]
        sizes = ", ".join(f"{x['size_mib']:.1f}" for x in g["rounds"])
        free = ", ".join(f"{x['free_mib']:.1f}" for x in g["rounds"])
        print(f"  {label}:\n    size {sizes}\n    free {free}")
        prunes = [x["prune_s"] for x in g["rounds"] if "prune_s" in x]
        if prunes:
            print(f"    prune of {PER_ROUND:,} diamonds: {statistics.median(prunes):.2f} s median")
        print(
            f"    growth {g['growth_mib_per_1000']:.2f} MiB per 1,000;"
            f" file after stop {g['file_mib_after_stop']:.1f} MiB"
        )
    s = r["synchronous"]
    print("W2 (200 diamonds) steps/s, median of alternating runs:")
    for m in ("NORMAL", "FULL"):
        runs = ", ".join(f"{x:,.0f}" for x in s[m]["all"])
        print(
            f"  {m:<6} {s[m]['steps_per_s']:,.0f} (runs {runs}); p99 {s[m]['p99_median_ms']:.0f} ms"
        )
    ratios = ", ".join(f"{x:.2f}" for x in s["pair_ratios"])
    print(f"  FULL / NORMAL: {s['full_over_normal']:.2f} (pairs {ratios})")
    c = r["commit_ms"]
    print(f"one commit of a small batch, median (p90) of {c['commits']:,} each:")
    for m in ("NORMAL", "FULL"):
        print(f"  {m:<6} {c[m]:.3f} ms ({c['p90'][m]:.3f} ms)")
    print(f"  FULL / NORMAL: {c['FULL'] / c['NORMAL']:.1f}x")


if __name__ == "__main__":
    figures = asyncio.run(main())
    report(figures)
    path = os.environ.get("BENCH_JSON")
    if path:
        Path(path).write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
