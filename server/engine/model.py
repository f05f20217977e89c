"""Domain types of the scheduler core: plain dataclasses and enums, no protobuf."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, NamedTuple, Protocol

JSON_ENCODING = "json/plain"
#: Where everything lives when nothing says otherwise (and everything, with auth off).
DEFAULT_NAMESPACE = "default"


class WorkflowState(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL_WORKFLOW


_TERMINAL_WORKFLOW = frozenset(
    {
        WorkflowState.COMPLETED,
        WorkflowState.FAILED,
        WorkflowState.CANCELLED,
        WorkflowState.TIMED_OUT,
    }
)


class StepState(StrEnum):
    PENDING = "pending"
    READY = "ready"
    ASSIGNED = "assigned"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    RETRY_WAIT = "retry_wait"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL_STEP


_TERMINAL_STEP = frozenset(
    {StepState.COMPLETED, StepState.FAILED, StepState.CANCELLED, StepState.SKIPPED}
)


class ExecutionMode(StrEnum):
    SEQUENTIAL = "sequential"
    PARALLEL = "parallel"
    ADAPTIVE = "adaptive"
    PIPELINE = "pipeline"


class Priority(IntEnum):
    """Lower value dispatches first."""

    CRITICAL = 0
    HIGH = 1
    MEDIUM = 2
    LOW = 3
    BACKGROUND = 4


class EventType(StrEnum):
    """Event names as the guide spells them."""

    WORKFLOW_STARTED = "workflow_started"
    WORKFLOW_QUEUED = "workflow_queued"
    AGENT_STARTED = "agent_started"
    AGENT_STREAM = "agent_stream"
    AGENT_COMPLETED = "agent_completed"
    AGENT_ERROR = "agent_error"
    AGENT_RETRYING = "agent_retrying"
    WORKFLOW_ADAPTED = "workflow_adapted"
    STEP_SKIPPED = "step_skipped"
    WORKFLOW_COMPLETED = "workflow_completed"
    WORKFLOW_FAILED = "workflow_failed"
    WORKFLOW_CANCELLED = "workflow_cancelled"
    WORKFLOW_TIMED_OUT = "workflow_timed_out"


@dataclass(frozen=True, slots=True)
class Blob:
    """Opaque data with its encoding, passed through without decoding."""

    encoding: str
    data: bytes
    # Codec metadata (Payload.metadata) as sorted (key, value) pairs; passed through.
    metadata: tuple[tuple[str, str], ...] = ()


EMPTY_OBJECT = Blob(JSON_ENCODING, b"{}")


class ErrorInfo(NamedTuple):
    message: str
    type: str = "Error"
    retryable: bool = True


@dataclass(frozen=True, slots=True)
class Transformation:
    type: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StepSpec:
    step_id: str
    name: str = ""
    description: str = ""
    agent_type: str = ""
    capability: str = ""
    dependencies: tuple[str, ...] = ()
    timeout: float | None = None
    retry_count: int = 0
    retry_delay: float = 1.0
    backoff_coefficient: float = 2.0
    max_retry_delay: float | None = None
    estimated_duration: float = 0.0
    transformations: tuple[Transformation, ...] = ()
    optional: bool = False
    schedule_to_start_timeout: float | None = None
    pipeline_batch_size: int = 0

    @property
    def task(self) -> str:
        """What the guide calls the step's task: its description, else its name."""
        return self.description or self.name or self.step_id


@dataclass(frozen=True, slots=True)
class WorkflowSpec:
    name: str
    steps: tuple[StepSpec, ...]
    description: str = ""
    priority: Priority = Priority.MEDIUM
    mode: ExecutionMode = ExecutionMode.PARALLEL
    context: dict[str, Any] = field(default_factory=dict)
    max_parallel_steps: int = 0
    default_timeout: float | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Dispatch:
    """What an agent needs to run one attempt, snapshotted when it was committed."""

    attempt_id: str
    workflow_id: str
    step_id: str
    step_name: str
    description: str
    capability: str
    attempt: int
    context: Blob
    inputs: dict[str, Blob | None]
    deadline: float | None
    traceparent: str = ""
    tracestate: str = ""


@dataclass(frozen=True, slots=True)
class AgentRegistration:
    agent_id: str
    agent_type: str
    capabilities: tuple[str, ...]
    max_concurrent_tasks: int
    config: dict[str, Any] = field(default_factory=dict)
    namespace: str = DEFAULT_NAMESPACE


class StoredStep(Protocol):
    """What a store hands back for one step when a run is resumed."""

    step_id: str
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
    pipe: str  # PIPELINE counters as JSON, '' outside PIPELINE runs
    progress: int  # highest numbered progress index stored for the current attempt


class StoredWorkflow(Protocol):
    """What a store hands back for one unfinished run when the server restarts."""

    workflow_id: str
    request_id: str
    spec: WorkflowSpec
    state: str
    created_at: float
    started_at: float
    session_id: str
    context: dict[str, Any]
    last_seq: int
    namespace: str
    steps: list[Any]
    # PIPELINE: (step_id, "in" | "out", index, blob) of each stage's records and outputs.
    records: list[tuple[str, str, int, Blob | None]]
