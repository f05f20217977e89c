"""``make bench``: the workloads of ../shared/bench/WORKLOADS.md against a real server.

Server and two agents run as separate processes (SQLite store, shipped durable
settings); this process is the client. Each workload runs once to warm up, then
3 times (1 with BENCH_QUICK=1); the table shows the median with min-max.
BENCH_JSON=path also writes the figures as JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import psutil

from dwe.clients.local import ServerProcess, start_agent, stop
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.server.store.opening import is_postgres
from dwe.v1 import enums_pb2

from .secure import secure

ROOT = Path(__file__).resolve().parent.parent
TERMINAL = {
    enums_pb2.EVENT_TYPE_WORKFLOW_COMPLETED,
    enums_pb2.EVENT_TYPE_WORKFLOW_FAILED,
    enums_pb2.EVENT_TYPE_WORKFLOW_CANCELLED,
    enums_pb2.EVENT_TYPE_WORKFLOW_TIMED_OUT,
}
DIAMOND = [
    {"step_id": "fetch", "agent_capability": "data_fetch"},
    {"step_id": "analyze", "agent_capability": "analysis", "dependencies": ["fetch"]},
    {"step_id": "history", "agent_capability": "memory", "dependencies": ["fetch"]},
    {
        "step_id": "recommend",
        "agent_capability": "recommendation",
        "dependencies": ["analyze", "history"],
    },
]


class Cluster:
    """dwe server + 2 no-op agent processes (+ 3 one-slot agents for M1/M2)."""

    def __init__(self, db: str, server_args: tuple[str, ...] = ()) -> None:
        t0 = time.perf_counter()
        self.server_process = ServerProcess(db, *server_args, cwd=ROOT)
        self.server = self.server_process.proc
        self.address = self.server_process.address
        self.server_start_s = time.perf_counter() - t0
        self.agents = [
            start_agent(
                "bench.agents:noop", self.address, {"DWE_BENCH_AGENT_ID": f"bench-{i}"}, cwd=ROOT
            )
            for i in range(2)
        ]
        for agent_id, caps in (("slot-a", "sleep,s0"), ("slot-b", "sleep2,s1"), ("slot-c", "s2")):
            env = {"DWE_BENCH_AGENT_ID": agent_id, "DWE_BENCH_CAPS": caps}
            self.agents.append(start_agent("bench.agents:slot", self.address, env, cwd=ROOT))
        self.proc = psutil.Process(self.server.pid)
        # BENCH_REPLICAS=3 on PostgreSQL: two standbys more, and the client calls one of
        # them, so every call and stream of the client is forwarded to the owner.
        self.standbys = [
            ServerProcess(db, *server_args, "--replica-id", f"standby-{i}", cwd=ROOT)
            for i in range(int(os.environ.get("BENCH_REPLICAS", "1")) - 1)
        ]
        self.client_address = self.standbys[0].address if self.standbys else self.address
        self.peak_rss = 0.0

    def sample_rss(self) -> None:
        with contextlib.suppress(psutil.Error):
            self.peak_rss = max(self.peak_rss, self.proc.memory_info().rss / 2**20)

    async def wait_agents(self, client: DweClient) -> float:
        t0 = time.perf_counter()
        while sum(a.connected for a in await client.list_agents()) < len(self.agents):
            if time.perf_counter() - t0 > 30:
                raise RuntimeError("agents did not connect")
            await asyncio.sleep(0.01)
        return time.perf_counter() - t0

    def stop(self) -> None:
        stop(self.agents)  # agents first, so none of them tries to reconnect
        for standby in self.standbys:
            standby.stop()
        self.server_process.stop()


async def _execute(client: DweClient, workflow_id: str, counter: list[int] | None = None) -> int:
    """Run a workflow to its end; returns the terminal event type."""
    async for event in client.execute_workflow(workflow_id):
        if counter is not None:
            counter[0] += 1
        if event.type in TERMINAL:
            return event.type
    raise RuntimeError(f"{workflow_id}: stream ended early")


def _check(kind: int, what: str) -> None:
    if kind != enums_pb2.EVENT_TYPE_WORKFLOW_COMPLETED:
        raise RuntimeError(f"{what} ended {enums_pb2.EventType.Name(kind)}")


async def w1(client: DweClient, cluster: Cluster) -> dict[str, float]:
    steps = [{"step_id": f"s{i}", "agent_capability": "analysis"} for i in range(2000)]
    steps.append(
        {
            "step_id": "aggregate",
            "agent_capability": "analysis",
            "dependencies": [f"s{i}" for i in range(2000)],
        }
    )
    created = await client.create_workflow(build_workflow_spec("W1", steps))
    t0 = time.perf_counter()
    _check(await _execute(client, created.workflow_id), "W1")
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "steps_per_s": 2001 / wall}


async def _w2(client: DweClient, watchers: int = 0) -> dict[str, float]:
    spec = build_workflow_spec("W2", DIAMOND)
    created = await asyncio.gather(*(client.create_workflow(spec) for _ in range(200)))
    ids = [c.workflow_id for c in created]
    delivered = [0]
    lags: list[float] = []
    watch_tasks = []

    async def watch(i: int) -> None:
        # Half follow one workflow each with WatchWorkflow, half all events with WatchEvents.
        stream = client.watch_workflow(ids[i % len(ids)]) if i % 2 == 0 else client.watch_events()
        seen = 0
        async for event in stream:
            delivered[0] += 1
            lags.append(time.time() - event.time.ToNanoseconds() / 1e9)
            if i % 2 == 1:
                if event.type == enums_pb2.EVENT_TYPE_WORKFLOW_COMPLETED:
                    seen += 1
                    if seen == len(ids):
                        return
            elif event.type in TERMINAL:
                return

    for i in range(watchers):
        watch_tasks.append(asyncio.create_task(watch(i)))
    if watchers:
        await asyncio.sleep(0.2)  # let the subscriptions open before the load starts
    latencies: list[float] = []

    async def one(wid: str) -> None:
        t = time.perf_counter()
        _check(await _execute(client, wid, delivered), "W2 workflow")
        latencies.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(w) for w in ids))
    wall = time.perf_counter() - t0
    if watch_tasks:
        await asyncio.wait_for(asyncio.gather(*watch_tasks), 60)
    total = time.perf_counter() - t0
    latencies.sort()
    out = {
        "wall_s": wall,
        "steps_per_s": 800 / wall,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }
    if watchers:
        out["events_per_s"] = delivered[0] / total
        out["events_delivered"] = float(delivered[0])
        out["max_lag_ms"] = 1000 * max(lags) if lags else 0.0
    return out


async def w2(client: DweClient, cluster: Cluster) -> dict[str, float]:
    return await _w2(client)


async def d5(client: DweClient, cluster: Cluster) -> dict[str, float]:
    """W2 with 5 dashboards open (bench/dashboards.py, a process of its own), right after
    W2 without: the throughput ratio of the pair (issue 11: at least 0.9)."""
    plain = await _w2(client)
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
        watched = await _w2(client)
        events = (await asyncio.to_thread(viewers.stdout.readline)).strip()  # all 400 seen
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
    }


async def w3(client: DweClient, cluster: Cluster) -> dict[str, float]:
    steps = [{"step_id": "s0", "agent_capability": "analysis"}] + [
        {"step_id": f"s{i}", "agent_capability": "analysis", "dependencies": [f"s{i - 1}"]}
        for i in range(1, 100)
    ]
    created = await client.create_workflow(build_workflow_spec("W3", steps))
    t0 = time.perf_counter()
    _check(await _execute(client, created.workflow_id), "W3")
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "per_step_ms": 1000 * wall / 100}


async def w4(client: DweClient, cluster: Cluster) -> dict[str, float]:
    return await _w2(client, watchers=20)


# M1: one long chain declared after short side steps; one slot per capability.
SIDES_AND_CHAIN = [
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
STAGES = [
    {"step_id": "source", "agent_capability": "s0"},
    {"step_id": "stage1", "agent_capability": "s1", "dependencies": ["source"]},
    {"step_id": "stage2", "agent_capability": "s2", "dependencies": ["stage1"]},
]


async def _compare(client: DweClient, steps: list[dict[str, Any]], mode: str) -> dict[str, float]:
    walls = {}
    for m in (mode, "parallel"):
        created = await client.create_workflow(build_workflow_spec(m, steps, execution_mode=m))
        t0 = time.perf_counter()
        _check(await _execute(client, created.workflow_id), f"{m} run")
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


WORKLOADS: dict[str, Callable[[DweClient, Cluster], Awaitable[dict[str, float]]]] = {
    "W1": w1,
    "W2": w2,
    "W3": w3,
    "W4": w4,
    "M1": m1,
    "M2": m2,
    "D5": d5,
}


def _summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    keys = runs[0].keys()
    out: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in keys}
    out["range"] = {k: [min(r[k] for r in runs), max(r[k] for r in runs)] for k in keys}
    return out


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
    if not is_postgres(db):
        return None
    import psycopg

    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def _steps(name: str, run: dict[str, float]) -> float:
    """Steps one run of a workload executed."""
    if name == "D5":  # two W2 runs: without and with the dashboards
        return 1600.0
    if "steps_per_s" in run:
        return run["steps_per_s"] * run["wall_s"]
    return 100.0 if name == "W3" else 1.0


async def main() -> dict[str, Any]:
    quick = os.environ.get("BENCH_QUICK") == "1"
    reps = 1 if quick else 3
    only = [w for w in os.environ.get("BENCH_ONLY", "").split(",") if w]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="dwe-bench-") as tmp, _database(tmp) as db:
        args = secure(Path(tmp)) if os.environ.get("BENCH_SECURE") == "1" else ()
        cluster = Cluster(db, args)
        try:
            async with DweClient(cluster.client_address) as client:
                agent_wait = await cluster.wait_agents(client)
                results["startup"] = {"server_s": cluster.server_start_s, "agents_s": agent_wait}
                for name, fn in WORKLOADS.items():
                    if only and name not in only:
                        continue
                    await fn(client, cluster)  # warm-up
                    cluster.sample_rss()
                    runs = []
                    before = _commits(db)
                    for _ in range(reps):
                        runs.append(await fn(client, cluster))
                        cluster.sample_rss()
                    results[name] = _summary(runs)
                    if before is not None:
                        steps = sum(_steps(name, r) for r in runs)
                        results[name]["pg_xacts_per_step"] = ((_commits(db) or 0) - before) / steps
                    print(f"  {name} done: {results[name]}", file=sys.stderr, flush=True)
            results["server_peak_rss_mb"] = cluster.peak_rss
        finally:
            cluster.stop()
    return results


def _fmt(r: dict[str, Any], key: str, unit: str = "") -> str:
    if key not in r:
        return "-"
    lo, hi = r["range"][key]
    digits = 2 if r[key] < 10 else 1
    return f"{r[key]:,.{digits}f}{unit} ({lo:,.{digits}f}-{hi:,.{digits}f})"


def report(results: dict[str, Any]) -> None:
    cpu = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    print(f"\ndwe benchmark ({cpu}); median (min-max)")
    print(f"{'workload':<9} {'wall s':<22} {'steps/s':<26} {'other':<40}")
    rows = [
        ("W1", "", ""),
        ("W2", "p50_ms", "p99_ms"),
        ("W3", "per_step_ms", ""),
        ("W4", "events_per_s", "max_lag_ms"),
    ]
    for name, a, b in rows:
        r = results.get(name)
        if not r:
            continue
        other = " ".join(f"{k}={_fmt(r, k)}" for k in (a, b) if k)
        if "pg_xacts_per_step" in r:
            other += f" pg_xacts_per_step={r['pg_xacts_per_step']:.3f}"
        print(f"{name:<9} {_fmt(r, 'wall_s'):<22} {_fmt(r, 'steps_per_s'):<26} {other}")
    if r := results.get("D5"):
        print(
            f"{'D5':<9} W2 with 5 dashboards open: {_fmt(r, 'steps_per_s')} vs "
            f"{_fmt(r, 'plain_steps_per_s')} steps/s without, ratio {_fmt(r, 'ratio')}"
        )
    for name, label in (("M1", "ADAPTIVE vs PARALLEL"), ("M2", "PIPELINE vs PARALLEL")):
        r = results.get(name)
        if r:
            print(
                f"{name:<9} {label}: {_fmt(r, 'wall_s', ' s')} vs "
                f"{_fmt(r, 'parallel_wall_s', ' s')}, ratio {_fmt(r, 'ratio')}"
            )
    print(
        f"server peak RSS: {results.get('server_peak_rss_mb', 0):.1f} MiB; "
        f"start-up: server {results['startup']['server_s']:.2f}s, "
        f"agents {results['startup']['agents_s']:.2f}s"
    )


if __name__ == "__main__":
    figures = asyncio.run(main())
    report(figures)
    path = os.environ.get("BENCH_JSON")
    if path:
        Path(path).write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
