"""The agent pool: open sessions, their load and performance, and leases of orphaned attempts."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .model import DEFAULT_NAMESPACE

if TYPE_CHECKING:
    from .runs import StepRun

#: Where ready steps wait and agents take them: (namespace, capability).
Lane = tuple[str, str]

EWMA_ALPHA = 0.2
# An agent failing at least this share of recent attempts is avoided by ADAPTIVE runs.
FAILING = 0.5


@dataclass(slots=True)
class Stats:
    """Moving averages of one agent's attempts (overall or for one capability)."""

    duration: float = 0.0  # EWMA of successful attempt seconds
    failure: float = 0.0  # EWMA of failures: 0 never fails, 1 always fails
    samples: int = 0
    successes: int = 0

    def observe(self, duration: float, failed: bool) -> None:
        a = EWMA_ALPHA
        self.failure = (1 - a) * self.failure + a * (1.0 if failed else 0.0)
        self.samples += 1
        if not failed:
            first = self.successes == 0
            self.duration = duration if first else (1 - a) * self.duration + a * duration
            self.successes += 1


@dataclass(eq=False, slots=True)
class AgentSession:
    """One open agent stream. An agent id has at most one live session."""

    session_id: str
    agent_id: str
    agent_type: str
    capabilities: frozenset[str]
    max_tasks: int
    connected_at: float
    labels: dict[str, str] = field(default_factory=dict)
    # attempt_id -> step (None once the step moved on, e.g. cancelled, but the
    # agent has not yet confirmed the attempt ended, so the slot stays taken).
    held: dict[str, StepRun | None] = field(default_factory=dict)
    completed: int = 0
    failed: int = 0
    overall: Stats = field(default_factory=Stats)
    by_capability: dict[str, Stats] = field(default_factory=dict)
    namespace: str = DEFAULT_NAMESPACE
    # The (namespace, capability) lanes it takes steps from: only its namespace's.
    lanes: frozenset[Lane] = field(init=False)

    def __post_init__(self) -> None:
        self.lanes = frozenset((self.namespace, cap) for cap in self.capabilities)

    @property
    def free(self) -> int:
        return self.max_tasks - len(self.held)

    @property
    def load(self) -> float:
        return len(self.held) / self.max_tasks

    def stats(self, capability: str) -> Stats:
        found = self.by_capability.get(capability)
        if found is None:
            found = self.by_capability[capability] = Stats()
        return found

    def observe(self, capability: str, duration: float, failed: bool) -> None:
        """Fold one attempt outcome into the moving averages and counters."""
        self.overall.observe(duration, failed)
        self.stats(capability).observe(duration, failed)
        if failed:
            self.failed += 1
        else:
            self.completed += 1


class AgentPool:
    """Sessions by session id, agent id and capability, plus leases of orphaned attempts.

    An orphan is a current attempt whose agent went away; it waits for a lease
    to run out, in case the agent reconnects holding it. The pool answers with
    data (what was lost, what resumed) and leaves state changes of steps to the
    scheduler.
    """

    __slots__ = ("_by_cap", "_by_id", "_lease_seq", "_orphans", "_sessions")

    def __init__(self) -> None:
        self._sessions: dict[str, AgentSession] = {}
        self._by_id: dict[str, AgentSession] = {}
        self._by_cap: dict[Lane, list[AgentSession]] = {}
        # attempt_id -> (step, number of the lease that keeps it)
        self._orphans: dict[str, tuple[StepRun, int]] = {}
        self._lease_seq = itertools.count(1)

    def session(self, session_id: str) -> AgentSession | None:
        return self._sessions.get(session_id)

    def by_agent(self, agent_id: str) -> AgentSession | None:
        """The live session of an agent id."""
        return self._by_id.get(agent_id)

    def sessions(self) -> list[AgentSession]:
        return list(self._sessions.values())

    def candidates(self, lane: Lane) -> list[AgentSession] | None:
        """Connected agents of a (namespace, capability) lane (the list itself: do not
        change it)."""
        return self._by_cap.get(lane)

    def __len__(self) -> int:
        return len(self._sessions)

    def add(self, session: AgentSession, held: list[str]) -> tuple[list[StepRun], list[str]]:
        """Open ``session``; returns the orphaned steps it resumes and the attempt ids it
        named that are no longer current (dropped)."""
        self._sessions[session.session_id] = session
        self._by_id[session.agent_id] = session
        for lane in session.lanes:
            self._by_cap.setdefault(lane, []).append(session)
        resumed: list[StepRun] = []
        dropped: list[str] = []
        for attempt_id in held:
            step = self._orphans.pop(attempt_id, (None, 0))[0]
            if step is None:
                dropped.append(attempt_id)
            else:
                session.held[attempt_id] = step
                resumed.append(step)
        return resumed, dropped

    def remove(self, session_id: str) -> tuple[AgentSession | None, list[StepRun]]:
        """Close a session; returns it and the steps it still held (their attempts current)."""
        agent = self._sessions.pop(session_id, None)
        if agent is None:
            return None, []
        if self._by_id.get(agent.agent_id) is agent:
            del self._by_id[agent.agent_id]
        for lane in agent.lanes:
            peers = self._by_cap.get(lane)
            if peers and agent in peers:
                peers.remove(agent)
        lost = [step for step in agent.held.values() if step is not None]
        agent.held.clear()
        return agent, lost

    def orphan(self, step: StepRun) -> int:
        """Keep ``step``'s attempt for its agent to come back; returns the lease's number."""
        token = next(self._lease_seq)
        self._orphans[step.attempt_id] = (step, token)
        return token

    def expire(self, attempt_id: str, token: int) -> StepRun | None:
        """The lease ``token`` ran out: the orphaned step, unless it was claimed or re-leased."""
        step, lease = self._orphans.get(attempt_id, (None, 0))
        if step is None or lease != token:
            return None
        del self._orphans[attempt_id]
        return step

    def release_run(self, workflow_id: str) -> dict[str, str]:
        """Drop every slot and lease of one run; returns {attempt_id: session_id} of the slots.

        Attempt ids start with their workflow id, so slots of cancelled attempts
        (held as None) are found too.
        """
        prefix = workflow_id + "."
        released: dict[str, str] = {}
        for agent in self._sessions.values():
            for attempt_id in [a for a in agent.held if a.startswith(prefix)]:
                del agent.held[attempt_id]
                released[attempt_id] = agent.session_id
        for attempt_id in [a for a in self._orphans if a.startswith(prefix)]:
            del self._orphans[attempt_id]
        return released

    def rebind(self, session_id: str, step: StepRun) -> bool:
        """Give a live session back the slot of ``step``'s attempt; False when it is gone."""
        agent = self._sessions.get(session_id)
        if agent is None:
            return False
        agent.held[step.attempt_id] = step
        return True

    def forget(self, attempt_id: str) -> None:
        """The attempt ended some other way (cancel, timeout): no agent may resume it."""
        self._orphans.pop(attempt_id, None)


def _preferred(step: StepRun, agent: AgentSession) -> int:
    wanted = step.spec.agent_type
    return 0 if wanted and (agent.agent_id == wanted or agent.agent_type == wanted) else 1


def choose_agent(step: StepRun, candidates: list[AgentSession]) -> AgentSession | None:
    """Pick the agent for ``step`` among agents that have its capability.

    An agent whose id or type equals the step's agent_type is preferred; among
    the rest (or among several preferred ones) the least loaded wins, ties to
    the one with fewer failures, then to the one that ran fewest attempts (so idle
    agents share the work, not the first of the list). None when every candidate
    is full.
    """
    best: AgentSession | None = None
    best_key: tuple[int, float, float, int] | None = None
    for agent in candidates:
        if len(agent.held) >= agent.max_tasks:
            continue
        ran = agent.completed + agent.failed
        key = (_preferred(step, agent), agent.load, agent.overall.failure, ran)
        if best_key is None or key < best_key:
            best, best_key = agent, key
    return best


def choose_adaptive(step: StepRun, candidates: list[AgentSession]) -> AgentSession | None:
    """ADAPTIVE choice: avoid failing agents, then prefer agent_type, then the
    shortest expected wait (EWMA duration for this capability x queue depth).

    Agents with no history for the capability count as fast, so they get tried.
    """
    cap = step.spec.capability
    best: AgentSession | None = None
    best_key: tuple[bool, int, float, float, int] | None = None
    for agent in candidates:
        if len(agent.held) >= agent.max_tasks:
            continue
        stats = agent.by_capability.get(cap)
        failing = stats is not None and stats.samples >= 3 and stats.failure >= FAILING
        expected = stats.duration * (len(agent.held) + 1) / agent.max_tasks if stats else 0.0
        key = (
            failing,
            _preferred(step, agent),
            expected,
            agent.load,
            agent.completed + agent.failed,
        )
        if best_key is None or key < best_key:
            best, best_key = agent, key
    return best
