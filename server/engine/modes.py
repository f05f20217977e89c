"""Execution modes behind one protocol: how a run orders ready steps, picks agents, feeds records.

The scheduler asks the run's policy and never tests the mode itself.
``ModePolicy`` is the PARALLEL behaviour, which SEQUENTIAL shares (its limit of
one step at a time is the run's ``limit``); ``adaptive.AdaptivePolicy`` and
``pipeline.PipelinePolicy`` override what they change. Policies answer with
data (a ranking, an agent, the steps to pump); the scheduler makes every state
change itself.
"""

from __future__ import annotations

from typing import NamedTuple

from .model import Blob, Dispatch, StoredWorkflow
from .pool import AgentSession, choose_agent
from .runs import StepRun, WorkflowRun


class Unit(NamedTuple):
    """The next piece of work of a streamed (PIPELINE) step."""

    finish: bool  # True: the stage is done and ``blob`` is its output
    blob: Blob | None  # the input of the next invocation, or the stage's output


class ModePolicy:
    """PARALLEL (and SEQUENTIAL): ready steps in declaration order, least-loaded agent."""

    def opened(self, wf: WorkflowRun) -> None:
        """The run started (or was adopted after a restart)."""

    def closed(self, wf: WorkflowRun) -> None:
        """The run ended: drop what the policy kept for it."""

    def rank(self, wf: WorkflowRun, ready: list[StepRun], now: float) -> None:
        """Set ``rank`` (lower dispatches first) on steps that just became ready."""

    def choose(self, step: StepRun, agents: list[AgentSession], now: float) -> AgentSession | None:
        """The agent for ``step`` among those with its capability; None when all are full."""
        return choose_agent(step, agents)

    def inputs(self, step: StepRun) -> dict[str, Blob | None]:
        """What the step's next attempt receives: its dependencies' outputs."""
        steps = step.wf.steps
        return {dep: steps[dep].output for dep in step.spec.dependencies}

    def dispatch(self, step: StepRun) -> Dispatch:
        """What the agent needs for the step's current attempt."""
        wf, spec = step.wf, step.spec
        return Dispatch(
            step.attempt_id,
            wf.id,
            spec.step_id,
            spec.name,
            spec.description,
            spec.capability,
            step.attempt,
            wf.context_blob(),
            self.inputs(step),
            step.assigned_at + spec.timeout if spec.timeout else None,
        )

    def streams(self, step: StepRun) -> bool:
        """True when the step runs once per record of its upstream (PIPELINE)."""
        return False

    def on_record(self, step: StepRun, record: Blob) -> list[StepRun]:
        """A running step emitted a record; returns the streamed steps to pump."""
        return []

    def on_success(self, step: StepRun, output: Blob | None) -> list[StepRun] | None:
        """An attempt succeeded; None means "complete the step", else the steps to pump."""
        return None

    def upstream_ended(self, step: StepRun, upstream: StepRun) -> bool:
        """``upstream`` of ``step`` ended; True when ``step`` is streamed and must be pumped."""
        return False

    def next_unit(self, step: StepRun) -> Unit | None:
        """The next invocation (or the end) of a streamed step; None while it is busy."""
        return None

    def adopted(self, wf: WorkflowRun, row: StoredWorkflow) -> tuple[list[StepRun], list[StepRun]]:
        """A run rebuilt from ``row`` is taken over (instead of ``opened``).

        Returns (streamed steps to queue again, streamed steps to pump); none here.
        """
        self.opened(wf)
        return [], []

    def idle(self, step: StepRun) -> bool:
        """True for a streamed step between invocations (its RUNNING state has no attempt)."""
        return False
