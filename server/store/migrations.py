"""The SQLite schema as versioned SQL migrations, keyed by ``PRAGMA user_version``.

The schema is written as plain SQL rather than through sqlite-utils: sqlite-utils
cannot create WITHOUT ROWID tables (steps and events use them), its per-call
overhead matters on the hot path, and the PostgreSQL store to come needs SQL
migrations too, so plain versioned SQL is the form both share.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

# Re-encodes one stored event: (type column, event bytes) -> new event bytes.
EventUpgrade = Callable[[str, bytes], bytes]


class SchemaError(RuntimeError):
    """The database's schema is not one this server can open."""


class StoreOpenError(RuntimeError):
    """The database cannot be opened or written at start (full disk, read-only file)."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: its SQL, then an optional data step, in one transaction."""

    version: int  # the user_version the database has once this migration committed
    statements: tuple[str, ...]
    data: Callable[[sqlite3.Connection, EventUpgrade | None], None] | None = None


# Version 2: the schema as sqlite-utils and hand-written DDL created it before.
_V2 = (
    """CREATE TABLE workflows (
        id TEXT PRIMARY KEY, request_id TEXT, name TEXT, spec BLOB, state TEXT,
        priority INTEGER, mode TEXT, created_at REAL, started_at REAL, finished_at REAL,
        session_id TEXT, context BLOB, error_message TEXT, completed_steps INTEGER,
        total_steps INTEGER)""",
    "CREATE UNIQUE INDEX idx_workflows_request_id ON workflows (request_id)",
    "CREATE INDEX idx_workflows_created_at_id ON workflows (created_at, id)",
    "CREATE INDEX idx_workflows_state ON workflows (state)",
    """CREATE TABLE steps (
        workflow_id TEXT NOT NULL, step_id TEXT NOT NULL, idx INTEGER NOT NULL,
        state TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0,
        agent_id TEXT NOT NULL DEFAULT '', attempt_id TEXT NOT NULL DEFAULT '',
        assigned_at REAL NOT NULL DEFAULT 0, started_at REAL NOT NULL DEFAULT 0,
        finished_at REAL NOT NULL DEFAULT 0,
        output_encoding TEXT, output BLOB,
        error_message TEXT NOT NULL DEFAULT '', error_type TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (workflow_id, step_id)) WITHOUT ROWID""",
    # ``event`` is the encoded event exactly as streamed (dwe.v1.WorkflowEvent);
    # the other columns are there for queries.
    """CREATE TABLE events (
        workflow_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL,
        time REAL NOT NULL, step_id TEXT NOT NULL, attempt INTEGER NOT NULL,
        agent_id TEXT NOT NULL, event BLOB NOT NULL,
        PRIMARY KEY (workflow_id, seq)) WITHOUT ROWID""",
    """CREATE TABLE agents (
        agent_id TEXT PRIMARY KEY, agent_type TEXT, capabilities TEXT,
        max_concurrent_tasks INTEGER, config BLOB)""",
)

# Version 3: codec metadata of step outputs (a JSON object of string -> string, '' for
# none), and stored events re-encoded for the current contract by the caller's hook.
_V3 = ("ALTER TABLE steps ADD COLUMN output_metadata TEXT NOT NULL DEFAULT ''",)

# Version 4: what PIPELINE stages need to resume: each step's counters (JSON, '' outside
# PIPELINE runs) and every record a stage received ("in") and output it made ("out").
_V4 = (
    "ALTER TABLE steps ADD COLUMN pipe TEXT NOT NULL DEFAULT ''",
    """CREATE TABLE pipe_records (
        workflow_id TEXT NOT NULL, step_id TEXT NOT NULL, kind TEXT NOT NULL,
        idx INTEGER NOT NULL, encoding TEXT, data BLOB, metadata TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (workflow_id, step_id, kind, idx)) WITHOUT ROWID""",
)

# Version 5: retention finds ended workflows by when they ended. The partial index holds
# only terminal rows; a query uses it when its WHERE repeats ENDED_WHERE word for word.
ENDED_WHERE = "state IN ('completed', 'failed', 'cancelled', 'timed_out')"
_V5 = (f"CREATE INDEX idx_workflows_ended ON workflows (finished_at) WHERE {ENDED_WHERE}",)

# Version 6: the highest numbered progress index stored for a step's current attempt, so
# an agent that reconnects after a restart re-sends only what the server lacks.
_V6 = ("ALTER TABLE steps ADD COLUMN progress INTEGER NOT NULL DEFAULT 0",)

# Version 8: each event's position in the commit order across workflows, so a
# WatchEvents stream can resume where it broke (0 for events stored before).
_V8 = (
    "ALTER TABLE events ADD COLUMN position INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX idx_events_position ON events (position)",
)

# Version 7: namespaces. Workflows and registry entries belong to one ('default' for all
# that came before); idempotency keys are unique within a namespace, not across them.
_V7 = (
    "ALTER TABLE workflows ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default'",
    "ALTER TABLE agents ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default'",
    "DROP INDEX idx_workflows_request_id",
    "CREATE UNIQUE INDEX idx_workflows_request_id ON workflows (namespace, request_id)",
    "CREATE INDEX idx_workflows_namespace ON workflows (namespace, created_at, id)",
)


def _upgrade_events(conn: sqlite3.Connection, upgrade_event: EventUpgrade | None) -> None:
    """Replace every stored event by ``upgrade_event(type, event)``, once each."""
    if upgrade_event is None:
        return
    # Chunks in key order, each starting after the last key seen: every row is read
    # exactly once and memory stays bounded, whatever the size of the table.
    select = (
        "SELECT workflow_id, seq, type, event FROM events {} ORDER BY workflow_id, seq LIMIT 512"
    )
    rows = conn.execute(select.format("")).fetchall()
    while rows:
        conn.executemany(
            "UPDATE events SET event=? WHERE workflow_id=? AND seq=?",
            [(upgrade_event(type_, event), wid, seq) for wid, seq, type_, event in rows],
        )
        last = rows[-1][:2]
        rows = conn.execute(select.format("WHERE (workflow_id, seq) > (?, ?)"), last).fetchall()


MIGRATIONS: tuple[Migration, ...] = (
    Migration(2, _V2),
    Migration(3, _V3, _upgrade_events),
    Migration(4, _V4),
    Migration(5, _V5),
    Migration(6, _V6),
    Migration(7, _V7),
    Migration(8, _V8),
)
LATEST = MIGRATIONS[-1].version


def migrate(conn: sqlite3.Connection, name: str, upgrade_event: EventUpgrade | None = None) -> int:
    """Bring the database on ``conn`` to the latest schema version.

    Args:
        conn: An autocommit connection (``isolation_level=None``), outside any transaction.
        name: How to name the database in errors (its path).
        upgrade_event: Passed to the data steps of the migrations that re-encode events.

    Returns:
        The schema version the database had before.

    Raises:
        SchemaError: The database is newer than this server, or not one it recognises.
    """
    found = user_version(conn)
    if found > LATEST:
        raise _newer(name, found)
    if found not in {0, *(m.version for m in MIGRATIONS)} or (found == 0 and _has_tables(conn)):
        raise SchemaError(
            f"{name} has schema version {found} and tables this server does not recognise"
            f" (it knows versions up to {LATEST}): use another database"
        )
    for m in MIGRATIONS:
        if m.version > found:
            _apply(conn, m, upgrade_event)
    now = user_version(conn)
    if now != LATEST:  # another process moved it past us meanwhile
        raise _newer(name, now)
    return found


def user_version(conn: sqlite3.Connection) -> int:
    """The database's ``PRAGMA user_version``."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def rollback(conn: sqlite3.Connection, cause: BaseException) -> None:
    """Roll back a failed transaction without hiding its cause.

    SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR...),
    so ROLLBACK is only sent while a transaction is still open, and an error of
    the rollback itself is attached to ``cause`` as a note instead of replacing it.
    """
    if not conn.in_transaction:
        return
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        cause.add_note(f"rollback failed too: {exc!r}")


def _apply(conn: sqlite3.Connection, m: Migration, upgrade_event: EventUpgrade | None) -> None:
    # IMMEDIATE takes the write lock first, so two servers opening one file migrate once.
    conn.execute("BEGIN IMMEDIATE")
    try:
        if user_version(conn) >= m.version:
            conn.execute("ROLLBACK")
            return
        for sql in m.statements:
            conn.execute(sql)
        if m.data is not None:
            m.data(conn, upgrade_event)
        # user_version lives in the file header, so it commits with the migration.
        conn.execute(f"PRAGMA user_version={m.version:d}")
        conn.execute("COMMIT")
    except BaseException as exc:
        rollback(conn, exc)
        raise


def _has_tables(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' LIMIT 1"
    ).fetchone()
    return row is not None


def _newer(name: str, found: int) -> SchemaError:
    return SchemaError(
        f"{name} has schema version {found}, newer than this server understands ({LATEST}):"
        " upgrade dwe or use another database"
    )
