"""``make soak``: W7, W2 diamonds at half of W2's measured throughput for 10 minutes.

One server and two no-op agent processes. First W2 (guide API, a warm-up and 3
runs) gives the throughput; then diamonds arrive on a fixed schedule (open loop:
the i-th is created at i / rate seconds, whether or not earlier ones ended),
each created and followed to its end through the guide API. Per window (a
minute; SOAK_WINDOW seconds) the table shows the server's RSS at the window's
end and the p99 latency of the workflows created in it, and the growth from
the first window to the last. SOAK_SECONDS shortens the run; BENCH_JSON=path
writes the figures.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import psutil

from dwe.clients.engine import DynamicWorkflowEngine
from dwe.clients.typed import DweClient

from .cluster import STANDARD_AGENTS, Cluster
from .common import DIAMOND, percentile
from .guide_api import close_engines, engine_for, run_w2_guide

SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
WINDOW = float(os.environ.get("SOAK_WINDOW", str(min(60.0, SECONDS / 5))))


def _own_rss_mib() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


class Soak:
    """Open-loop arrivals at ``rate`` workflows/s; latency and RSS by window."""

    def __init__(self, engine: DynamicWorkflowEngine, cluster: Cluster, rate: float) -> None:
        self.engine, self.cluster, self.rate = engine, cluster, rate
        self.latencies: list[tuple[float, float]] = []  # (created at, latency), s
        self.rss: list[tuple[float, float]] = []  # (at, MiB)
        self.client_rss: list[tuple[float, float]] = []  # this process's, (at, MiB)
        self.failed = 0
        self.t0 = 0.0

    async def one(self, i: int) -> None:
        t = time.perf_counter()
        workflow = await self.engine.create_workflow(f"W7 {i}", steps=DIAMOND)
        last = ""
        async for event in self.engine.execute_workflow(workflow):
            last = event["event"]
        if last != "workflow_completed":
            self.failed += 1
        self.latencies.append((t - self.t0, time.perf_counter() - t))

    async def sample(self) -> None:
        while True:
            at = time.perf_counter() - self.t0
            self.rss.append((at, self.cluster.rss_mib()))
            self.client_rss.append((at, _own_rss_mib()))
            await asyncio.sleep(min(5.0, WINDOW / 4))

    async def run(self, seconds: float) -> None:
        self.t0 = time.perf_counter()
        sampler = asyncio.create_task(self.sample())
        # Only the callers still running are held: a list of every task would keep
        # each finished one (about 0.7 KiB), and the client's own garbage collections
        # over that growing heap showed up as a growing p99.
        running: set[asyncio.Task[None]] = set()
        i = 0
        while (due := i / self.rate) < seconds:
            delay = self.t0 + due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self.one(i))
            running.add(task)
            task.add_done_callback(running.discard)
            i += 1
        await asyncio.wait_for(asyncio.gather(*running), 120)
        if sampler.done():  # it never ends by itself: a failed sampler fails the soak
            sampler.result()
        sampler.cancel()

    def windows(self, seconds: float) -> list[dict[str, float]]:
        out = []
        for k in range(int(seconds // WINDOW)):
            lo, hi = k * WINDOW, (k + 1) * WINDOW
            lat = [x for at, x in self.latencies if lo <= at < hi]
            rss = [m for at, m in self.rss if lo <= at < hi]
            mine = [m for at, m in self.client_rss if lo <= at < hi]
            out.append(
                {
                    "window": float(k + 1),
                    "workflows": float(len(lat)),
                    "p50_ms": 1000 * percentile(lat, 50) if lat else 0.0,
                    "p99_ms": 1000 * percentile(lat, 99) if lat else 0.0,
                    "rss_mib": rss[-1] if rss else 0.0,
                    "client_rss_mib": mine[-1] if mine else 0.0,
                }
            )
        return out


async def soak() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="dwe-soak-") as tmp:
        cluster = Cluster(str(Path(tmp) / "soak.db"), agents=STANDARD_AGENTS[:2])
        try:
            async with DweClient(cluster.client_address) as client:
                await cluster.wait_agents(client)
            engine = engine_for(cluster.client_address)
            await run_w2_guide(engine)  # warm-up
            w2 = statistics.median([(await run_w2_guide(engine))["steps_per_s"] for _ in range(3)])
            rate = w2 / 2 / len(DIAMOND)
            print(f"W2 {w2:,.0f} steps/s: soak at {rate:.1f} diamonds/s", file=sys.stderr)
            run = Soak(engine, cluster, rate)
            await run.run(SECONDS)
            windows = run.windows(SECONDS)
        finally:
            await close_engines()
            cluster.stop()
    first, last = windows[0], windows[-1]
    return {
        "w2_steps_per_s": w2,
        "rate_workflows_per_s": rate,
        "seconds": SECONDS,
        "window_s": WINDOW,
        "failed": run.failed,
        "windows": windows,
        "rss_growth_pct": 100 * (last["rss_mib"] / first["rss_mib"] - 1),
        "p99_growth_pct": 100 * (last["p99_ms"] / first["p99_ms"] - 1),
    }


def report(r: dict[str, Any]) -> None:
    print(
        f"\nW7 soak: {r['seconds']:.0f} s at {r['rate_workflows_per_s']:.1f} diamonds/s "
        f"(half of W2's {r['w2_steps_per_s']:,.0f} steps/s, guide API); failed {r['failed']}"
    )
    print(
        f"{'window':>6} {'end s':>6} {'workflows':>9} {'p50 ms':>8} {'p99 ms':>8} {'RSS MiB':>8}"
        f" {'client MiB':>10}"
    )
    for w in r["windows"]:
        end = w["window"] * r["window_s"]
        print(
            f"{w['window']:>6.0f} {end:>6.0f} {w['workflows']:>9.0f} {w['p50_ms']:>8.1f} "
            f"{w['p99_ms']:>8.1f} {w['rss_mib']:>8.1f} {w['client_rss_mib']:>10.1f}"
        )
    print(
        f"growth first -> last window: RSS {r['rss_growth_pct']:+.1f} %, "
        f"p99 {r['p99_growth_pct']:+.1f} %"
    )


if __name__ == "__main__":
    figures = asyncio.run(soak())
    report(figures)
    if path := os.environ.get("BENCH_JSON"):
        Path(path).write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
