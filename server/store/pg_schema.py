"""The PostgreSQL schema as versioned SQL, in step with SQLite's (``migrations.py``).

Versions are numbered as SQLite's are: the first PostgreSQL schema is version 7, the
SQLite schema it matches (namespaces and all). The version lives in ``dwe_schema``; a
transaction-scoped advisory lock makes replicas that start together migrate once.
"""

from __future__ import annotations

from typing import Any

from .migrations import SchemaError

#: pg_advisory_xact_lock key of migrations ("dwe" in ASCII).
MIGRATION_LOCK = 0x647765

_V7 = (
    """CREATE TABLE workflows (
        id TEXT PRIMARY KEY, request_id TEXT, name TEXT NOT NULL, spec BYTEA NOT NULL,
        state TEXT NOT NULL, priority INTEGER NOT NULL, mode TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL, started_at DOUBLE PRECISION NOT NULL,
        finished_at DOUBLE PRECISION NOT NULL, session_id TEXT NOT NULL, context BYTEA,
        error_message TEXT NOT NULL, completed_steps INTEGER NOT NULL,
        total_steps INTEGER NOT NULL, namespace TEXT NOT NULL DEFAULT 'default')""",
    "CREATE UNIQUE INDEX idx_workflows_request_id ON workflows (namespace, request_id)",
    "CREATE INDEX idx_workflows_created_at_id ON workflows (created_at, id)",
    "CREATE INDEX idx_workflows_namespace ON workflows (namespace, created_at, id)",
    "CREATE INDEX idx_workflows_state ON workflows (state)",
    "CREATE INDEX idx_workflows_ended ON workflows (finished_at)"
    " WHERE state IN ('completed', 'failed', 'cancelled', 'timed_out')",
    """CREATE TABLE steps (
        workflow_id TEXT NOT NULL, step_id TEXT NOT NULL, idx INTEGER NOT NULL,
        state TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0,
        agent_id TEXT NOT NULL DEFAULT '', attempt_id TEXT NOT NULL DEFAULT '',
        assigned_at DOUBLE PRECISION NOT NULL DEFAULT 0,
        started_at DOUBLE PRECISION NOT NULL DEFAULT 0,
        finished_at DOUBLE PRECISION NOT NULL DEFAULT 0,
        output_encoding TEXT, output BYTEA,
        error_message TEXT NOT NULL DEFAULT '', error_type TEXT NOT NULL DEFAULT '',
        output_metadata TEXT NOT NULL DEFAULT '', pipe TEXT NOT NULL DEFAULT '',
        progress INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (workflow_id, step_id))""",
    """CREATE TABLE events (
        workflow_id TEXT NOT NULL, seq BIGINT NOT NULL, type TEXT NOT NULL,
        time DOUBLE PRECISION NOT NULL, step_id TEXT NOT NULL, attempt INTEGER NOT NULL,
        agent_id TEXT NOT NULL, event BYTEA NOT NULL,
        PRIMARY KEY (workflow_id, seq))""",
    """CREATE TABLE pipe_records (
        workflow_id TEXT NOT NULL, step_id TEXT NOT NULL, kind TEXT NOT NULL,
        idx INTEGER NOT NULL, encoding TEXT, data BYTEA, metadata TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (workflow_id, step_id, kind, idx))""",
    """CREATE TABLE agents (
        agent_id TEXT PRIMARY KEY, agent_type TEXT, capabilities TEXT,
        max_concurrent_tasks INTEGER, config BYTEA, namespace TEXT NOT NULL DEFAULT 'default')""",
    # Replicas on one database (pg_lease.py): the scheduler lease with its epoch, and
    # every replica's heartbeat.
    """CREATE TABLE dwe_leases (
        name TEXT PRIMARY KEY, owner TEXT NOT NULL, epoch BIGINT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE dwe_replicas (
        id TEXT PRIMARY KEY, address TEXT NOT NULL, started_at TIMESTAMPTZ NOT NULL,
        heartbeat_at TIMESTAMPTZ NOT NULL)""",
)

# Version 8, as on SQLite: each event's position in the commit order.
_V8 = (
    "ALTER TABLE events ADD COLUMN position BIGINT NOT NULL DEFAULT 0",
    "CREATE INDEX idx_events_position ON events (position)",
)

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = ((7, _V7), (8, _V8))
LATEST = MIGRATIONS[-1][0]


def migrate(conn: Any, name: str) -> int:
    """Bring the database on ``conn`` (autocommit) to the latest schema; returns the
    version it had (0 for an empty database). SchemaError when it is newer than this
    server, or holds tables this server does not recognise."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS dwe_schema (version INTEGER NOT NULL)")
        row = conn.execute("SELECT max(version) FROM dwe_schema").fetchone()
        found = int(row[0] or 0)
        if found > LATEST:
            raise SchemaError(
                f"{name} has schema version {found}, newer than this server understands"
                f" ({LATEST}): upgrade dwe or use another database"
            )
        if found == 0 and _has_other_tables(conn):
            raise SchemaError(
                f"{name} has tables this server does not recognise: use another database"
            )
        for version, statements in MIGRATIONS:
            if version > found:
                for sql in statements:
                    conn.execute(sql)
                conn.execute("DELETE FROM dwe_schema")
                conn.execute("INSERT INTO dwe_schema (version) VALUES (%s)", (version,))
    return found


def _has_other_tables(conn: Any) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM information_schema.tables"
        " WHERE table_schema = current_schema() AND table_name <> 'dwe_schema'"
    ).fetchone()
    return bool(row[0])
