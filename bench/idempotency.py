"""Memory of idempotency keys: 100,000 creates with distinct request ids.

``python -m bench.idempotency [N]`` drives a Coordinator on a real SQLite file
(no gRPC, so the figure is the server's own) and prints how many keys stay in
memory and the process RSS before and after. Each workflow is cancelled once
created, so ended runs are evicted as they are in a long-running server and
only the idempotency cache could grow.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

import psutil

from dwe.server.api.event_codec import event_bytes
from dwe.server.engine.model import StepSpec, WorkflowSpec
from dwe.server.runtime.coordinator import Coordinator
from dwe.server.store.sqlite import SqliteStore

SPEC = WorkflowSpec(name="idem", steps=(StepSpec("a", capability="c"),))
BATCH = 1000


async def run(n: int, db: Path) -> dict[str, float]:
    proc = psutil.Process()
    store = SqliteStore(db)
    coordinator = Coordinator(store, event_bytes)
    await coordinator.open()
    rss0 = proc.memory_info().rss / 2**20
    t0 = time.perf_counter()
    for start in range(0, n, BATCH):
        created = await asyncio.gather(
            *(coordinator.create_workflow(SPEC, f"req-{i}") for i in range(start, start + BATCH))
        )
        await asyncio.gather(*(coordinator.cancel_workflow(wid) for wid, _ in created))
    wall = time.perf_counter() - t0
    _, fresh = await coordinator.create_workflow(SPEC, "req-0")  # long evicted from memory
    out = {
        "creates": float(n),
        "cached_request_ids": float(coordinator.cached_requests()),
        "runs_in_memory": float(coordinator.stats().runs_in_memory),
        "rss_before_mb": rss0,
        "rss_after_mb": proc.memory_info().rss / 2**20,
        "creates_per_s": n / wall,
        "repeat_of_first_key_created": float(fresh),
    }
    await coordinator.close()
    store.close()
    return out


def main() -> None:
    logging.disable(logging.WARNING)  # one line per cancelled run is not the point here
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        figures = asyncio.run(run(n, Path(tmp) / "idem.db"))
    for key, value in figures.items():
        print(f"{key:28} {value:,.1f}")


if __name__ == "__main__":
    main()
