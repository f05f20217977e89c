"""The persistence interface the server depends on; SQLite is the embedded default.

A store is used from one writer thread (``write`` only, one transaction per
call) and from any number of reader threads at once (everything else), while
the writer commits. Implementations must be safe for that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from ..engine.model import DEFAULT_NAMESPACE, AgentRegistration, Blob, EventType, WorkflowSpec
from .rows import WriteBatch  # re-exported: it lived here before rows.py

__all__ = [
    "Pruned",
    "StepRow",
    "Store",
    "StoredEvent",
    "WorkflowQuery",
    "WorkflowRow",
    "WriteBatch",
]


@dataclass(frozen=True, slots=True)
class WorkflowQuery:
    """Which workflows a listing wants; every field set narrows it."""

    states: tuple[str, ...] = ()
    namespaces: tuple[str, ...] | None = None  # None: every namespace
    name_prefix: str = ""
    created_after: float | None = None  # at or after, epoch seconds
    created_before: float | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    type: EventType
    data: bytes  # the encoding the server streams (a serialised dwe.v1.WorkflowEvent)


@dataclass(slots=True)
class StepRow:
    step_id: str
    index: int
    state: str
    attempt: int
    agent_id: str
    attempt_id: str
    assigned_at: float
    started_at: float
    finished_at: float
    output: Blob | None
    error_message: str
    error_type: str
    pipe: str = ""  # PIPELINE counters (JSON), '' outside PIPELINE runs
    progress: int = 0  # highest numbered progress index stored for the current attempt


# (step_id, "in" | "out", index, blob): a record a PIPELINE stage received, or an output.
PipeRecord = tuple[str, str, int, Blob | None]


@dataclass(slots=True)
class WorkflowRow:
    workflow_id: str
    request_id: str
    spec: WorkflowSpec
    state: str
    created_at: float
    started_at: float
    finished_at: float
    session_id: str
    context: dict[str, Any]
    error_message: str
    completed_steps: int
    last_seq: int
    namespace: str = DEFAULT_NAMESPACE
    steps: list[StepRow] = field(default_factory=list)
    records: list[PipeRecord] = field(default_factory=list)


class Pruned(NamedTuple):
    """What one prune deleted (or, for a count, would delete)."""

    workflows: list[tuple[str, str, str]]  # (workflow_id, request_id or '', namespace) of each
    events: int


class Store(Protocol):
    #: A small ``write`` takes microseconds and never waits on a disk flush or the
    #: network, so the commit loop may run it on the event loop instead of handing
    #: it to the writer thread (SQLite in WAL mode below synchronous=FULL).
    inline_writes: bool

    def write(self, batch: WriteBatch) -> list[str]:
        """Commit the batch in one transaction, or raise and commit nothing.

        Returns the ids of new workflows not inserted because their request_id
        was already stored (a concurrent or forgotten repeat of a create).
        """

    def load_workflow(self, workflow_id: str, with_steps: bool = True) -> WorkflowRow | None: ...

    def find_request(self, namespace: str, request_id: str) -> str | None:
        """The workflow id created under an idempotency key of a namespace, if any."""

    def load_events(self, workflow_id: str, after_seq: int = 0) -> list[StoredEvent]:
        """Events with seq > after_seq, in order, as they were encoded."""

    def last_position(self) -> int:
        """The largest event position stored (0 for none)."""

    def events_after(
        self,
        position: int,
        limit: int,
        types: list[str] | None = None,
        workflow_ids: list[str] | None = None,
        namespaces: list[str] | None = None,
    ) -> list[tuple[int, bytes]]:
        """(position, encoded event) after ``position`` in position order, filtered."""

    def list_workflows(
        self, query: WorkflowQuery, limit: int, before: tuple[float, str] | None
    ) -> list[WorkflowRow]:
        """Newest first of those ``query`` selects, strictly older than ``before``
        (created_at, id) when given."""

    def load_unfinished(self) -> list[WorkflowRow]:
        """Workflows not in a terminal state, with steps, for resuming after restart."""

    def load_agents(self) -> list[AgentRegistration]: ...

    def prune(self, ended_before: float, limit: int, namespaces: list[str] | None = None) -> Pruned:
        """Delete up to ``limit`` workflows in a terminal state whose ``finished_at`` is
        before ``ended_before`` (epoch seconds), oldest first (of ``namespaces`` only, when
        given), with their steps, events and pipeline records, in one transaction. Called
        on the writer thread only; fewer than ``limit`` workflows means none is left.
        """

    def count_prunable(
        self, ended_before: float, namespaces: list[str] | None = None
    ) -> tuple[int, int]:
        """(workflows, events) that ``prune`` with this cut would delete in all."""

    def reclaim(self, pages: int) -> int:
        """Give up to ``pages`` free pages back to the file system (writer thread only);
        returns how many were given back (0 when the store cannot shrink)."""

    def close(self) -> None: ...
