"""W2 on a second server started with ``--sqlite-synchronous FULL``, beside the default.

Both servers run side by side (each with its two no-op agents); W2 through the
guide API alternates between them, NORMAL then FULL, so each pair shares the
machine's mood. The ratio is FULL / NORMAL per pair (steps/s; p99).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dwe.clients.typed import DweClient

from .cluster import STANDARD_AGENTS, Cluster
from .common import summary
from .guide_api import engine_for, run_w2_guide


async def w2_full(normal: Cluster, tmp: Path, reps: int) -> dict[str, Any]:
    """Pairs of W2 (guide API): ``normal``'s server, then a FULL one started here."""
    full = Cluster(str(tmp / "full.db"), ("--sqlite-synchronous", "FULL"), STANDARD_AGENTS[:2])
    try:
        async with DweClient(full.client_address) as client:
            await full.wait_agents(client)
        on_normal, on_full = engine_for(normal.client_address), engine_for(full.client_address)
        await run_w2_guide(on_full)  # warm-up
        runs = []
        for _ in range(reps):
            a = await run_w2_guide(on_normal)
            b = await run_w2_guide(on_full)
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
        full.stop()
