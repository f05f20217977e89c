"""The read half both SQL stores share: the queries and how their rows become read rows.

A store provides ``_query`` (one statement on a reader connection), ``_snapshot`` (a
read transaction, so a workflow and its steps come from one commit) and ``PARAM``, its
driver's placeholder; statements here are written with ``?`` and converted once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ..engine.model import AgentRegistration, Blob, EventType
from .base import PipeRecord, StepRow, StoredEvent, WorkflowQuery, WorkflowRow
from .codec import loads, metadata_from_json, spec_from_json

TERMINAL = ("completed", "failed", "cancelled", "timed_out")


class SqlReads:
    """Implements the reading methods of ``Store`` over a DB-API style connection."""

    PARAM = "?"

    def _sql(self, sql: str) -> str:
        return sql if self.PARAM == "?" else sql.replace("?", self.PARAM)

    def _run(self, conn: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
        """``sql`` (written with ``?``) on ``conn``; returns the cursor."""
        return conn.execute(self._sql(sql), params)

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """One statement on a reader connection (written with ``?``): all its rows."""
        raise NotImplementedError

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[Any]:
        raise NotImplementedError
        yield

    _WF_COLS = (
        "id, request_id, spec, state, created_at, started_at, finished_at, session_id, context,"
        " error_message, completed_steps,"
        " (SELECT COALESCE(MAX(seq), 0) FROM events e WHERE e.workflow_id = w.id), namespace"
    )

    @staticmethod
    def _workflow_row(r: tuple[Any, ...]) -> WorkflowRow:
        return WorkflowRow(
            workflow_id=r[0],
            request_id=r[1] or "",
            spec=spec_from_json(r[2]),
            state=r[3],
            created_at=r[4],
            started_at=r[5],
            finished_at=r[6],
            session_id=r[7],
            context=loads(r[8]) if r[8] else {},
            error_message=r[9],
            completed_steps=r[10],
            last_seq=r[11],
            namespace=r[12],
        )

    def _steps(self, conn: Any, workflow_id: str) -> list[StepRow]:
        rows = self._run(
            conn,
            "SELECT step_id, idx, state, attempt, agent_id, attempt_id, assigned_at, started_at,"
            " finished_at, output_encoding, output, output_metadata, error_message, error_type,"
            " pipe, progress FROM steps WHERE workflow_id=? ORDER BY idx",
            (workflow_id,),
        ).fetchall()
        return [
            StepRow(
                step_id=r[0],
                index=r[1],
                state=r[2],
                attempt=r[3],
                agent_id=r[4],
                attempt_id=r[5],
                assigned_at=r[6],
                started_at=r[7],
                finished_at=r[8],
                output=Blob(r[9], r[10], metadata_from_json(r[11])) if r[10] is not None else None,
                error_message=r[12],
                error_type=r[13],
                pipe=r[14],
                progress=r[15],
            )
            for r in rows
        ]

    def _records(self, conn: Any, workflow_id: str) -> list[PipeRecord]:
        rows = self._run(
            conn,
            "SELECT step_id, kind, idx, encoding, data, metadata FROM pipe_records"
            " WHERE workflow_id=? ORDER BY step_id, kind, idx",
            (workflow_id,),
        ).fetchall()
        return [
            (
                r[0],
                r[1],
                r[2],
                Blob(r[3], r[4], metadata_from_json(r[5])) if r[4] is not None else None,
            )
            for r in rows
        ]

    def load_workflow(self, workflow_id: str, with_steps: bool = True) -> WorkflowRow | None:
        """One workflow, with its steps in declaration order unless ``with_steps`` is False."""
        sql = f"SELECT {self._WF_COLS} FROM workflows w WHERE id=?"
        if not with_steps:
            rows = self._query(sql, (workflow_id,))
            return self._workflow_row(rows[0]) if rows else None
        with self._snapshot() as conn:
            found = self._run(conn, sql, (workflow_id,)).fetchone()
            if found is None:
                return None
            row = self._workflow_row(found)
            row.steps = self._steps(conn, workflow_id)
            row.records = self._records(conn, workflow_id)
        return row

    def find_request(self, namespace: str, request_id: str) -> str | None:
        """The workflow id created under an idempotency key of a namespace, if any."""
        rows = self._query(
            "SELECT id FROM workflows WHERE namespace=? AND request_id=?", (namespace, request_id)
        )
        return rows[0][0] if rows else None

    def load_events(self, workflow_id: str, after_seq: int = 0) -> list[StoredEvent]:
        """Events with seq > after_seq, in order, as they were encoded."""
        rows = self._query(
            "SELECT seq, type, event FROM events WHERE workflow_id=? AND seq>? ORDER BY seq",
            (workflow_id, after_seq),
        )
        return [StoredEvent(r[0], EventType(r[1]), r[2]) for r in rows]

    def last_position(self) -> int:
        """The largest event position stored (0 for none)."""
        return int(self._query("SELECT COALESCE(MAX(position), 0) FROM events")[0][0])

    def events_after(
        self,
        position: int,
        limit: int,
        types: list[str] | None = None,
        workflow_ids: list[str] | None = None,
        namespaces: list[str] | None = None,
    ) -> list[tuple[int, bytes]]:
        """(position, encoded event) of up to ``limit`` events after ``position``, in
        position order, of these types, workflows and namespaces only when given."""
        where: list[str] = ["e.position > ?"]
        params: list[Any] = [position]
        for column, values in (("e.type", types), ("e.workflow_id", workflow_ids)):
            if values:
                where.append(f"{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        join = ""
        if namespaces is not None:
            join = " JOIN workflows w ON w.id = e.workflow_id"
            where.append(f"w.namespace IN ({', '.join('?' * len(namespaces))})")
            params.extend(namespaces)
        sql = f"SELECT e.position, e.event FROM events e{join} WHERE {' AND '.join(where)}"
        rows = self._query(sql + " ORDER BY e.position LIMIT ?", (*params, limit))
        return [(int(r[0]), bytes(r[1])) for r in rows]

    def list_workflows(
        self, query: WorkflowQuery, limit: int, before: tuple[float, str] | None
    ) -> list[WorkflowRow]:
        """Newest first of those ``query`` selects, strictly older than ``before``
        (created_at, id) when given."""
        where, params = _workflow_filter(query)
        if before is not None:
            where.append("(created_at < ? OR (created_at = ? AND id < ?))")
            params.extend([before[0], before[0], before[1]])
        sql = f"SELECT {self._WF_COLS} FROM workflows w"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        params.append(limit)
        return [self._workflow_row(r) for r in self._query(sql, tuple(params))]

    def load_unfinished(self) -> list[WorkflowRow]:
        """Workflows not in a terminal state, with steps, oldest first."""
        marks = ", ".join("?" * len(TERMINAL))
        with self._snapshot() as conn:
            rows = self._run(
                conn,
                f"SELECT {self._WF_COLS} FROM workflows w WHERE state NOT IN ({marks})"
                " ORDER BY created_at",
                TERMINAL,
            ).fetchall()
            out = []
            for r in rows:
                row = self._workflow_row(r)
                row.steps = self._steps(conn, row.workflow_id)
                row.records = self._records(conn, row.workflow_id)
                out.append(row)
        return out

    def load_agents(self) -> list[AgentRegistration]:
        """Every registered agent, as last registered."""
        rows = self._query(
            "SELECT agent_id, agent_type, capabilities, max_concurrent_tasks, config, namespace"
            " FROM agents"
        )
        return [
            AgentRegistration(
                r[0], r[1], tuple(loads(r[2])), r[3], loads(r[4]) if r[4] else {}, r[5]
            )
            for r in rows
        ]


def _workflow_filter(query: WorkflowQuery) -> tuple[list[str], list[Any]]:
    """WHERE terms and their parameters for ``query`` (SQL both stores accept)."""
    where: list[str] = []
    params: list[Any] = []
    if query.namespaces is not None:  # IN () is an error on PostgreSQL: NULL matches nothing
        where.append(f"namespace IN ({', '.join('?' * len(query.namespaces)) or 'NULL'})")
        params.extend(query.namespaces)
    if query.states:
        where.append(f"state IN ({', '.join('?' * len(query.states))})")
        params.extend(query.states)
    if query.name_prefix:  # substr, not LIKE: no wildcards to escape
        where.append("substr(name, 1, ?) = ?")
        params.extend([len(query.name_prefix), query.name_prefix])
    if query.created_after is not None:
        where.append("created_at >= ?")
        params.append(query.created_after)
    if query.created_before is not None:
        where.append("created_at < ?")
        params.append(query.created_before)
    return where, params
