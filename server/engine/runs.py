"""Mutable run state of workflows and steps, owned by the scheduler."""

from __future__ import annotations

import heapq
import json
from typing import Any

from .config import ContextTooLarge
from .model import (
    DEFAULT_NAMESPACE,
    JSON_ENCODING,
    Blob,
    ErrorInfo,
    ExecutionMode,
    StepSpec,
    StepState,
    WorkflowSpec,
)
from .model import WorkflowState as WS


class StepRun:
    """One step of one run. Slots keep the per-step footprint small."""

    __slots__ = (
        "agent_id",
        "assigned_at",
        "attempt",
        "attempt_id",
        "dependents",
        "error",
        "finished_at",
        "index",
        "output",
        "pending",
        "priority_boost",
        "progress_index",
        "rank",
        "released",
        "session_id",
        "spec",
        "started_at",
        "state",
        "tries",
        "waiting",
        "wf",
    )

    def __init__(self, spec: StepSpec, wf: WorkflowRun, index: int) -> None:
        self.spec = spec
        self.wf = wf
        self.index = index
        self.state = StepState.PENDING
        self.waiting = len(spec.dependencies)
        self.dependents: list[StepRun] = []
        self.attempt = 0
        # Attempts at the current unit of work that count against retry_count.
        self.tries = 0
        self.attempt_id = ""
        self.agent_id = ""
        self.session_id = ""
        self.assigned_at = 0.0
        self.started_at = 0.0
        self.finished_at = 0.0
        self.output: Blob | None = None
        self.error: ErrorInfo | None = None
        # Seconds added by adaptation rules to the step's critical path (ADAPTIVE).
        self.priority_boost = 0.0
        # Dispatch order within a run: lower first; ADAPTIVE sets -(critical path + boost).
        self.rank = 0.0
        # True while the step occupies one of its run's parallel slots.
        self.released = False
        # Highest numbered progress index applied for the current attempt, and its
        # result while it waits for progress still missing (engine.gate).
        self.progress_index = 0
        self.pending: tuple[int, Blob | None, ErrorInfo | None, float] | None = None

    @property
    def in_flight(self) -> bool:
        """An attempt is out on an agent (assigned or running)."""
        return self.state is StepState.ASSIGNED or self.state is StepState.RUNNING

    def execution_time(self, now: float) -> float:
        begin = self.started_at or self.assigned_at
        if not begin:
            return 0.0
        return (self.finished_at or now) - begin

    def __repr__(self) -> str:
        return f"StepRun({self.wf.id}/{self.spec.step_id} {self.state})"


class WorkflowRun:
    """One workflow run: its steps, counters and the steps held back by its limit."""

    def __init__(
        self,
        workflow_id: str,
        spec: WorkflowSpec,
        created_at: float,
        request_id: str = "",
        namespace: str = DEFAULT_NAMESPACE,
    ) -> None:
        self.id = workflow_id
        self.spec = spec
        self.request_id = request_id
        self.namespace = namespace
        self.state = WS.PENDING
        self.created_at = created_at
        self.started_at = 0.0
        self.finished_at = 0.0
        self.session_id = ""
        self.context: dict[str, Any] = dict(spec.context)
        self._context_blob: Blob | None = None
        self.seq = 0
        # The seq of the run's last committed event: memory is not ahead of the store
        # while it equals ``seq`` (every change a status shows comes with an event).
        self.stored_seq = 0
        self.error_message = ""
        self.steps: dict[str, StepRun] = {}
        self.order: list[StepRun] = []
        for i, s in enumerate(spec.steps):
            run = StepRun(s, self, i)
            self.steps[s.step_id] = run
            self.order.append(run)
        for run in self.order:
            for dep in run.spec.dependencies:
                self.steps[dep].dependents.append(run)
        # Ready steps not yet released because of the parallel limit, by rank and index.
        self.held: list[tuple[float, int, StepRun]] = []
        self.released = 0
        self.completed = 0
        self.failed = 0
        self.skipped = 0
        self.cancelled = 0
        # Set when the run starts; earlier runs dispatch first within a priority.
        self.start_order = 0

    @property
    def total(self) -> int:
        return len(self.order)

    @property
    def finished_steps(self) -> int:
        return self.completed + self.failed + self.skipped + self.cancelled

    @property
    def limit(self) -> int:
        """Steps released at once: 1 for SEQUENTIAL, max_parallel_steps (0 = no limit)."""
        if self.spec.mode is ExecutionMode.SEQUENTIAL:
            return 1
        return self.spec.max_parallel_steps

    def merge_context(self, extra: dict[str, Any], limit: int = 0) -> None:
        """Merge a start context over the spec's (keys of ``extra`` win); refuse,
        changing nothing, when the result would encode to over ``limit`` bytes."""
        merged = {**self.context, **extra}
        if limit:
            size = len(json.dumps(merged, separators=(",", ":"), ensure_ascii=False).encode())
            if size > limit:
                raise ContextTooLarge(
                    f"workflow {self.id}: the context with the start context merged in is"
                    f" {size} bytes, over the payload limit of {limit} bytes"
                    " (--max-payload-bytes)"
                )
        self.context = merged
        self._context_blob = None

    def context_blob(self) -> Blob:
        """The effective context as json/plain, encoded once per change."""
        if self._context_blob is None:
            data = json.dumps(self.context, separators=(",", ":"), ensure_ascii=False)
            self._context_blob = Blob(JSON_ENCODING, data.encode())
        return self._context_blob

    def hold(self, step: StepRun) -> None:
        heapq.heappush(self.held, (step.rank, step.index, step))

    def pop_held(self) -> StepRun | None:
        while self.held:
            step = heapq.heappop(self.held)[2]
            if step.state is StepState.READY:
                return step
        return None

    def progress(self) -> float:
        """Steps that ran to an end or were skipped, over all: cancelled ones do not
        count, so a run cancelled early shows how far it got, not 100 %."""
        done = self.completed + self.failed + self.skipped
        return done / self.total if self.total else 1.0

    def current_step(self) -> str:
        """A running step, else the first step not finished, else ''."""
        first_open = ""
        for s in self.order:
            if s.in_flight:
                return s.spec.step_id
            if not first_open and not s.state.terminal:
                first_open = s.spec.step_id
        return first_open

    def __repr__(self) -> str:
        return f"WorkflowRun({self.id} {self.state})"
