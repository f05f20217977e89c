"""W2 on a server started with ``--sqlite-synchronous FULL``, beside one on the default.

Two fresh servers (same agents: two no-op processes each, same history) run side
by side; W2 through the guide API alternates between them, the order swapped on
every pair, so each pair shares the machine's mood. The ratio is FULL / NORMAL
per pair (steps/s; p99).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dwe.clients.typed import DweClient

from .cluster import STANDARD_AGENTS, Cluster
from .common import summary
from .guide_api import close_engines, engine_for, run_w2_guide


async def w2_full(tmp: Path, reps: int) -> dict[str, Any]:
    """``2 * reps`` pairs of W2 (guide API), NORMAL and FULL, after a warm-up of each."""
    agents = STANDARD_AGENTS[:2]
    servers = {
        "normal": Cluster(str(tmp / "normal.db"), (), agents),
        "full": Cluster(str(tmp / "full.db"), ("--sqlite-synchronous", "FULL"), agents),
    }
    try:
        for cluster in servers.values():
            async with DweClient(cluster.client_address) as client:
                await cluster.wait_agents(client)
        engines = {name: engine_for(c.client_address) for name, c in servers.items()}
        for engine in engines.values():
            await run_w2_guide(engine)  # warm-up
        runs = []
        for i in range(2 * reps):
            order = ["normal", "full"] if i % 2 == 0 else ["full", "normal"]
            got = {name: await run_w2_guide(engines[name]) for name in order}
            a, b = got["normal"], got["full"]
            runs.append(
                {
                    "normal_steps_per_s": a["steps_per_s"],
                    "full_steps_per_s": b["steps_per_s"],
                    "normal_p99_ms": a["p99_ms"],
                    "full_p99_ms": b["p99_ms"],
                    "ratio_steps_per_s": b["steps_per_s"] / a["steps_per_s"],
                    "ratio_p99": b["p99_ms"] / a["p99_ms"],
                }
            )
        return summary(runs)
    finally:
        await close_engines()
        for cluster in servers.values():
            cluster.stop()
