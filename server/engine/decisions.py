"""What the scheduler decides and how it is configured: plain data, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from .model import Event
from .pool import AgentSession
from .runs import StepRun, WorkflowRun


class SchedulerError(Exception):
    """An operation the current state does not allow (maps to FAILED_PRECONDITION)."""


class UnknownWorkflow(KeyError):
    """No such workflow in the scheduler."""


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    # Workflows running at once; more wait QUEUED. 0 means no limit.
    max_concurrent_workflows: int = 0
    # Applied when a workflow sets no default_timeout; 0 means none.
    default_workflow_timeout: float = 0.0
    # How long a disconnected agent's attempts wait for it to reconnect (0: re-queue
    # at once, as issue 2 asks).
    agent_lease: float = 0.0
    # How long attempts in flight when the server stopped wait, after a restart,
    # for their agent to reconnect holding them (DESIGN "Restart").
    restart_lease: float = 10.0
    # +/- fraction applied to retry delays.
    retry_jitter: float = 0.1
    # Seconds of waiting that raise a workflow's dispatch priority by one level
    # (BACKGROUND reaches CRITICAL after 4x this); 0 disables aging.
    priority_aging: float = 30.0


@dataclass(slots=True)
class Outbox:
    """Decisions not yet committed. Steps and workflows are ordered sets (dicts)."""

    events: list[Event] = field(default_factory=list)
    steps: dict[StepRun, None] = field(default_factory=dict)
    workflows: dict[WorkflowRun, None] = field(default_factory=dict)
    assignments: list[tuple[AgentSession, StepRun]] = field(default_factory=list)
    # (session_id, attempt_id, reason)
    cancels: list[tuple[str, str, str]] = field(default_factory=list)
    finished: list[WorkflowRun] = field(default_factory=list)
    # (workflow_id, rule name, error) of adaptation rules that raised.
    rule_errors: list[tuple[str, str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.events or self.steps or self.workflows or self.assignments or self.cancels)


class Timer(IntEnum):
    DEADLINE = 1
    RETRY = 2
    LEASE = 3
    WORKFLOW_TIMEOUT = 4
    SCHEDULE_TO_START = 5


@dataclass(slots=True)
class Counters:
    completed_workflows: int = 0
    failed_workflows: int = 0
    cancelled_workflows: int = 0
    timed_out_workflows: int = 0
    completed_steps: int = 0
    failed_steps: int = 0
    rule_errors: int = 0
