"""Stats restricted to some namespaces, for callers who may not see the others.

Nothing is counted per namespace on the hot path: ended runs are tallied once, when
they end, and what is still running is read off the live runs and sessions when asked.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from .model import WorkflowState
from .pool import AgentSession
from .runs import WorkflowRun
from .stats import Counters, EngineStats


class Census:
    """Totals of ended runs per namespace, since the scheduler started."""

    __slots__ = ("_ended",)

    def __init__(self) -> None:
        self._ended: dict[str, Counters] = {}

    def ended(self, wf: WorkflowRun, counter: str) -> None:
        """``wf`` ended; ``counter`` is the Counters field of its end state."""
        tally = self._ended.get(wf.namespace)
        if tally is None:
            tally = self._ended[wf.namespace] = Counters()
        setattr(tally, counter, getattr(tally, counter) + 1)
        tally.completed_steps += wf.completed
        tally.failed_steps += wf.failed

    def stats(
        self,
        namespaces: Collection[str],
        runs: Iterable[WorkflowRun],
        sessions: Iterable[AgentSession],
    ) -> EngineStats:
        """What the scheduler's stats would be if only ``namespaces`` existed.

        Server-wide figures that belong to no namespace (rule errors, unanswered
        cancels, runs in memory) are 0.
        """
        total = Counters()
        for ns in namespaces:
            found = self._ended.get(ns)
            if found is not None:
                for name in Counters.__slots__:
                    setattr(total, name, getattr(total, name) + getattr(found, name))
        active = queued = 0
        for wf in runs:
            if wf.namespace not in namespaces or wf.state.terminal:
                continue
            active += wf.state is WorkflowState.RUNNING
            queued += wf.state is WorkflowState.QUEUED
            total.completed_steps += wf.completed
            total.failed_steps += wf.failed
        agents = [a for a in sessions if a.namespace in namespaces]
        durations = [a.overall.duration for a in agents if a.overall.samples]
        return EngineStats(
            active_workflows=active,
            queued_workflows=queued,
            completed_workflows=total.completed_workflows,
            failed_workflows=total.failed_workflows,
            cancelled_workflows=total.cancelled_workflows,
            timed_out_workflows=total.timed_out_workflows,
            completed_steps=total.completed_steps,
            failed_steps=total.failed_steps,
            rule_errors=0,
            cancels_unanswered=0,
            connected_agents=len(agents),
            agent_load={a.agent_id: len(a.held) for a in agents},
            mean_step_seconds=sum(durations) / len(durations) if durations else 0.0,
        )
