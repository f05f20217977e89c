"""Retention on SQLite: deleting ended workflows in bounded batches, and shrinking the file.

Each batch is one transaction on the writer connection, so the group commit
waits at most one batch. Freed pages go to SQLite's free list, where new rows
reuse them; a database created with ``auto_vacuum=INCREMENTAL`` (every one
since schema 5) can also give them back to the file system with ``reclaim``.
"""

from __future__ import annotations

import sqlite3

from .base import Pruned
from .migrations import ENDED_WHERE, rollback

# The partial index of ended workflows (schema 5); INDEXED BY, since without statistics
# the planner prefers the index on state and sorts every ended workflow.
ENDED_BEFORE = (
    "SELECT id, request_id, namespace FROM workflows INDEXED BY idx_workflows_ended"
    f" WHERE {ENDED_WHERE} AND finished_at < ?"
)
# Children first, the workflow row last: a crash between two batches leaves whole workflows.
_DELETES = (
    "DELETE FROM events WHERE workflow_id=?",
    "DELETE FROM steps WHERE workflow_id=?",
    "DELETE FROM pipe_records WHERE workflow_id=?",
    "DELETE FROM workflows WHERE id=?",
)


def _ended_before(namespaces: list[str] | None) -> str:
    if namespaces is None:
        return ENDED_BEFORE
    return f"{ENDED_BEFORE} AND namespace IN ({', '.join('?' * len(namespaces))})"


def prune(
    conn: sqlite3.Connection, ended_before: float, limit: int, namespaces: list[str] | None = None
) -> Pruned:
    """Delete up to ``limit`` workflows that ended before ``ended_before``, in one transaction.

    Args:
        conn: The writer connection (autocommit, outside any transaction).
        ended_before: Epoch seconds; a workflow whose finished_at is earlier goes.
        limit: Most workflows this batch deletes.
        namespaces: Only workflows of these namespaces (None: every namespace).
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        rows = conn.execute(
            f"{_ended_before(namespaces)} ORDER BY finished_at LIMIT ?",
            (ended_before, *(namespaces or ()), limit),
        ).fetchall()
        keys = [(r[0],) for r in rows]
        events = 0
        if keys:
            for i, sql in enumerate(_DELETES):
                deleted = conn.executemany(sql, keys).rowcount
                if i == 0:
                    events = deleted
        conn.execute("COMMIT")
    except BaseException as exc:
        rollback(conn, exc)
        raise
    return Pruned([(r[0], r[1] or "", r[2]) for r in rows], events)


def count_prunable(
    conn: sqlite3.Connection, ended_before: float, namespaces: list[str] | None = None
) -> tuple[int, int]:
    """(workflows, events) that pruning at ``ended_before`` would delete, from one snapshot."""
    row = conn.execute(
        f"WITH gone AS ({_ended_before(namespaces)}) SELECT (SELECT COUNT(*) FROM gone),"
        " (SELECT COUNT(*) FROM events WHERE workflow_id IN (SELECT id FROM gone))",
        (ended_before, *(namespaces or ())),
    ).fetchone()
    return int(row[0]), int(row[1])


def reclaim(conn: sqlite3.Connection, pages: int) -> int:
    """``PRAGMA incremental_vacuum(pages)``; returns the pages given back.

    A no-op (0) unless the file has ``auto_vacuum=INCREMENTAL``. ``executescript``
    runs the pragma to its end: ``execute`` would step it once, freeing one page.
    """
    before = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    conn.executescript(f"PRAGMA incremental_vacuum({int(pages):d});")
    return before - int(conn.execute("PRAGMA freelist_count").fetchone()[0])
