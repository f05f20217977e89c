"""Connected agent sessions and the choice of an agent for a step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .runs import StepRun


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
    # EWMA of successful attempt durations and of failures (1.0 = always fails).
    ewma_duration: float = 0.0
    ewma_failure: float = 0.0

    @property
    def free(self) -> int:
        return self.max_tasks - len(self.held)

    @property
    def load(self) -> float:
        return len(self.held) / self.max_tasks


EWMA_ALPHA = 0.2


def observe(agent: AgentSession, duration: float, failed: bool) -> None:
    """Fold one attempt outcome into the agent's moving averages."""
    a = EWMA_ALPHA
    agent.ewma_failure = (1 - a) * agent.ewma_failure + a * (1.0 if failed else 0.0)
    if not failed:
        if agent.ewma_duration == 0.0:
            agent.ewma_duration = duration
        else:
            agent.ewma_duration = (1 - a) * agent.ewma_duration + a * duration


def choose_agent(step: StepRun, candidates: list[AgentSession]) -> AgentSession | None:
    """Pick the agent for ``step`` among agents that have its capability.

    An agent whose id or type equals the step's agent_type is preferred; among
    the rest (or among several preferred ones) the least loaded wins, ties to
    the one with fewer failures. None when every candidate is full.
    """
    wanted = step.spec.agent_type
    best: AgentSession | None = None
    best_key: tuple[int, float, float] | None = None
    for agent in candidates:
        if len(agent.held) >= agent.max_tasks:
            continue
        preferred = 0 if wanted and (agent.agent_id == wanted or agent.agent_type == wanted) else 1
        key = (preferred, agent.load, agent.ewma_failure)
        if best_key is None or key < best_key:
            best, best_key = agent, key
    return best
