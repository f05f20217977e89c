"""The one place that turns domain objects into the rows a store writes.

The functions take structural types listing exactly the attributes they read,
so the store depends on the shape of runs, not on the engine's run classes.
"""

from __future__ import annotations

from typing import Protocol

from ..engine.model import DEFAULT_NAMESPACE, AgentRegistration, Blob, ErrorInfo, WorkflowSpec
from .codec import dumps, metadata_to_json, spec_to_json
from .rows import (
    AgentRow,
    PipeRecordRow,
    PipeUpdate,
    ProgressUpdate,
    StepInsert,
    StepUpdate,
    WorkflowInsert,
    WorkflowUpdate,
)


class RunView(Protocol):
    """What ``workflow_update`` reads of a workflow run (``engine.runs.WorkflowRun``)."""

    @property
    def id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def started_at(self) -> float: ...
    @property
    def finished_at(self) -> float: ...
    @property
    def session_id(self) -> str: ...
    def context_blob(self) -> Blob:
        """The effective context, JSON-encoded once per change by the run itself."""
        ...

    @property
    def error_message(self) -> str: ...
    @property
    def completed(self) -> int: ...


class _WorkflowKey(Protocol):
    @property
    def id(self) -> str: ...


class _StepKey(Protocol):
    @property
    def step_id(self) -> str: ...


class StepView(Protocol):
    """What ``step_update`` reads of a step run (``engine.runs.StepRun``)."""

    @property
    def wf(self) -> _WorkflowKey: ...
    @property
    def spec(self) -> _StepKey: ...
    @property
    def state(self) -> str: ...
    @property
    def attempt(self) -> int: ...
    @property
    def agent_id(self) -> str: ...
    @property
    def attempt_id(self) -> str: ...
    @property
    def assigned_at(self) -> float: ...
    @property
    def started_at(self) -> float: ...
    @property
    def finished_at(self) -> float: ...
    @property
    def output(self) -> Blob | None: ...
    @property
    def error(self) -> ErrorInfo | None: ...


def workflow_insert(
    workflow_id: str,
    request_id: str,
    spec: WorkflowSpec,
    created_at: float,
    namespace: str = DEFAULT_NAMESPACE,
) -> tuple[WorkflowInsert, list[StepInsert]]:
    """Rows for a new workflow and its steps.

    Args:
        workflow_id: The new workflow's id.
        request_id: Its idempotency key; '' for none (stored as NULL, the column is unique).
        spec: The validated spec.
        created_at: Creation time, seconds since the epoch.
        namespace: The namespace it belongs to.

    Returns:
        The workflow row and one row per step, in declaration order.
    """
    row = WorkflowInsert(
        id=workflow_id,
        request_id=request_id or None,
        name=spec.name,
        spec=spec_to_json(spec),
        priority=int(spec.priority),
        mode=str(spec.mode),
        created_at=created_at,
        context=dumps(spec.context),
        total_steps=len(spec.steps),
        namespace=namespace,
    )
    return row, [StepInsert(workflow_id, s.step_id, i) for i, s in enumerate(spec.steps)]


def workflow_update(run: RunView) -> WorkflowUpdate:
    """The mutable columns of a workflow run, keyed by its id."""
    return WorkflowUpdate(
        state=str(run.state),
        started_at=run.started_at,
        finished_at=run.finished_at,
        session_id=run.session_id,
        context=run.context_blob().data,
        error_message=run.error_message,
        completed_steps=run.completed,
        id=run.id,
    )


def step_update(step: StepView) -> StepUpdate:
    """The mutable columns of a step run, keyed by its workflow and step ids."""
    output, error = step.output, step.error
    return StepUpdate(
        state=str(step.state),
        attempt=step.attempt,
        agent_id=step.agent_id,
        attempt_id=step.attempt_id,
        assigned_at=step.assigned_at,
        started_at=step.started_at,
        finished_at=step.finished_at,
        output_encoding=output.encoding if output is not None else None,
        output=output.data if output is not None else None,
        output_metadata=metadata_to_json(output.metadata) if output is not None else "",
        error_message=error.message if error is not None else "",
        error_type=error.type if error is not None else "",
        workflow_id=step.wf.id,
        step_id=step.spec.step_id,
    )


def pipe_update(step: StepView, state: str) -> PipeUpdate:
    """A PIPELINE step's counters (JSON made by the engine's pipeline policy)."""
    return PipeUpdate(pipe=state, workflow_id=step.wf.id, step_id=step.spec.step_id)


def progress_update(step: StepView, index: int) -> ProgressUpdate:
    """The highest numbered progress index applied for the step's current attempt."""
    return ProgressUpdate(progress=index, workflow_id=step.wf.id, step_id=step.spec.step_id)


def pipe_record(step: StepView, kind: str, index: int, blob: Blob | None) -> PipeRecordRow:
    """A record a stage received ("in") or an invocation output ("out")."""
    return PipeRecordRow(
        workflow_id=step.wf.id,
        step_id=step.spec.step_id,
        kind=kind,
        idx=index,
        encoding=blob.encoding if blob is not None else None,
        data=blob.data if blob is not None else None,
        metadata=metadata_to_json(blob.metadata) if blob is not None else "",
    )


def agent_row(reg: AgentRegistration) -> AgentRow:
    """A registry entry as stored."""
    return AgentRow(
        agent_id=reg.agent_id,
        agent_type=reg.agent_type,
        capabilities=dumps(list(reg.capabilities)).decode(),
        max_concurrent_tasks=reg.max_concurrent_tasks,
        config=dumps(reg.config),
        namespace=reg.namespace,
    )
