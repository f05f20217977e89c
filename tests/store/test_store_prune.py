"""Retention in the SQLite store: prune, count_prunable and reclaim on real files."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from dwe.server.engine.model import EventType, StepSpec, WorkflowSpec, WorkflowState
from dwe.server.engine.runs import WorkflowRun
from dwe.server.store.mapping import workflow_insert, workflow_update
from dwe.server.store.prune import ENDED_BEFORE
from dwe.server.store.rows import EventRow, PipeRecordRow, WriteBatch
from dwe.server.store.sqlite import SqliteStore

from .test_sqlite_store import make_v2_database

SPEC = WorkflowSpec("r", (StepSpec("a", capability="c"), StepSpec("b", capability="c")))
TABLES = ("workflows", "steps", "events", "pipe_records")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "dwe.db")
    yield s
    s.close()


def add(
    store: SqliteStore,
    workflow_id: str,
    state: WorkflowState,
    finished_at: float = 0.0,
    request_id: str = "",
    events: int = 3,
    payload: bytes = b"e",
) -> None:
    """A workflow of SPEC in ``state`` with ``events`` events and one pipeline record."""
    row, steps = workflow_insert(workflow_id, request_id, SPEC, 1.0)
    run = WorkflowRun(workflow_id, SPEC, 1.0, request_id)
    run.state, run.finished_at = state, finished_at
    store.write(
        WriteBatch(
            new_workflows=[row],
            new_steps=steps,
            workflow_updates=[workflow_update(run)],
            events=[
                EventRow(
                    workflow_id, seq, str(EventType.AGENT_STREAM), 1.0, "a", 1, "", payload, seq
                )
                for seq in range(1, events + 1)
            ],
            pipe_records=[PipeRecordRow(workflow_id, "a", "in", 0, "json/plain", b"1", "")],
        )
    )


def counts(path: str, workflow_id: str) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        key = {t: "id" if t == "workflows" else "workflow_id" for t in TABLES}
        return {
            t: db.execute(f"SELECT COUNT(*) FROM {t} WHERE {key[t]}=?", (workflow_id,)).fetchone()[
                0
            ]
            for t in TABLES
        }
    finally:
        db.close()


NONE = dict.fromkeys(TABLES, 0)
WHOLE = {"workflows": 1, "steps": 2, "events": 3, "pipe_records": 1}


def test_prune_deletes_only_ended_workflows_older_than_the_cut_with_their_rows(
    store: SqliteStore,
) -> None:
    for i, state in enumerate(
        (WorkflowState.COMPLETED, WorkflowState.FAILED, WorkflowState.CANCELLED)
    ):
        add(store, f"old-{state}", state, finished_at=100.0 + i)
    add(store, "old-timed-out", WorkflowState.TIMED_OUT, finished_at=103.0, events=5)
    add(store, "recent", WorkflowState.COMPLETED, finished_at=500.0)
    for state in (WorkflowState.RUNNING, WorkflowState.QUEUED, WorkflowState.PENDING):
        add(store, f"live-{state}", state)

    assert store.count_prunable(200.0) == (4, 3 + 3 + 3 + 5)
    pruned = store.prune(200.0, 100)

    assert sorted(w for w, _, _ in pruned.workflows) == sorted(
        ["old-completed", "old-failed", "old-cancelled", "old-timed-out"]
    )
    assert pruned.events == 14
    for workflow_id, _, _ in pruned.workflows:
        assert counts(store.path, workflow_id) == NONE
        assert store.load_workflow(workflow_id) is None
    for kept in ("recent", "live-running", "live-queued", "live-pending"):
        assert counts(store.path, kept) == WHOLE, kept
    assert store.count_prunable(200.0) == (0, 0)
    assert store.prune(200.0, 100).workflows == []


def test_prune_goes_in_batches_oldest_first_and_frees_request_ids(store: SqliteStore) -> None:
    for i in range(5):
        add(store, f"w{i}", WorkflowState.COMPLETED, finished_at=10.0 + i, request_id=f"req-{i}")

    batches = [store.prune(100.0, 2) for _ in range(4)]

    assert [b.workflows for b in batches] == [
        [("w0", "req-0", "default"), ("w1", "req-1", "default")],
        [("w2", "req-2", "default"), ("w3", "req-3", "default")],
        [("w4", "req-4", "default")],
        [],
    ]
    assert [b.events for b in batches] == [6, 6, 3, 0]
    assert store.find_request("default", "req-0") is None
    add(store, "again", WorkflowState.PENDING, request_id="req-0")  # the key is free again
    assert store.find_request("default", "req-0") == "again"


def test_the_cut_is_strictly_before(store: SqliteStore) -> None:
    add(store, "at-the-cut", WorkflowState.COMPLETED, finished_at=50.0)
    assert store.count_prunable(50.0) == (0, 0)
    assert store.prune(50.0, 10).workflows == []
    assert store.prune(50.001, 10).workflows == [("at-the-cut", "", "default")]


def test_the_cut_reads_the_partial_index_of_ended_workflows(store: SqliteStore) -> None:
    db = sqlite3.connect(store.path)
    try:
        sql = f"EXPLAIN QUERY PLAN {ENDED_BEFORE} ORDER BY finished_at LIMIT 10"
        plan = " ".join(str(r[-1]) for r in db.execute(sql, (1.0,)))
    finally:
        db.close()
    assert "USING INDEX idx_workflows_ended (finished_at<?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def auto_vacuum(path: str | Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA auto_vacuum").fetchone()[0])
    finally:
        db.close()


def test_a_new_database_gives_pruned_pages_back_to_the_file_system(store: SqliteStore) -> None:
    assert auto_vacuum(store.path) == 2  # INCREMENTAL
    for i in range(40):
        add(store, f"w{i}", WorkflowState.COMPLETED, finished_at=1.0, payload=b"x" * 4000)

    assert len(store.prune(10.0, 100).workflows) == 40
    freed = store.reclaim(100_000)

    assert freed >= 40  # an event of 4 kB fills at least one page of its own
    assert store.reclaim(100_000) == 0


def test_an_older_database_keeps_its_free_pages_for_reuse(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    make_v2_database(path)
    store = SqliteStore(path)  # migrated, but created without auto_vacuum
    try:
        assert auto_vacuum(path) == 0
        for i in range(10):
            add(store, f"w{i}", WorkflowState.COMPLETED, finished_at=1.0, payload=b"x" * 4000)
        assert len(store.prune(10.0, 100).workflows) == 10
        assert store.reclaim(100_000) == 0
    finally:
        store.close()
