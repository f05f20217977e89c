"""The rows a group commit writes, named after the SQL columns they fill.

Each field name IS a column name, and fields are in SQL parameter order, so a
store generates its statements from ``_fields`` once and passes rows to
``executemany`` as they are. Update rows end with their WHERE key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class WorkflowInsert(NamedTuple):
    """A new workflow; the other columns start empty (state 'pending', times 0)."""

    id: str
    request_id: str | None  # None when no idempotency key was given (unique index)
    name: str
    spec: bytes  # JSON of the WorkflowSpec
    priority: int
    mode: str
    created_at: float
    context: bytes  # JSON object
    total_steps: int
    namespace: str


class StepInsert(NamedTuple):
    """A step of a new workflow, in state 'pending'."""

    workflow_id: str
    step_id: str
    idx: int


class WorkflowUpdate(NamedTuple):
    """The mutable columns of a workflow; keyed by ``id`` (last)."""

    state: str
    started_at: float
    finished_at: float
    session_id: str
    context: bytes  # JSON object
    error_message: str
    completed_steps: int
    id: str


class StepUpdate(NamedTuple):
    """The mutable columns of a step; keyed by ``workflow_id, step_id`` (last)."""

    state: str
    attempt: int
    agent_id: str
    attempt_id: str
    assigned_at: float
    started_at: float
    finished_at: float
    output_encoding: str | None
    output: bytes | None
    output_metadata: str  # JSON object of string -> string, '' for none
    error_message: str
    error_type: str
    workflow_id: str
    step_id: str


class PipeUpdate(NamedTuple):
    """A PIPELINE step's counters; keyed by ``workflow_id, step_id`` (last)."""

    pipe: str  # JSON object
    workflow_id: str
    step_id: str


class ProgressUpdate(NamedTuple):
    """The highest numbered progress index stored for a step's current attempt."""

    progress: int
    workflow_id: str
    step_id: str


class PipeRecordRow(NamedTuple):
    """A record a stage received (kind "in") or an output it made ("out"), by index."""

    workflow_id: str
    step_id: str
    kind: str
    idx: int
    encoding: str | None
    data: bytes | None
    metadata: str


class EventRow(NamedTuple):
    """One committed event; ``event`` is its wire encoding, the rest is for queries."""

    workflow_id: str
    seq: int
    type: str
    time: float
    step_id: str
    attempt: int
    agent_id: str
    event: bytes
    position: int  # the commit order across workflows (WatchEvents resumes after one)


class AgentRow(NamedTuple):
    """A registry entry; replaces any earlier one with the same id."""

    agent_id: str
    agent_type: str
    capabilities: str  # JSON array
    max_concurrent_tasks: int
    config: bytes  # JSON object
    namespace: str


def insert_sql(
    table: str,
    fields: tuple[str, ...],
    fixed: dict[str, str] | None = None,
    verb: str = "INSERT",
    mark: str = "?",
) -> str:
    """An INSERT binding ``fields`` in order with the driver's placeholder ``mark``;
    ``fixed`` columns get SQL literals."""
    fixed = fixed or {}
    columns = ", ".join([*fields, *fixed])
    values = ", ".join([mark] * len(fields) + list(fixed.values()))
    return f"{verb} INTO {table} ({columns}) VALUES ({values})"


def update_sql(table: str, fields: tuple[str, ...], key: int, mark: str = "?") -> str:
    """An UPDATE setting all but the last ``key`` fields, matched on those."""
    sets = ", ".join(f"{f}={mark}" for f in fields[:-key])
    where = " AND ".join(f"{f}={mark}" for f in fields[-key:])
    return f"UPDATE {table} SET {sets} WHERE {where}"


#: The columns a new workflow row starts with besides ``WorkflowInsert``'s (literals:
#: the SQLite schema 2 gave them no defaults).
NEW_WORKFLOW = {
    "state": "'pending'",
    "started_at": "0",
    "finished_at": "0",
    "session_id": "''",
    "error_message": "''",
    "completed_steps": "0",
}
NEW_STEP = {"state": "'pending'"}

# How many trailing fields of each update row form its WHERE key.
WORKFLOW_UPDATE_KEY = 1
STEP_UPDATE_KEY = 2
PIPE_UPDATE_KEY = 2


@dataclass(slots=True)
class WriteBatch:
    """Rows of one group commit, snapshotted on the loop thread, written in one transaction."""

    new_workflows: list[WorkflowInsert] = field(default_factory=list)
    new_steps: list[StepInsert] = field(default_factory=list)
    workflow_updates: list[WorkflowUpdate] = field(default_factory=list)
    step_updates: list[StepUpdate] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    pipe_updates: list[PipeUpdate] = field(default_factory=list)
    pipe_records: list[PipeRecordRow] = field(default_factory=list)
    progress_updates: list[ProgressUpdate] = field(default_factory=list)
    agents: list[AgentRow] = field(default_factory=list)

    def rows(self) -> int:
        """How many rows the batch writes."""
        return (
            len(self.new_workflows)
            + len(self.new_steps)
            + len(self.workflow_updates)
            + len(self.step_updates)
            + len(self.events)
            + len(self.pipe_updates)
            + len(self.pipe_records)
            + len(self.progress_updates)
            + len(self.agents)
        )

    def __bool__(self) -> bool:
        return bool(
            self.new_workflows
            or self.new_steps
            or self.workflow_updates
            or self.step_updates
            or self.events
            or self.agents
            or self.pipe_updates
            or self.pipe_records
            or self.progress_updates
        )
