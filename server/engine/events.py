"""Typed events of the domain: one slotted dataclass per event type.

Every event carries its workflow id, a per-workflow ``seq`` (1, 2, ... with no
gaps, set by the recorder when the event is emitted) and the time it was
decided. Step events add the step, its attempt and agent. ``type`` is a class
attribute, so the contract's EventType and the detail message it selects map
one to one onto these classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .model import Blob, ErrorInfo, EventType, ExecutionMode, Priority, WorkflowState


@dataclass(slots=True)
class Event:
    """A committed fact about a workflow; seq has no gaps within a workflow."""

    type: ClassVar[EventType]
    terminal: ClassVar[bool] = False

    workflow_id: str
    seq: int
    time: float
    # The transport's encoding, filled once and reused for storage and every stream.
    wire: bytes | None = field(default=None, kw_only=True, repr=False, compare=False)
    # Its place in the commit order across workflows, set by the commit that stores it.
    position: int = field(default=0, kw_only=True, compare=False)


@dataclass(slots=True)
class _RunOpened(Event):
    name: str
    session_id: str
    context: Blob  # the effective context, JSON-encoded once per run
    total_steps: int
    mode: ExecutionMode
    priority: Priority
    namespace: str = ""  # the run's; watchers of many namespaces tell them apart by it


@dataclass(slots=True)
class WorkflowStarted(_RunOpened):
    """The run began."""

    type: ClassVar[EventType] = EventType.WORKFLOW_STARTED


@dataclass(slots=True)
class WorkflowQueued(_RunOpened):
    """The run was started but waits for a workflow slot."""

    type: ClassVar[EventType] = EventType.WORKFLOW_QUEUED


@dataclass(slots=True)
class WorkflowAdapted(Event):
    """ADAPTIVE mode changed the order of ready steps or the agent of a step."""

    type: ClassVar[EventType] = EventType.WORKFLOW_ADAPTED
    decision: str
    reason: str
    step_ids: tuple[str, ...]


@dataclass(slots=True)
class StepEvent(Event):
    """An event about one attempt of one step."""

    step_id: str
    step_name: str
    attempt: int
    agent_id: str


@dataclass(slots=True)
class StepAssigned(StepEvent):
    """An attempt was assigned to an agent (the guide's ``agent_started``)."""

    type: ClassVar[EventType] = EventType.AGENT_STARTED
    task: str
    capability: str


@dataclass(slots=True)
class StepStreamed(StepEvent):
    """A running handler streamed content (and maybe a record)."""

    type: ClassVar[EventType] = EventType.AGENT_STREAM
    content: str
    data: Blob | None


@dataclass(slots=True)
class StepCompleted(StepEvent):
    """An attempt succeeded; ``output`` is after data transformations."""

    type: ClassVar[EventType] = EventType.AGENT_COMPLETED
    output: Blob | None
    execution_time: float


@dataclass(slots=True)
class StepAttemptFailed(StepEvent):
    """An attempt failed; a StepRetrying follows when ``will_retry``."""

    type: ClassVar[EventType] = EventType.AGENT_ERROR
    error: ErrorInfo
    will_retry: bool
    execution_time: float


@dataclass(slots=True)
class StepRetrying(StepEvent):
    """The step runs again after ``delay`` (a failure, or its agent went away)."""

    type: ClassVar[EventType] = EventType.AGENT_RETRYING
    next_attempt: int
    delay: float
    reason: str


@dataclass(slots=True)
class StepSkipped(StepEvent):
    """The step will not run: ``dependency`` did not complete."""

    type: ClassVar[EventType] = EventType.STEP_SKIPPED
    error: ErrorInfo
    dependency: str


@dataclass(slots=True)
class RunSummary:
    """What a terminal event reports; ``results`` is bounded, the rest are named."""

    success_rate: float
    total_execution_time: float
    results: dict[str, Blob | None]
    omitted_results: tuple[str, ...]
    completed_steps: int
    failed_steps: int
    skipped_steps: int
    cancelled_steps: int
    total_steps: int
    error_message: str


@dataclass(slots=True)
class RunEnded(Event):
    """The run reached a terminal state (one subclass per state)."""

    state: ClassVar[WorkflowState]
    terminal: ClassVar[bool] = True
    summary: RunSummary


@dataclass(slots=True)
class WorkflowCompleted(RunEnded):
    """Every step finished and no required step failed."""

    type: ClassVar[EventType] = EventType.WORKFLOW_COMPLETED
    state: ClassVar[WorkflowState] = WorkflowState.COMPLETED


@dataclass(slots=True)
class WorkflowFailed(RunEnded):
    """A required step failed for good."""

    type: ClassVar[EventType] = EventType.WORKFLOW_FAILED
    state: ClassVar[WorkflowState] = WorkflowState.FAILED


@dataclass(slots=True)
class WorkflowCancelled(RunEnded):
    """A caller cancelled the run."""

    type: ClassVar[EventType] = EventType.WORKFLOW_CANCELLED
    state: ClassVar[WorkflowState] = WorkflowState.CANCELLED


@dataclass(slots=True)
class WorkflowTimedOut(RunEnded):
    """The run exceeded its default_timeout."""

    type: ClassVar[EventType] = EventType.WORKFLOW_TIMED_OUT
    state: ClassVar[WorkflowState] = WorkflowState.TIMED_OUT


#: The terminal event class of each terminal workflow state.
ENDED_BY_STATE: dict[WorkflowState, type[RunEnded]] = {
    cls.state: cls
    for cls in (WorkflowCompleted, WorkflowFailed, WorkflowCancelled, WorkflowTimedOut)
}

#: Every concrete event class, one per EventType.
EVENT_CLASSES: dict[EventType, type[Event]] = {
    cls.type: cls
    for cls in (
        WorkflowStarted,
        WorkflowQueued,
        WorkflowAdapted,
        StepAssigned,
        StepStreamed,
        StepCompleted,
        StepAttemptFailed,
        StepRetrying,
        StepSkipped,
        WorkflowCompleted,
        WorkflowFailed,
        WorkflowCancelled,
        WorkflowTimedOut,
    )
}

TERMINAL_EVENTS = frozenset(t for t, cls in EVENT_CLASSES.items() if cls.terminal)
