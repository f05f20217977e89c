"""Connected agent sessions and the choice of an agent for a step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .runs import StepRun


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


EWMA_ALPHA = 0.2
# An agent failing at least this share of recent attempts is avoided by ADAPTIVE runs.
FAILING = 0.5


def observe(agent: AgentSession, capability: str, duration: float, failed: bool) -> None:
    """Fold one attempt outcome into the agent's moving averages."""
    agent.overall.observe(duration, failed)
    agent.stats(capability).observe(duration, failed)


def _preferred(step: StepRun, agent: AgentSession) -> int:
    wanted = step.spec.agent_type
    return 0 if wanted and (agent.agent_id == wanted or agent.agent_type == wanted) else 1


def choose_agent(step: StepRun, candidates: list[AgentSession]) -> AgentSession | None:
    """Pick the agent for ``step`` among agents that have its capability.

    An agent whose id or type equals the step's agent_type is preferred; among
    the rest (or among several preferred ones) the least loaded wins, ties to
    the one with fewer failures. None when every candidate is full.
    """
    best: AgentSession | None = None
    best_key: tuple[int, float, float] | None = None
    for agent in candidates:
        if len(agent.held) >= agent.max_tasks:
            continue
        key = (_preferred(step, agent), agent.load, agent.overall.failure)
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
    best_key: tuple[bool, int, float, float] | None = None
    for agent in candidates:
        if len(agent.held) >= agent.max_tasks:
            continue
        stats = agent.by_capability.get(cap)
        failing = stats is not None and stats.samples >= 3 and stats.failure >= FAILING
        expected = stats.duration * (len(agent.held) + 1) / agent.max_tasks if stats else 0.0
        key = (failing, _preferred(step, agent), expected, agent.load)
        if best_key is None or key < best_key:
            best, best_key = agent, key
    return best
