"""The outbox: every decision of the scheduler not yet committed and announced."""

from __future__ import annotations

from dataclasses import dataclass, field

from .events import Event
from .model import Blob
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
    # PIPELINE: the latest counters of each step (JSON), and records and outputs in order.
    pipe_states: dict[StepRun, str] = field(default_factory=dict)
    pipe_records: list[tuple[StepRun, str, int, Blob | None]] = field(default_factory=list)
    # Steps whose numbered progress came: (session id, attempt id, index to store and
    # then acknowledge, as it was when recorded; whether to ask for what follows again).
    progress: dict[StepRun, tuple[str, str, int, bool]] = field(default_factory=dict)
    # The seq of each run's last event here: once committed, the run's ``stored_seq``.
    last_seq: dict[WorkflowRun, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(
            self.events
            or self.steps
            or self.workflows
            or self.assignments
            or self.cancels
            or self.pipe_states
            or self.pipe_records
            or self.progress
        )


def run_of(attempt_id: str) -> str:
    """The workflow id in an attempt id (``{workflow_id}.{step index}.{attempt}``)."""
    return attempt_id.rsplit(".", 2)[0]


def touched(out: Outbox) -> set[str]:
    """Ids of every run an outbox changes."""
    ids = {e.workflow_id for e in out.events}
    ids.update(s.wf.id for s in out.steps)
    ids.update(w.id for w in out.workflows)
    ids.update(w.id for w in out.ended)
    ids.update(run_of(a) for _, a in out.assignments)
    ids.update(run_of(c[1]) for c in out.cancels)
    ids.update(s.wf.id for s in out.pipe_states)
    ids.update(s.wf.id for s in out.progress)
    return ids


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
        self._out.last_seq[wf] = wf.seq

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

    def purge(self, workflow_ids: set[str]) -> None:
        """Drop what was recorded for these runs (they are being rolled back to the store)."""
        out = self._out
        out.events = [e for e in out.events if e.workflow_id not in workflow_ids]
        out.steps = {s: None for s in out.steps if s.wf.id not in workflow_ids}
        out.workflows = {w: None for w in out.workflows if w.id not in workflow_ids}
        out.assignments = [a for a in out.assignments if run_of(a[1]) not in workflow_ids]
        out.cancels = [c for c in out.cancels if run_of(c[1]) not in workflow_ids]
        out.ended = [w for w in out.ended if w.id not in workflow_ids]
        out.rule_errors = [r for r in out.rule_errors if r[0] not in workflow_ids]
        out.pipe_states = {s: j for s, j in out.pipe_states.items() if s.wf.id not in workflow_ids}
        out.pipe_records = [r for r in out.pipe_records if r[0].wf.id not in workflow_ids]
        out.progress = {s: a for s, a in out.progress.items() if s.wf.id not in workflow_ids}

    def pipe_state(self, step: StepRun, state: str) -> None:
        """A PIPELINE step's counters changed (stored with the step)."""
        self._out.pipe_states[step] = state

    def pipe_record(self, step: StepRun, kind: str, index: int, blob: Blob | None) -> None:
        """A record a stage received ("in") or an invocation output ("out"), by index."""
        self._out.pipe_records.append((step, kind, index, blob))

    def progress(
        self, step: StepRun, session_id: str, attempt_id: str, resend: bool = False
    ) -> None:
        """Numbered progress came: store ``step.progress_index``, then acknowledge it;
        with ``resend``, ask the agent for its progress after that index again."""
        earlier = self._out.progress.get(step)
        resend = resend or (earlier is not None and earlier[3] and earlier[1] == attempt_id)
        self._out.progress[step] = (session_id, attempt_id, step.progress_index, resend)

    def rule_error(self, workflow_id: str, rule: str, error: str) -> None:
        """An adaptation rule raised and was skipped."""
        self._out.rule_errors.append((workflow_id, rule, error))
