"""SQLite store: WAL, one writer connection, one reader connection per reader thread.

The schema comes from the versioned SQL in ``migrations.py``; ``write`` uses
executemany on the raw sqlite3 connection, since per-call overhead dominates there.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import prune
from .base import Pruned
from .checkpoint import Checkpointer
from .migrations import EventUpgrade, SchemaError, StoreOpenError, migrate, rollback
from .reads import SqlReads
from .rows import (
    NEW_STEP,
    NEW_WORKFLOW,
    PIPE_UPDATE_KEY,
    STEP_UPDATE_KEY,
    WORKFLOW_UPDATE_KEY,
    AgentRow,
    EventRow,
    PipeRecordRow,
    PipeUpdate,
    ProgressUpdate,
    StepInsert,
    StepUpdate,
    WorkflowInsert,
    WorkflowUpdate,
    WriteBatch,
    insert_sql,
    update_sql,
)

__all__ = ["SchemaError", "SqliteStore"]

_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


# Generated once from the row types, so column order cannot drift from the rows.
_INSERT_WORKFLOW = (
    insert_sql("workflows", WorkflowInsert._fields, NEW_WORKFLOW)
    # The unique request_id is the idempotency key: a repeat is skipped, not an error
    # that would fail every other row of the group commit.
    + " ON CONFLICT(namespace, request_id) DO NOTHING"
)
_INSERT_STEP = insert_sql("steps", StepInsert._fields, NEW_STEP)
_UPDATE_WORKFLOW = update_sql("workflows", WorkflowUpdate._fields, WORKFLOW_UPDATE_KEY)
_UPDATE_STEP = update_sql("steps", StepUpdate._fields, STEP_UPDATE_KEY)
_INSERT_EVENT = insert_sql("events", EventRow._fields)
_UPDATE_PIPE = update_sql("steps", PipeUpdate._fields, PIPE_UPDATE_KEY)
_UPDATE_PROGRESS = update_sql("steps", ProgressUpdate._fields, PIPE_UPDATE_KEY)
_INSERT_PIPE_RECORD = insert_sql("pipe_records", PipeRecordRow._fields)
_UPSERT_AGENT = insert_sql("agents", AgentRow._fields, verb="INSERT OR REPLACE")


def _connect(path: str, writer: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    if writer:
        # Takes effect on a new file only (before its first table and before WAL mode),
        # so retention can shrink it; an older file keeps auto_vacuum=NONE.
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA foreign_keys=OFF")
    return conn


class SqliteStore(SqlReads):
    """Implements ``Store`` on one SQLite file."""

    def __init__(
        self,
        path: str | Path,
        synchronous: str = "NORMAL",
        upgrade_event: EventUpgrade | None = None,
    ) -> None:
        """Open (creating or migrating) the store at ``path``.

        Args:
            path: The SQLite file; its folder is created when missing.
            synchronous: ``PRAGMA synchronous`` of the writer; NORMAL survives process
                crashes in WAL mode, FULL also power loss.
            upgrade_event: Applied as ``upgrade_event(type, event)`` to every stored
                event while migrating from schema 2 to 3; events stay as stored when None.

        Raises:
            SchemaError: The file's schema is newer than this server, or unrecognisable.
            StoreOpenError: SQLite cannot open or write the file (its message says why).
        """
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        if synchronous.upper() not in _SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {', '.join(_SYNCHRONOUS)}")
        self._synchronous = synchronous.upper()
        # Below FULL a WAL commit appends to the log without an fsync (checkpoints run
        # on their own thread): a small write takes microseconds.
        self.inline_writes = self._synchronous in ("OFF", "NORMAL")
        try:
            self._w = self._open_writer()
        except sqlite3.Error as exc:
            raise StoreOpenError(f"cannot open the database {self.path}: {exc}") from exc
        try:
            migrate(self._w, self.path, upgrade_event)
        except sqlite3.Error as exc:
            self._w.close()
            raise StoreOpenError(f"cannot open the database {self.path}: {exc}") from exc
        except BaseException:
            self._w.close()
            raise
        # One connection per reader thread, opened on its first read: WAL lets them
        # read concurrently, each from its own snapshot, while the writer commits.
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._checkpointer: Checkpointer | None = None
        if self.path != ":memory:":
            self._checkpointer = Checkpointer(self.path, lambda: _connect(self.path))

    def _open_writer(self) -> sqlite3.Connection:
        conn = _connect(self.path, writer=True)
        # NORMAL in WAL mode: durable across process crashes; FULL adds an fsync per commit.
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        if self.path != ":memory:":
            Checkpointer.configure_writer(conn)
        return conn

    # -- writer --------------------------------------------------------------

    def write(self, batch: WriteBatch) -> list[str]:
        """Commit the batch in one transaction, or raise and commit nothing.

        Returns the ids of new workflows that were not inserted because their
        request_id was already stored (their steps are skipped too).
        """
        c = self._w
        c.execute("BEGIN")
        try:
            skipped = [
                row.id
                for row in batch.new_workflows
                if c.execute(_INSERT_WORKFLOW, row).rowcount == 0
            ]
            steps = batch.new_steps
            if skipped:
                gone = set(skipped)
                steps = [s for s in steps if s.workflow_id not in gone]
            for sql, rows in (
                (_INSERT_STEP, steps),
                (_UPDATE_WORKFLOW, batch.workflow_updates),
                (_UPDATE_STEP, batch.step_updates),
                (_INSERT_EVENT, batch.events),
                (_UPDATE_PIPE, batch.pipe_updates),
                (_UPDATE_PROGRESS, batch.progress_updates),
                (_INSERT_PIPE_RECORD, batch.pipe_records),
                (_UPSERT_AGENT, batch.agents),
            ):
                if rows:
                    c.executemany(sql, rows)
            c.execute("COMMIT")
            if self._checkpointer is not None:
                self._checkpointer.committed()
            return skipped
        except BaseException as exc:
            # SQLite may have rolled back already (SQLITE_FULL, SQLITE_IOERR): the
            # error the caller sees is always the one that failed the batch.
            rollback(c, exc)
            if c.in_transaction:
                self._replace_writer(exc)
            raise

    def _replace_writer(self, cause: BaseException) -> None:
        """Swap a writer stuck in a transaction it could not end; closing drops the batch."""
        with contextlib.suppress(sqlite3.Error):
            self._w.close()
        try:
            self._w = self._open_writer()
        except sqlite3.Error as exc:
            cause.add_note(f"reopening the writer failed too: {exc!r}")

    # -- retention: prune and reclaim on the writer thread ----------------------------

    def prune(self, ended_before: float, limit: int, namespaces: list[str] | None = None) -> Pruned:
        """See ``Store.prune``: one transaction on the writer connection."""
        try:
            return prune.prune(self._w, ended_before, limit, namespaces)
        except BaseException as exc:
            if self._w.in_transaction:
                self._replace_writer(exc)
            raise

    def count_prunable(
        self, ended_before: float, namespaces: list[str] | None = None
    ) -> tuple[int, int]:
        """(workflows, events) a prune at ``ended_before`` would delete."""
        with self._snapshot() as conn:
            return prune.count_prunable(conn, ended_before, namespaces)

    def reclaim(self, pages: int) -> int:
        """Up to ``pages`` free pages back to the file system (auto_vacuum=INCREMENTAL only)."""
        return prune.reclaim(self._w, pages)

    # -- readers -------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        """This thread's reader connection, opened on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._readers_lock:
                if self._closed:
                    raise sqlite3.ProgrammingError("Cannot operate on a closed store.")
                conn = _connect(self.path)
                conn.execute("PRAGMA query_only=ON")
                self._readers.append(conn)
            self._local.conn = conn
        return conn

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._reader().execute(sql, params).fetchall()

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: a workflow and its steps come from the same commit."""
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close the writer and every reader connection; safe to call twice."""
        with self._readers_lock:
            if self._closed:
                return
            self._closed = True
            readers, self._readers = self._readers, []
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._w.close()
        for conn in readers:
            conn.close()
