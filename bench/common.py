"""What the workloads share: the diamond, terminal events, running one workflow, summaries."""

from __future__ import annotations

import statistics
from typing import Any, cast

from dwe.clients.typed import DweClient
from dwe.v1 import enums_pb2
from tests.support import specs

TERMINAL = {
    enums_pb2.EVENT_TYPE_WORKFLOW_COMPLETED,
    enums_pb2.EVENT_TYPE_WORKFLOW_FAILED,
    enums_pb2.EVENT_TYPE_WORKFLOW_CANCELLED,
    enums_pb2.EVENT_TYPE_WORKFLOW_TIMED_OUT,
}
#: The guide's 4-step diamond (WORKLOADS.md W2), the tests' own.
DIAMOND: list[dict[str, Any]] = cast(list[dict[str, Any]], specs.DIAMOND)
DIAMOND_CAPABILITIES = ["data_fetch", "analysis", "memory", "recommendation"]


async def execute(client: DweClient, workflow_id: str, counter: list[int] | None = None) -> int:
    """Run a workflow to its end; returns the terminal event type."""
    async for event in client.execute_workflow(workflow_id):
        if counter is not None:
            counter[0] += 1
        if event.type in TERMINAL:
            return event.type
    raise RuntimeError(f"{workflow_id}: stream ended early")


def check(kind: int, what: str) -> None:
    """Raise unless ``kind`` is WORKFLOW_COMPLETED."""
    if kind != enums_pb2.EVENT_TYPE_WORKFLOW_COMPLETED:
        raise RuntimeError(f"{what} ended {enums_pb2.EventType.Name(kind)}")


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank below, as the W2 figures always were)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def latency_figures(wall: float, steps: int, latencies: list[float]) -> dict[str, float]:
    """wall_s, steps_per_s, p50_ms, p99_ms of one W2-shaped run."""
    return {
        "wall_s": wall,
        "steps_per_s": steps / wall,
        "p50_ms": 1000 * percentile(latencies, 50),
        "p99_ms": 1000 * percentile(latencies, 99),
    }


def summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    """Median of each figure over the runs, with its min-max under ``range``."""
    keys = runs[0].keys()
    out: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in keys}
    out["range"] = {k: [min(r[k] for r in runs), max(r[k] for r in runs)] for k in keys}
    return out


def fmt(r: dict[str, Any], key: str, unit: str = "") -> str:
    """``median (min-max)`` of one figure of a summary; ``-`` when absent."""
    if key not in r:
        return "-"
    lo, hi = r.get("range", {}).get(key, [r[key], r[key]])
    digits = 2 if r[key] < 10 else 1
    return f"{r[key]:,.{digits}f}{unit} ({lo:,.{digits}f}-{hi:,.{digits}f})"


def pg_commits(url: str) -> int:
    """PostgreSQL: transactions committed in the database of ``url`` so far."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0
