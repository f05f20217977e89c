"""ADAPTIVE mode: rank ready steps by critical path and rules; pick agents by performance."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .model import EventType
from .pool import FAILING, AgentSession, choose_adaptive
from .runs import StepRun, WorkflowRun

if TYPE_CHECKING:
    from .scheduler import Scheduler


def rank_ready(sched: Scheduler, wf: WorkflowRun, ready: list[StepRun], now: float) -> None:
    """ADAPTIVE: rank ready steps by critical path plus rule boosts.

    Adaptation rules run here, as ``rule(workflow, ready_steps)``; they may
    raise ``priority_boost`` of the steps. A rule that raises is counted,
    reported in the outbox and skipped.
    """
    for rule in sched.rules:
        try:
            rule(wf, ready)
        except Exception as exc:
            sched.counters.rule_errors += 1
            name = getattr(rule, "__qualname__", repr(rule))
            sched.outbox.rule_errors.append((wf.id, name, f"{type(exc).__name__}: {exc}"))
    boosted = False
    for step in ready:
        step.rank = -(step.cp_length + step.priority_boost)
        boosted = boosted or step.priority_boost != 0
    if len(ready) < 2:
        return
    ordered = sorted(ready, key=lambda s: (s.rank, s.index))
    if ordered != ready:
        sched._emit(
            wf,
            EventType.WORKFLOW_ADAPTED,
            now,
            data={
                "decision": "reordered",
                "reason": "longest critical path first"
                + (", with priority boosts from adaptation rules" if boosted else ""),
                "step_ids": [s.spec.step_id for s in ordered],
            },
        )


def choose(
    sched: Scheduler,
    step: StepRun,
    agents: list[AgentSession],
    default: AgentSession,
    now: float,
) -> AgentSession:
    """ADAPTIVE runs pick by observed performance; a different pick is an event."""
    chosen = choose_adaptive(step, agents) or default
    if chosen is not default:
        stats = default.by_capability.get(step.spec.capability)
        why = (
            f"{default.agent_id} is failing ({stats.failure:.0%} of recent attempts)"
            if stats is not None and stats.failure >= FAILING
            else f"{chosen.agent_id} is expected to finish sooner than {default.agent_id}"
        )
        sched._emit(
            step.wf,
            EventType.WORKFLOW_ADAPTED,
            now,
            data={
                "decision": "agent_selected",
                "reason": f"{step.spec.step_id} -> {chosen.agent_id}: {why}",
                "step_ids": [step.spec.step_id],
            },
        )
    return chosen
