"""Counters of the scheduler and the snapshot it answers ``stats()`` with."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Counters:
    """Totals since the scheduler started."""

    completed_workflows: int = 0
    failed_workflows: int = 0
    cancelled_workflows: int = 0
    timed_out_workflows: int = 0
    completed_steps: int = 0
    failed_steps: int = 0


@dataclass(frozen=True, slots=True)
class EngineStats:
    """A consistent snapshot of the scheduler, for metrics and dashboards.

    Attributes:
        active_workflows: Runs in state RUNNING.
        queued_workflows: Runs started but waiting for a slot.
        completed_workflows, failed_workflows, cancelled_workflows,
        timed_out_workflows, completed_steps, failed_steps: Totals.
        rule_errors: Adaptation rules that raised.
        cancels_unanswered: Cancels no agent answered within the grace period
            (their slots were freed anyway).
        connected_agents: Open agent sessions.
        agent_load: Attempts held per connected agent id.
        mean_step_seconds: Mean over agents of their EWMA attempt duration
            (0 before any attempt finished).
        runs_in_memory: Runs the scheduler holds (unfinished plus recently ended).
    """

    active_workflows: int
    queued_workflows: int
    completed_workflows: int
    failed_workflows: int
    cancelled_workflows: int
    timed_out_workflows: int
    completed_steps: int
    failed_steps: int
    rule_errors: int
    cancels_unanswered: int
    connected_agents: int
    agent_load: dict[str, int] = field(default_factory=dict)
    mean_step_seconds: float = 0.0
    runs_in_memory: int = 0
