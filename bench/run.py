"""``make bench``: the workloads of ../shared/bench/WORKLOADS.md against a real server.

Server and two agents run as separate processes (SQLite store, shipped durable
settings); this process is the client. Each workload runs once to warm up, then
3 times (1 with BENCH_QUICK=1); the table shows the median with min-max. Every
clock starts before the first CreateWorkflow call. W2 runs through the typed
client (W2) and the guide's DynamicWorkflowEngine (W2G); W2F alternates W2G
between two fresh servers, one on ``--sqlite-synchronous FULL``. W2F, W5 and W6
start servers of their own; BENCH_QUICK=1 leaves them out unless BENCH_ONLY names them.

BENCH_ONLY=W1,W2G runs only those; BENCH_JSON=path also writes the figures as
JSON; BENCH_PROFILE=path records the server with py-spy during the measured W2G
runs (BENCH_PROFILE_WORKLOAD=W1: that workload's instead) and prints the
profile's top entries (BENCH_PROFILE_ARGS: more py-spy flags).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from dwe.clients.typed import DweClient
from dwe.server.store.opening import is_postgres

from . import durability, scale
from .cluster import ROOT, Cluster
from .common import pg_commits, summary
from .guide_api import close_engines, w2_guide
from .profile import PySpy
from .report import report
from .secure import secure
from .workloads import m1, m2, run_w2, w1, w2, w3, w4

Workload = Callable[[DweClient, Cluster], Awaitable[dict[str, float]]]


async def d5(client: DweClient, cluster: Cluster) -> dict[str, float]:
    """W2 with 5 dashboards open (bench/dashboards.py, a process of its own), right after
    W2 without: the throughput ratio of the pair (issue 11: at least 0.9), and the
    server's CPU seconds per step with them over without (their own process shares
    this machine's two cores, where browsers would not)."""
    cpu = cluster.server_cpu_s
    before = cpu()
    plain = await run_w2(client)
    plain_cpu = cpu() - before
    url = cluster.server_process.http_url
    viewers = subprocess.Popen(
        [sys.executable, "-m", "bench.dashboards", url, "5", "400"],  # 200 x started, ended
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert viewers.stdin is not None and viewers.stdout is not None
    try:
        if (await asyncio.to_thread(viewers.stdout.readline)).strip() != "open":
            raise RuntimeError("the dashboards did not open")
        before = cpu()
        watched = await run_w2(client)
        events = (await asyncio.to_thread(viewers.stdout.readline)).strip()  # all 400 seen
        watched_cpu = cpu() - before
    finally:
        viewers.stdin.close()
        viewers.wait(15)
    if events != f"events {5 * 400}":
        raise RuntimeError(f"the dashboards missed events: {events!r}")
    return {
        "wall_s": watched["wall_s"],
        "steps_per_s": watched["steps_per_s"],
        "plain_steps_per_s": plain["steps_per_s"],
        "ratio": watched["steps_per_s"] / plain["steps_per_s"],
        "server_cpu_ratio": watched_cpu / plain_cpu,
    }


WORKLOADS: dict[str, Workload] = {
    "W1": w1,
    "W2": w2,
    "W2G": w2_guide,
    "W3": w3,
    "W4": w4,
    "M1": m1,
    "M2": m2,
    "D5": d5,
}


@contextlib.contextmanager
def _database(tmp: str) -> Iterator[str]:
    """A SQLite file, or with BENCH_STORE=postgres a database on a private PostgreSQL
    cluster with PostgreSQL's durable defaults (fsync and synchronous commit on)."""
    if os.environ.get("BENCH_STORE") != "postgres":
        yield os.path.join(tmp, "bench.db")
        return
    from tests.support import postgres

    bin_dir = postgres.binaries()
    if bin_dir is None:
        raise SystemExit("BENCH_STORE=postgres needs PostgreSQL (initdb) installed")
    pg = postgres.Cluster(bin_dir, durable=True)
    try:
        yield pg.database()
    finally:
        pg.stop()


def _commits(db: str) -> int | None:
    """PostgreSQL: transactions committed in the database so far (None on SQLite)."""
    return pg_commits(db) if is_postgres(db) else None


def _steps(name: str, run: dict[str, float]) -> float:
    """Steps one run of a workload executed."""
    if name == "D5":  # two W2 runs: without and with the dashboards
        return 1600.0
    if "steps_per_s" in run:
        return run["steps_per_s"] * run["wall_s"]
    return 100.0 if name == "W3" else 1.0


def _selected(name: str) -> bool:
    """BENCH_ONLY's workloads, else all (W5 and W6 only when asked, with BENCH_QUICK=1)."""
    only = [w for w in os.environ.get("BENCH_ONLY", "").split(",") if w]
    if only:
        return name in only
    return not (os.environ.get("BENCH_QUICK") == "1" and name in ("W5", "W6"))


async def _measure(
    name: str, fn: Workload, client: DweClient, cluster: Cluster, db: str, reps: int
) -> dict[str, Any]:
    """A warm-up, then ``reps`` runs (under py-spy for W2G with BENCH_PROFILE)."""
    await fn(client, cluster)  # warm-up
    cluster.sample_rss()
    runs = []
    before = _commits(db)
    profiled = os.environ.get("BENCH_PROFILE_WORKLOAD", "W2G")
    profile = os.environ.get("BENCH_PROFILE") if name == profiled else None
    extra = os.environ.get("BENCH_PROFILE_ARGS", "")  # more py-spy flags, e.g. --gil
    with PySpy(cluster.server.pid, profile, extra=extra) if profile else contextlib.nullcontext():
        for _ in range(reps):
            runs.append(await fn(client, cluster))
            cluster.sample_rss()
    result = summary(runs)
    if before is not None:
        steps = sum(_steps(name, r) for r in runs)
        result["pg_xacts_per_step"] = ((_commits(db) or 0) - before) / steps
    print(f"  {name} done: {result}", file=sys.stderr, flush=True)
    return result


async def _on_main_server(db: str, tmp: Path, reps: int, results: dict[str, Any]) -> None:
    """Every workload that runs on the main server."""
    args = secure(tmp) if os.environ.get("BENCH_SECURE") == "1" else ()
    cluster = Cluster(db, args)
    try:
        async with DweClient(cluster.client_address) as client:
            agent_wait = await cluster.wait_agents(client)
            results["startup"] = {"server_s": cluster.server_start_s, "agents_s": agent_wait}
            for name, fn in WORKLOADS.items():
                if _selected(name):
                    results[name] = await _measure(name, fn, client, cluster, db, reps)
        results["server_peak_rss_mb"] = cluster.peak_rss
    finally:
        await close_engines()
        cluster.stop()


async def main() -> dict[str, Any]:
    reps = 1 if os.environ.get("BENCH_QUICK") == "1" else 3
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="dwe-bench-") as tmp, _database(tmp) as db:
        if any(_selected(name) for name in WORKLOADS):
            await _on_main_server(db, Path(tmp), reps, results)
        for name, fn in (("W2F", durability.w2_full), ("W5", scale.w5), ("W6", scale.w6)):
            if _selected(name) and not (name == "W2F" and is_postgres(db)):
                results[name] = await fn(Path(tmp), reps)
                print(f"  {name} done: {results[name]}", file=sys.stderr, flush=True)
    return results


if __name__ == "__main__":
    figures = asyncio.run(main())
    report(figures)
    if profile := os.environ.get("BENCH_PROFILE"):
        from .profile import print_top

        print_top(profile)
    path = os.environ.get("BENCH_JSON")
    if path:
        Path(path).write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
