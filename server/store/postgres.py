"""PostgreSQL store (``--db postgresql://...``): psycopg 3, one writer connection, a pool
of readers.

A group commit is one transaction: each kind of row goes in one ``executemany``, which
psycopg sends in pipeline mode (one round trip per kind, not per row). New workflows
are inserted with ``ON CONFLICT DO NOTHING RETURNING id``, so a request id stored
before is skipped, as on SQLite. Reads share their SQL with SQLite (``reads.py``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from .base import Pruned
from .migrations import StoreOpenError
from .pg_lease import LeaseLost, SchedulerLease
from .pg_schema import migrate
from .reads import TERMINAL, SqlReads
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

__all__ = ["PostgresStore"]

log = logging.getLogger("dwe.server.store")

READERS = 8
_ENDED = f"state IN ({', '.join(repr(s) for s in TERMINAL)})"


def _insert(table: str, fields: tuple[str, ...], fixed: dict[str, str] | None = None) -> str:
    return insert_sql(table, fields, fixed, mark="%s")


def _update(table: str, fields: tuple[str, ...], key: int) -> str:
    return update_sql(table, fields, key, mark="%s")


_INSERT_WORKFLOW = (
    _insert("workflows", WorkflowInsert._fields, NEW_WORKFLOW)
    + " ON CONFLICT (namespace, request_id) DO NOTHING RETURNING id"
)
_WRITES = (
    ("new_steps", _insert("steps", StepInsert._fields, NEW_STEP)),
    ("workflow_updates", _update("workflows", WorkflowUpdate._fields, WORKFLOW_UPDATE_KEY)),
    ("step_updates", _update("steps", StepUpdate._fields, STEP_UPDATE_KEY)),
    ("events", _insert("events", EventRow._fields)),
    ("pipe_updates", _update("steps", PipeUpdate._fields, PIPE_UPDATE_KEY)),
    ("progress_updates", _update("steps", ProgressUpdate._fields, PIPE_UPDATE_KEY)),
    ("pipe_records", _insert("pipe_records", PipeRecordRow._fields)),
    (
        "agents",
        _insert("agents", AgentRow._fields)
        + " ON CONFLICT (agent_id) DO UPDATE SET "
        + ", ".join(f"{f}=EXCLUDED.{f}" for f in AgentRow._fields[1:]),
    ),
)


class PostgresStore(SqlReads):
    """Implements ``Store`` on a PostgreSQL database."""

    PARAM = "%s"

    def __init__(self, url: str) -> None:
        """Connect to ``url`` and bring its schema up to date.

        Raises:
            SchemaError: The database's schema is newer than this server, or foreign.
            StoreOpenError: The database cannot be reached (its message says why).
        """
        self.url = url
        self.path = _redacted(url)
        self.inline_writes = False  # every write is a round trip to the database
        # Replicas: the lease every write checks, and what to do when it is lost.
        self.lease: SchedulerLease | None = None
        self.on_lease_lost: Callable[[BaseException], None] | None = None
        try:
            self._w = self._connect()
            migrate(self._w, self.path)
            self._pool = ConnectionPool(
                url,
                min_size=1,
                max_size=READERS,
                kwargs={"autocommit": True},
                open=True,
                name="dwe-readers",
            )
        except psycopg.Error as exc:
            raise StoreOpenError(f"cannot open the database {self.path}: {exc}") from exc

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, autocommit=True)

    def _writer(self) -> psycopg.Connection[Any]:
        """The writer connection, opened again when the last one broke."""
        if self._w.closed or self._w.broken:
            with contextlib.suppress(psycopg.Error):
                self._w.close()
            self._w = self._connect()
        return self._w

    # -- writer --------------------------------------------------------------

    def write(self, batch: WriteBatch) -> list[str]:
        """Commit the batch in one transaction, or raise and commit nothing; returns the
        ids of new workflows skipped because their request id was already stored."""
        conn = self._writer()
        with conn.transaction(), conn.cursor() as cur:
            self._fence(conn)
            skipped: list[str] = []
            if batch.new_workflows:
                cur.executemany(_INSERT_WORKFLOW, batch.new_workflows, returning=True)
                inserted: set[str] = set()
                while True:
                    inserted.update(r[0] for r in cur.fetchall())
                    if not cur.nextset():
                        break
                skipped = [r.id for r in batch.new_workflows if r.id not in inserted]
            gone = set(skipped)
            for field, sql in _WRITES:
                rows: list[Any] = getattr(batch, field)
                if field == "new_steps" and gone:
                    rows = [s for s in rows if s.workflow_id not in gone]
                if rows:
                    cur.executemany(sql, rows)
        return skipped

    def _fence(self, conn: psycopg.Connection[Any]) -> None:
        """With replicas: nothing is written unless this replica still holds the lease."""
        if self.lease is None:
            return
        try:
            self.lease.fence(conn)
        except LeaseLost as exc:
            if self.on_lease_lost is not None:
                self.on_lease_lost(exc)
            raise

    # -- retention ----------------------------------------------------------------

    def prune(self, ended_before: float, limit: int, namespaces: list[str] | None = None) -> Pruned:
        """See ``Store.prune``: one transaction; rows another replica is pruning are
        skipped (SKIP LOCKED)."""
        where, params = _ended(ended_before, namespaces)
        conn = self._writer()
        with conn.transaction():
            self._fence(conn)
            rows = conn.execute(
                f"SELECT id, request_id, namespace FROM workflows WHERE {where}"
                " ORDER BY finished_at LIMIT %s FOR UPDATE SKIP LOCKED",
                (*params, limit),
            ).fetchall()
            ids = [r[0] for r in rows]
            events = 0
            if ids:
                events = conn.execute(
                    "DELETE FROM events WHERE workflow_id = ANY(%s)", (ids,)
                ).rowcount
                for table, column in (("steps", "workflow_id"), ("pipe_records", "workflow_id")):
                    conn.execute(f"DELETE FROM {table} WHERE {column} = ANY(%s)", (ids,))
                conn.execute("DELETE FROM workflows WHERE id = ANY(%s)", (ids,))
        return Pruned([(r[0], r[1] or "", r[2]) for r in rows], events)

    def count_prunable(
        self, ended_before: float, namespaces: list[str] | None = None
    ) -> tuple[int, int]:
        where, params = _ended(ended_before, namespaces)
        row = self._query(
            f"WITH gone AS (SELECT id FROM workflows WHERE {where})"
            " SELECT (SELECT count(*) FROM gone),"
            " (SELECT count(*) FROM events WHERE workflow_id IN (SELECT id FROM gone))",
            params,
        )[0]
        return int(row[0]), int(row[1])

    def reclaim(self, pages: int) -> int:
        """Nothing to do: PostgreSQL's autovacuum reuses the space of deleted rows."""
        return 0

    # -- readers -------------------------------------------------------------

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._pool.connection() as conn:
            return conn.execute(self._sql(sql), params).fetchall()

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[Any]:
        """A repeatable-read transaction: a workflow and its steps from one commit."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield conn

    def close(self) -> None:
        """Close the writer and the reader pool; safe to call twice."""
        with contextlib.suppress(psycopg.Error):
            self._w.close()
        self._pool.close()


def _ended(ended_before: float, namespaces: list[str] | None) -> tuple[str, tuple[Any, ...]]:
    where = f"{_ENDED} AND finished_at < %s"
    if namespaces is None:
        return where, (ended_before,)
    return f"{where} AND namespace = ANY(%s)", (ended_before, namespaces)


def _redacted(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    user, host, port = info.get("user", ""), info.get("host", ""), info.get("port", "")
    return f"postgresql://{user}@{host}:{port}/{info.get('dbname', '')}"
