"""``make bench-placement``: what the placement candidates of issue 10 would cost per
step on PostgreSQL, measured on a private cluster with its durable defaults.

Replicas forwarding to one owner (what dwe does) add no PostgreSQL work per step:
the owner's group commit stores a whole batch of steps in one transaction
(``make bench-postgres`` reports pg_xacts_per_step). The other two candidates need
a claim in PostgreSQL for every dispatch:

* a ready queue in PostgreSQL: replicas take steps with ``FOR UPDATE SKIP LOCKED``;
* agents connected to every replica: the agent's slots (max_concurrent_tasks) and
  the priority order are shared state, so each dispatch claims a slot row the same
  way.

This measures that claim: steps enqueued in batches of 100 (as a group commit
would), then dispatchers (threads, each with its own connection, as replicas) that
claim up to B ready steps per transaction in priority order and mark them done in
a second one. It reports steps/s and PostgreSQL transactions per step.
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

import psycopg

from tests.support import postgres

from .common import pg_commits

STEPS = 20_000
_SCHEMA = (
    "CREATE TABLE ready (id BIGSERIAL PRIMARY KEY, lane TEXT NOT NULL, priority INT NOT NULL,"
    " payload BYTEA NOT NULL, state SMALLINT NOT NULL DEFAULT 0, owner TEXT)",
    "CREATE INDEX ready_pick ON ready (lane, priority DESC, id) WHERE state = 0",
)
_CLAIM = (
    "UPDATE ready SET state = 1, owner = %s WHERE id IN (SELECT id FROM ready"
    " WHERE state = 0 AND lane = 'analysis' ORDER BY priority DESC, id"
    " LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id"
)
_DONE = "UPDATE ready SET state = 2 WHERE id = ANY(%s)"


def _enqueue(url: str) -> None:
    with psycopg.connect(url) as conn:
        rows = [("analysis", i % 3, b'{"i": %d}' % i) for i in range(STEPS)]
        for start in range(0, STEPS, 100):
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO ready (lane, priority, payload) VALUES (%s, %s, %s)",
                    rows[start : start + 100],
                )


def _dispatch(url: str, name: str, batch: int, taken: list[int]) -> None:
    with psycopg.connect(url) as conn:
        while True:
            with conn.transaction():
                ids = [r[0] for r in conn.execute(_CLAIM, (name, batch)).fetchall()]
            if not ids:
                return
            with conn.transaction():
                conn.execute(_DONE, (ids,))
            taken.append(len(ids))


def run_once(url: str, dispatchers: int, batch: int) -> dict[str, float]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS ready")
        for statement in _SCHEMA:
            conn.execute(statement)
    _enqueue(url)
    before = pg_commits(url)
    taken: list[int] = []
    threads = [
        threading.Thread(target=_dispatch, args=(url, f"replica-{i}", batch, taken))
        for i in range(dispatchers)
    ]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if sum(taken) != STEPS:
        raise RuntimeError(f"claimed {sum(taken)} of {STEPS} steps")
    return {"steps_per_s": STEPS / wall, "xacts_per_step": (pg_commits(url) - before) / STEPS}


def main() -> None:
    bin_dir = postgres.binaries()
    if bin_dir is None:
        raise SystemExit("bench-placement needs PostgreSQL (initdb) installed")
    cluster = postgres.Cluster(bin_dir, durable=True)
    try:
        url = cluster.database()
        print(f"claim per dispatch on PostgreSQL ({STEPS:,} steps; median of 3, min-max)")
        print(f"{'dispatchers':<12} {'batch':<6} {'steps/s':<28} {'xacts/step':<10}")
        for dispatchers, batch in ((2, 1), (2, 8), (2, 32), (3, 1)):
            runs: list[dict[str, Any]] = [run_once(url, dispatchers, batch) for _ in range(3)]
            rates = sorted(r["steps_per_s"] for r in runs)
            xacts = statistics.median(r["xacts_per_step"] for r in runs)
            spread = f"{statistics.median(rates):,.0f} ({rates[0]:,.0f}-{rates[-1]:,.0f})"
            print(f"{dispatchers:<12} {batch:<6} {spread:<28} {xacts:.3f}", flush=True)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
