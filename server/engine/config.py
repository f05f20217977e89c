"""How the scheduler is configured, and the errors its operations raise."""

from __future__ import annotations

from dataclasses import dataclass

#: Outputs inline in a terminal event, at most this many bytes together.
INLINE_RESULTS_BYTES = 64 * 1024


class SchedulerError(Exception):
    """An operation the current state does not allow (maps to FAILED_PRECONDITION)."""


class ContextTooLarge(SchedulerError):
    """A start context that would make the run's context larger than allowed
    (maps to RESOURCE_EXHAUSTED)."""


class UnknownWorkflow(KeyError):
    """No such workflow in the scheduler."""


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    """Settings of one scheduler. Defaults match the server's.

    Attributes:
        max_concurrent_workflows: Workflows running at once; more wait QUEUED.
            0 means no limit.
        default_workflow_timeout: Applied when a workflow sets no default_timeout;
            0 means none.
        agent_lease: Seconds a disconnected agent's attempts wait for it to
            reconnect holding them; 0 re-queues them at once.
        restart_lease: Seconds attempts in flight when the server stopped wait,
            after a restart, for their agent to reconnect holding them.
        retry_jitter: +/- fraction applied to retry delays.
        priority_aging: Seconds of waiting that raise a workflow's dispatch
            priority by one level (BACKGROUND reaches CRITICAL after 4x this);
            0 disables aging.
        inline_results_bytes: Outputs carried inline by a terminal event, at
            most this many bytes together; the others are named as omitted.
        max_context_bytes: The largest context, encoded, a run may have once a
            start context is merged into its spec's; 0 means no limit.
        ack_timeout: Seconds an agent has to acknowledge an assignment (started
            or a result) before it is taken back and assigned again; 0: none.
        cancel_grace: Seconds an agent has to answer a Cancel before its slot is
            freed anyway; 0: the slot waits for the answer.
    """

    max_concurrent_workflows: int = 0
    default_workflow_timeout: float = 0.0
    agent_lease: float = 0.0
    restart_lease: float = 10.0
    retry_jitter: float = 0.1
    priority_aging: float = 30.0
    inline_results_bytes: int = INLINE_RESULTS_BYTES
    max_context_bytes: int = 0
    ack_timeout: float = 30.0
    cancel_grace: float = 10.0
