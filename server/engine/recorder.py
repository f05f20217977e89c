"""The outbox: every decision of the scheduler not yet committed and announced."""

from __future__ import annotations

from dataclasses import dataclass, field

from .events import Event
from .pool import AgentSession
from .runs import StepRun, WorkflowRun


@dataclass(slots=True)
class Outbox:
    """Decisions taken since the last ``Recorder.take``.

    Steps and runs are ordered sets (dicts): each changed row is written once
    per commit however often it changed.
    """

    events: list[Event] = field(default_factory=list)
    steps: dict[StepRun, None] = field(default_factory=dict)
    workflows: dict[WorkflowRun, None] = field(default_factory=dict)
    # (agent session, attempt id) of each assignment, in decision order.
    assignments: list[tuple[AgentSession, str]] = field(default_factory=list)
    # (session id, attempt id, reason) of attempts to stop on their agent.
    cancels: list[tuple[str, str, str]] = field(default_factory=list)
    ended: list[WorkflowRun] = field(default_factory=list)
    # (workflow id, rule name, error) of adaptation rules that raised.
    rule_errors: list[tuple[str, str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.events or self.steps or self.workflows or self.assignments or self.cancels)


class Recorder:
    """Collects decisions; numbers each run's events (seq 1, 2, ... with no gaps)."""

    __slots__ = ("_out",)

    def __init__(self) -> None:
        self._out = Outbox()

    def take(self) -> Outbox:
        """Hand over everything recorded so far and start a new outbox."""
        out, self._out = self._out, Outbox()
        return out

    def pending(self) -> bool:
        """True when something waits to be committed."""
        return bool(self._out)

    def emit(self, wf: WorkflowRun, event: Event) -> None:
        """Record ``event`` as the run's next one."""
        wf.seq += 1
        event.seq = wf.seq
        self._out.events.append(event)

    def step(self, step: StepRun) -> None:
        """The step's row changed."""
        self._out.steps[step] = None

    def run(self, wf: WorkflowRun) -> None:
        """The run's row changed."""
        self._out.workflows[wf] = None

    def assign(self, agent: AgentSession, attempt_id: str) -> None:
        """An attempt goes to ``agent`` once committed."""
        self._out.assignments.append((agent, attempt_id))

    def cancel(self, session_id: str, attempt_id: str, reason: str) -> None:
        """The agent of ``session_id`` must stop ``attempt_id`` once committed."""
        self._out.cancels.append((session_id, attempt_id, reason))

    def ended(self, wf: WorkflowRun) -> None:
        """The run reached a terminal state."""
        self._out.ended.append(wf)

    def rule_error(self, workflow_id: str, rule: str, error: str) -> None:
        """An adaptation rule raised and was skipped."""
        self._out.rule_errors.append((workflow_id, rule, error))
