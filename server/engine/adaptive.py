"""ADAPTIVE mode: rank ready steps by critical path and rules; pick agents by performance."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dwe.common.graph import critical_path_lengths

from .events import WorkflowAdapted
from .modes import ModePolicy
from .pool import FAILING, AgentSession, choose_adaptive, choose_agent
from .recorder import Recorder
from .rule_views import StepView, WorkflowView
from .runs import StepRun, WorkflowRun

#: ``rule(workflow, ready_steps)``: raises ``priority_boost`` on views, or returns {step_id: boost}.
Rule = Callable[[WorkflowView, list[StepView]], Any]


class AdaptivePolicy(ModePolicy):
    """Critical path plus rule boosts orders ready steps; observed performance picks agents.

    Every decision that changes the order of ready steps or the agent choice is
    a ``WorkflowAdapted`` event. Rules see read-only views; one that raises is
    counted, reported and skipped.
    """

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self._rules: list[Rule] = []
        # Estimated seconds from each step's start to the end of its run.
        self._cp: dict[StepRun, float] = {}
        self.rule_errors = 0

    def add_rule(self, rule: Rule) -> None:
        self._rules.append(rule)

    def opened(self, wf: WorkflowRun) -> None:
        specs = wf.spec.steps
        lengths = critical_path_lengths(
            {s.step_id: s.dependencies for s in specs},
            {s.step_id: s.estimated_duration for s in specs},
        )
        for step in wf.order:
            self._cp[step] = lengths[step.spec.step_id]

    def closed(self, wf: WorkflowRun) -> None:
        for step in wf.order:
            self._cp.pop(step, None)

    def rank(self, wf: WorkflowRun, ready: list[StepRun], now: float) -> None:
        boosted = self._apply_rules(wf, ready) if self._rules else False
        cp = self._cp
        for step in ready:
            step.rank = -(cp.get(step, 0.0) + step.priority_boost)
        if len(ready) < 2:
            return
        ordered = sorted(ready, key=lambda s: (s.rank, s.index))
        if ordered != ready:
            reason = "longest critical path first"
            if boosted:
                reason += ", with priority boosts from adaptation rules"
            ids = tuple(s.spec.step_id for s in ordered)
            self._recorder.emit(wf, WorkflowAdapted(wf.id, 0, now, "reordered", reason, ids))

    def _apply_rules(self, wf: WorkflowRun, ready: list[StepRun]) -> bool:
        """Run every rule on views; apply the boosts they propose. True when one did."""
        view = WorkflowView(wf)
        views = [view.view(s) for s in ready]
        for rule in self._rules:
            try:
                proposed = rule(view, views)
                extra = (
                    [float(proposed.get(v.step_id, 0.0)) for v in views]
                    if isinstance(proposed, Mapping)
                    else None
                )
            except Exception as exc:  # user code: any failure is reported, never fatal
                self.rule_errors += 1
                name = getattr(rule, "__qualname__", repr(rule))
                self._recorder.rule_error(wf.id, name, f"{type(exc).__name__}: {exc}")
                continue
            if extra is not None:
                for v, boost in zip(views, extra, strict=True):
                    v.priority_boost += boost
        boosted = False
        for step, v in zip(ready, views, strict=True):
            if v.priority_boost != step.priority_boost:
                step.priority_boost = float(v.priority_boost)
            boosted = boosted or step.priority_boost != 0
        return boosted

    def choose(self, step: StepRun, agents: list[AgentSession], now: float) -> AgentSession | None:
        default = choose_agent(step, agents)
        if default is None:
            return None
        chosen = choose_adaptive(step, agents) or default
        if chosen is not default:
            stats = default.by_capability.get(step.spec.capability)
            why = (
                f"{default.agent_id} is failing ({stats.failure:.0%} of recent attempts)"
                if stats is not None and stats.failure >= FAILING
                else f"{chosen.agent_id} is expected to finish sooner than {default.agent_id}"
            )
            wf = step.wf
            sid = step.spec.step_id
            reason = f"{sid} -> {chosen.agent_id}: {why}"
            self._recorder.emit(
                wf, WorkflowAdapted(wf.id, 0, now, "agent_selected", reason, (sid,))
            )
        return chosen
