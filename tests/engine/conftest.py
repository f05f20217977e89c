"""A small synchronous driver for the pure scheduler core: fake clock, no I/O."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pytest

from dwe.server.engine.config import SchedulerConfig
from dwe.server.engine.events import Event
from dwe.server.engine.model import ErrorInfo, EventType, StepSpec, WorkflowSpec
from dwe.server.engine.pool import AgentSession
from dwe.server.engine.recorder import Outbox
from dwe.server.engine.runs import StepRun, WorkflowRun
from dwe.server.engine.scheduler import Scheduler
from tests.support.specs import js


class Assigned(NamedTuple):
    """One assignment as it was when it left the outbox (attempt ids change later)."""

    session: AgentSession
    step: StepRun
    attempt_id: str
    attempt: int
    # What the agent receives (the Dispatch's inputs), when still current at drain time.
    inputs: dict[str, Any] | None = None

    @property
    def step_id(self) -> str:
        return self.step.spec.step_id

    @property
    def agent_id(self) -> str:
        return self.session.agent_id


@dataclass
class Driver:
    """Owns a Scheduler and a float clock; collects everything the outbox emits.

    ``drain`` runs after every call that may decide something and checks the
    invariant that no agent ever holds more attempts than its max_tasks.
    """

    config: SchedulerConfig = field(default_factory=lambda: SchedulerConfig(retry_jitter=0.0))
    rand: Callable[[], float] = lambda: 0.5
    now: float = 0.0
    events: list[Event] = field(default_factory=list)
    assignments: list[Assigned] = field(default_factory=list)
    cancels: list[tuple[str, str, str]] = field(default_factory=list)
    finished: list[WorkflowRun] = field(default_factory=list)
    # What a store would hold of PIPELINE stages: counters by (run, step), records.
    pipe_states: dict[tuple[str, str], str] = field(default_factory=dict)
    pipe_records: list[tuple[str, str, int, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.s = Scheduler(self.config, self.rand)
        self._sessions = itertools.count(1)
        self._workflows = itertools.count(1)

    # -- plumbing -----------------------------------------------------------

    def drain(self) -> Outbox:
        out = self.s.take_outbox()
        self.events.extend(out.events)
        self.pipe_states.update(
            {(st.wf.id, st.spec.step_id): j for st, j in out.pipe_states.items()}
        )
        self.pipe_records.extend((st.spec.step_id, k, i, b) for st, k, i, b in out.pipe_records)
        self.cancels.extend(out.cancels)
        self.finished.extend(out.ended)
        fresh = []
        for agent, attempt_id in out.assignments:
            # The attempt may have moved on within the same call: find its step by id.
            wid, index, attempt = attempt_id.rsplit(".", 2)
            step = self.s.get(wid).order[int(index)]
            sent = self.s.dispatch_of(agent.session_id, attempt_id)
            inputs = sent.inputs if sent is not None else None
            fresh.append(Assigned(agent, step, attempt_id, int(attempt), inputs))
        self.assignments.extend(fresh)
        out.assignments = fresh  # type: ignore[assignment]
        for agent in self.s.agents():
            assert len(agent.held) <= agent.max_tasks, (agent.agent_id, agent.held)
        return out

    # -- agents -------------------------------------------------------------

    def agent(
        self,
        agent_id: str,
        caps: Iterable[str] = ("c",),
        max_tasks: int = 1,
        agent_type: str = "",
        held: Iterable[str] = (),
    ) -> AgentSession:
        session = AgentSession(
            f"{agent_id}#{next(self._sessions)}",
            agent_id,
            agent_type or f"{agent_id}-type",
            frozenset(caps),
            max_tasks,
            self.now,
        )
        self.last_connect = self.s.connect(session, list(held), self.now)
        self.drain()
        return session

    def disconnect(self, session: AgentSession) -> Outbox:
        self.s.disconnect(session.session_id, self.now)
        return self.drain()

    # -- workflows ----------------------------------------------------------

    def workflow(
        self, *steps: StepSpec, wid: str = "", start: bool = True, **spec: Any
    ) -> WorkflowRun:
        wid = wid or f"wf{next(self._workflows)}"
        wf = WorkflowRun(wid, WorkflowSpec(name=wid, steps=tuple(steps), **spec), self.now)
        self.s.add_workflow(wf)
        if start:
            self.s.start_workflow(wid, self.now)
            self.drain()
        return wf

    # -- time and reports ---------------------------------------------------

    def dispatch(self) -> list[Assigned]:
        self.s.dispatch(self.now)
        return self.drain().assignments  # type: ignore[return-value]

    def advance(self, dt: float) -> Outbox:
        self.now += dt
        self.s.advance(self.now)
        return self.drain()

    def advance_to(self, when: float) -> Outbox:
        self.now = when
        self.s.advance(when)
        return self.drain()

    def start(self, a: Assigned) -> None:
        self.s.on_started(a.session.session_id, a.attempt_id, self.now)
        self.drain()

    def complete(
        self, a: Assigned, output: Any = None, session: AgentSession | None = None
    ) -> bool:
        blob = None if output is None else js(output)
        sid = (session or a.session).session_id
        ok = self.s.on_result(sid, a.attempt_id, blob, None, self.now)
        self.drain()
        return ok

    def fail(
        self, a: Assigned, message: str = "boom", type_: str = "Error", retryable: bool = True
    ) -> bool:
        err = ErrorInfo(message, type_, retryable)
        ok = self.s.on_result(a.session.session_id, a.attempt_id, None, err, self.now)
        self.drain()
        return ok

    def run_all(self, dt: float = 1.0, rounds: int = 1000) -> list[list[str]]:
        """Dispatch, complete every assignment of the round, repeat; the step ids per round."""
        waves: list[list[str]] = []
        for _ in range(rounds):
            batch = self.dispatch()
            if not batch:
                return waves
            waves.append([a.step_id for a in batch])
            self.now += dt
            for a in batch:
                self.complete(a, {"step": a.step_id})
        raise AssertionError("run_all did not settle")

    # -- queries ------------------------------------------------------------

    def events_of(self, wid: str) -> list[Event]:
        return [e for e in self.events if e.workflow_id == wid]

    def types(self, wid: str, step_id: str | None = None) -> list[EventType]:
        return [
            e.type
            for e in self.events_of(wid)
            if step_id is None or getattr(e, "step_id", "") == step_id
        ]

    def last(self, wid: str, type_: EventType) -> Any:
        return [e for e in self.events_of(wid) if e.type is type_][-1]


@pytest.fixture
def driver() -> Driver:
    return Driver()


@pytest.fixture
def make_driver() -> Callable[..., Driver]:
    def make(rand: Callable[[], float] = lambda: 0.5, **config: Any) -> Driver:
        config.setdefault("retry_jitter", 0.0)
        return Driver(SchedulerConfig(**config), rand)

    return make
