"""Read-only views of a run for adaptation rules, shaped like the guide's dataclasses.

A rule is called as ``rule(workflow, ready_steps)``. It reads the run through
these views and proposes boosts, either by raising ``step.priority_boost`` on a
ready step's view (the guide's example) or by returning a mapping
``{step_id: boost}``. Nothing a rule does can change the live run: the
scheduler reads the boosts back and applies them itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from dwe.common.graph import critical_path

from .model import ExecutionMode, Priority, StepState, WorkflowState
from .runs import StepRun, WorkflowRun


class StepView:
    """One step as a rule sees it; only ``priority_boost`` may be changed."""

    __slots__ = ("_boost", "_step")

    def __init__(self, step: StepRun) -> None:
        self._step = step
        self._boost = step.priority_boost

    @property
    def priority_boost(self) -> float:
        """Seconds added to the step's critical path; rules may raise it."""
        return self._boost

    @priority_boost.setter
    def priority_boost(self, value: float) -> None:
        self._boost = float(value)  # a non-number fails inside the rule's own call

    step_id = property(lambda self: self._step.spec.step_id)
    name = property(lambda self: self._step.spec.name)
    description = property(lambda self: self._step.spec.description)
    agent_type = property(lambda self: self._step.spec.agent_type)
    agent_capability = property(lambda self: self._step.spec.capability)
    dependencies = property(lambda self: list(self._step.spec.dependencies))
    estimated_duration = property(lambda self: self._step.spec.estimated_duration)
    timeout_seconds = property(lambda self: self._step.spec.timeout or 0.0)
    retry_count = property(lambda self: self._step.spec.retry_count)
    optional = property(lambda self: self._step.spec.optional)

    @property
    def state(self) -> StepState:
        return self._step.state

    @property
    def attempts(self) -> int:
        return self._step.attempt

    def __repr__(self) -> str:
        return f"StepView({self.step_id!r} {self.state})"


class WorkflowView:
    """A run as a rule sees it: the guide's ``Workflow`` fields and ``get_critical_path()``."""

    __slots__ = ("_views", "_wf")

    def __init__(self, wf: WorkflowRun) -> None:
        self._wf = wf
        self._views: dict[str, StepView] = {}

    def view(self, step: StepRun) -> StepView:
        """The one view of ``step`` in this call (so ``step in critical_path`` works)."""
        found = self._views.get(step.spec.step_id)
        if found is None:
            found = self._views[step.spec.step_id] = StepView(step)
        return found

    @property
    def workflow_id(self) -> str:
        return self._wf.id

    id = workflow_id

    @property
    def name(self) -> str:
        return self._wf.spec.name

    @property
    def description(self) -> str:
        return self._wf.spec.description

    @property
    def priority(self) -> Priority:
        return self._wf.spec.priority

    @property
    def execution_mode(self) -> ExecutionMode:
        return self._wf.spec.mode

    @property
    def state(self) -> WorkflowState:
        return self._wf.state

    @property
    def context(self) -> Mapping[str, Any]:
        return MappingProxyType(self._wf.context)

    @property
    def steps(self) -> list[StepView]:
        """Every step, in declaration order."""
        return [self.view(s) for s in self._wf.order]

    def get_step(self, step_id: str) -> StepView | None:
        step = self._wf.steps.get(step_id)
        return None if step is None else self.view(step)

    def get_critical_path(self) -> list[StepView]:
        """The steps of the longest estimated_duration-weighted chain, first to last."""
        specs = self._wf.spec.steps
        deps = {s.step_id: s.dependencies for s in specs}
        durations = {s.step_id: s.estimated_duration for s in specs}
        return [self.view(self._wf.steps[sid]) for sid in critical_path(deps, durations)]

    def __repr__(self) -> str:
        return f"WorkflowView({self.workflow_id!r} {self.state})"
