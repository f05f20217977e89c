"""Read models for queries: a run's status (live or stored) and an agent's entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..engine.model import (
    DEFAULT_NAMESPACE,
    AgentRegistration,
    Blob,
    ErrorInfo,
    ExecutionMode,
    Priority,
    StepState,
    WorkflowState,
)
from ..engine.pool import AgentSession
from ..engine.runs import WorkflowRun
from ..store.base import WorkflowRow


@dataclass(slots=True)
class StepStatusView:
    step_id: str
    name: str
    capability: str
    state: StepState
    attempts: int
    agent_id: str
    execution_time: float
    output: Blob | None
    error: ErrorInfo | None
    dependencies: tuple[str, ...] = ()


@dataclass(slots=True)
class StatusView:
    workflow_id: str
    name: str
    description: str
    state: WorkflowState
    priority: Priority
    mode: ExecutionMode
    progress: float
    current_step: str
    total_execution_time: float
    created_at: float
    started_at: float
    finished_at: float
    last_seq: int
    error_message: str
    total_steps: int
    completed_steps: int
    steps: list[StepStatusView] = field(default_factory=list)
    namespace: str = DEFAULT_NAMESPACE


def _elapsed(started: float, finished: float, now: float) -> float:
    if not started:
        return 0.0
    return (finished or now) - started


def status_of_run(wf: WorkflowRun, now: float, with_steps: bool = True) -> StatusView:
    view = StatusView(
        workflow_id=wf.id,
        name=wf.spec.name,
        description=wf.spec.description,
        state=wf.state,
        priority=wf.spec.priority,
        mode=wf.spec.mode,
        progress=wf.progress(),
        current_step=wf.current_step() if not wf.state.terminal else "",
        total_execution_time=_elapsed(wf.started_at, wf.finished_at, now),
        created_at=wf.created_at,
        started_at=wf.started_at,
        finished_at=wf.finished_at,
        last_seq=wf.seq,
        error_message=wf.error_message,
        total_steps=wf.total,
        completed_steps=wf.completed,
        namespace=wf.namespace,
    )
    if with_steps:
        view.steps = [
            StepStatusView(
                s.spec.step_id,
                s.spec.name,
                s.spec.capability,
                s.state,
                s.attempt,
                s.agent_id,
                s.execution_time(now),
                s.output,
                s.error,
                s.spec.dependencies,
            )
            for s in wf.order
        ]
    return view


def status_of_row(row: WorkflowRow, now: float) -> StatusView:
    specs = {s.step_id: s for s in row.spec.steps}
    steps = [
        StepStatusView(
            r.step_id,
            specs[r.step_id].name,
            specs[r.step_id].capability,
            StepState(r.state),
            r.attempt,
            r.agent_id,
            _elapsed(r.started_at or r.assigned_at, r.finished_at, now),
            r.output,
            ErrorInfo(r.error_message, r.error_type) if r.error_message else None,
            specs[r.step_id].dependencies,
        )
        for r in row.steps
    ]
    state = WorkflowState(row.state)
    # As WorkflowRun.progress: cancelled steps are not progress.
    finished = sum(1 for s in steps if s.state.terminal and s.state is not StepState.CANCELLED)
    current = ""
    if not state.terminal:
        running = [s.step_id for s in steps if s.state in (StepState.RUNNING, StepState.ASSIGNED)]
        pending = [s.step_id for s in steps if not s.state.terminal]
        current = (running or pending or [""])[0]
    return StatusView(
        workflow_id=row.workflow_id,
        name=row.spec.name,
        description=row.spec.description,
        state=state,
        priority=row.spec.priority,
        mode=row.spec.mode,
        progress=finished / len(steps) if steps else 0.0,
        current_step=current,
        total_execution_time=_elapsed(row.started_at, row.finished_at, now),
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        last_seq=row.last_seq,
        error_message=row.error_message,
        total_steps=len(row.spec.steps),
        completed_steps=row.completed_steps,
        steps=steps,
        namespace=row.namespace,
    )


@dataclass(slots=True)
class AgentView:
    """An agent as the registry and the pool know it (either or both)."""

    agent_id: str
    agent_type: str = ""
    capabilities: list[str] = field(default_factory=list)
    max_concurrent_tasks: int = 0
    config: dict[str, Any] = field(default_factory=dict)
    registered: bool = False
    connected: bool = False
    current_load: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    completed_steps: int = 0
    failed_steps: int = 0
    connected_at: float = 0.0
    namespace: str = DEFAULT_NAMESPACE
    mean_seconds: float = 0.0  # EWMA of successful attempts; 0 before the first
    failure_rate: float = 0.0  # EWMA of failures, 0..1


def agent_view(
    agent_id: str, reg: AgentRegistration | None, session: AgentSession | None
) -> AgentView:
    """The registry entry, overlaid with the live session's figures when connected. An
    entry of another namespace than the session's is not shown with it."""
    if reg is not None and session is not None and reg.namespace != session.namespace:
        reg = None
    view = AgentView(agent_id=agent_id, registered=reg is not None)
    if reg is not None:
        view.namespace = reg.namespace
        view.agent_type = reg.agent_type
        view.capabilities = list(reg.capabilities)
        view.max_concurrent_tasks = reg.max_concurrent_tasks
        view.config = dict(reg.config)
    if session is not None:
        view.namespace = session.namespace
        view.connected = True
        view.agent_type = session.agent_type or view.agent_type
        view.capabilities = sorted(session.capabilities)
        view.max_concurrent_tasks = session.max_tasks
        view.current_load = len(session.held)
        view.labels = dict(session.labels)
        view.completed_steps = session.completed
        view.failed_steps = session.failed
        view.connected_at = session.connected_at
        view.mean_seconds = session.overall.duration if session.overall.successes else 0.0
        view.failure_rate = session.overall.failure
    return view
