"""Mutable run state of workflows and steps, owned by the scheduler."""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any

from .graph import critical_path, critical_path_lengths
from .model import Blob, ErrorInfo, ExecutionMode, StepSpec, StepState, WorkflowSpec, WorkflowState


class StepRun:
    """One step of one run. Slots keep the per-step footprint small."""

    __slots__ = (
        "agent_id",
        "assigned_at",
        "attempt",
        "attempt_id",
        "cp_length",
        "current_input",
        "dependents",
        "emitted",
        "error",
        "ever_emitted",
        "finished_at",
        "index",
        "output",
        "outputs",
        "priority_boost",
        "rank",
        "records",
        "released",
        "session_id",
        "spec",
        "started_at",
        "state",
        "streamed",
        "tries",
        "upstream_done",
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
        # Added by adaptation rules, in the units of cp_length (seconds).
        self.priority_boost = 0.0
        # Estimated seconds from this step's start to the end of the run (ADAPTIVE).
        self.cp_length = 0.0
        # Dispatch order within a workflow: lower first; ADAPTIVE sets -(cp_length + boost).
        self.rank = 0.0
        # True while the step occupies one of its workflow's parallel slots.
        self.released = False
        # PIPELINE: a step with one dependency runs once per record (or batch)
        # its upstream emits; see pipeline.py.
        self.streamed = False
        self.records: deque[Blob] = deque()
        self.outputs: list[Blob | None] = []
        self.current_input: Blob | None = None
        self.upstream_done = False
        self.emitted = 0
        self.ever_emitted = False

    # Read-only views for adaptation rules, named as in the guide's WorkflowStep.

    @property
    def step_id(self) -> str:
        return self.spec.step_id

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def agent_type(self) -> str:
        return self.spec.agent_type

    @property
    def agent_capability(self) -> str:
        return self.spec.capability

    @property
    def dependencies(self) -> tuple[str, ...]:
        return self.spec.dependencies

    @property
    def estimated_duration(self) -> float:
        return self.spec.estimated_duration

    def inputs(self) -> dict[str, Blob | None]:
        """What the next attempt receives: dependency outputs, or the current record(s)."""
        if self.streamed:
            return {self.spec.dependencies[0]: self.current_input}
        steps = self.wf.steps
        return {dep: steps[dep].output for dep in self.spec.dependencies}

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
    ) -> None:
        self.id = workflow_id
        self.spec = spec
        self.request_id = request_id
        self.state = WorkflowState.PENDING
        self.created_at = created_at
        self.started_at = 0.0
        self.finished_at = 0.0
        self.session_id = ""
        self.context: dict[str, Any] = dict(spec.context)
        self.context_blob: Blob | None = None
        self.seq = 0
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
        if spec.mode is ExecutionMode.PIPELINE:
            for run in self.order:
                run.streamed = len(run.spec.dependencies) == 1
        if spec.mode is ExecutionMode.ADAPTIVE:
            for sid, length in critical_path_lengths(spec.steps).items():
                self.steps[sid].cp_length = length
        # Ready steps not yet released because of the parallel limit, by declaration order.
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

    def hold(self, step: StepRun) -> None:
        heapq.heappush(self.held, (step.rank, step.index, step))

    def pop_held(self) -> StepRun | None:
        while self.held:
            step = heapq.heappop(self.held)[2]
            if step.state is StepState.READY:
                return step
        return None

    @property
    def workflow_id(self) -> str:
        return self.id

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def execution_mode(self) -> ExecutionMode:
        return self.spec.mode

    def get_critical_path(self) -> list[StepRun]:
        """The steps of the longest estimated_duration-weighted chain, first to last."""
        return [self.steps[sid] for sid in critical_path(self.spec.steps)]

    def progress(self) -> float:
        return self.finished_steps / self.total if self.total else 1.0

    def current_step(self) -> str:
        """A running step, else the first step not finished, else ''."""
        first_open = ""
        for s in self.order:
            if s.state in (StepState.RUNNING, StepState.ASSIGNED):
                return s.spec.step_id
            if not first_open and not s.state.terminal:
                first_open = s.spec.step_id
        return first_open

    def __repr__(self) -> str:
        return f"WorkflowRun({self.id} {self.state})"
