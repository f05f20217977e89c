"""Agent sessions coming and going: connect, disconnect, leases, re-queues."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .decisions import Timer
from .model import EventType, StepState
from .pool import AgentSession
from .runs import StepRun

if TYPE_CHECKING:
    from .scheduler import Scheduler


def connect(
    sched: Scheduler, session: AgentSession, held_attempts: list[str], now: float
) -> tuple[list[str], list[str]]:
    """Open a session; returns (resumed, dropped) among the attempts it holds."""
    old = sched.agents_by_id.get(session.agent_id)
    if old is not None:
        sched.disconnect(old.session_id, now)
    sched.sessions[session.session_id] = session
    sched.agents_by_id[session.agent_id] = session
    for cap in session.capabilities:
        sched._by_capability.setdefault(cap, []).append(session)
    resumed: list[str] = []
    dropped: list[str] = []
    for attempt_id in held_attempts:
        step = sched._orphans.pop(attempt_id, (None, 0))[0]
        if step is not None and sched.attempts.get(attempt_id) is step:
            step.session_id = session.session_id
            session.held[attempt_id] = step
            resumed.append(attempt_id)
        else:
            dropped.append(attempt_id)
    sched._dirty_caps.update(session.capabilities)
    return resumed, dropped


def disconnect(sched: Scheduler, session_id: str, now: float) -> None:
    agent = sched.sessions.pop(session_id, None)
    if agent is None:
        return
    if sched.agents_by_id.get(agent.agent_id) is agent:
        del sched.agents_by_id[agent.agent_id]
    for cap in agent.capabilities:
        peers = sched._by_capability.get(cap)
        if peers and agent in peers:
            peers.remove(agent)
    lease = sched.config.agent_lease
    for attempt_id, step in agent.held.items():
        if step is None or sched.attempts.get(attempt_id) is not step:
            continue
        if lease > 0:
            orphan(sched, step, now, lease)
        else:
            requeue_lost(sched, step, now, f"agent {agent.agent_id} disconnected")
    agent.held.clear()


def orphan(sched: Scheduler, step: StepRun, now: float, lease: float) -> None:
    """Keep an attempt for ``lease`` seconds for its agent to reconnect holding it."""
    token = next(sched._lease_seq)
    sched._orphans[step.attempt_id] = (step, token)
    sched._timer(now + lease, Timer.LEASE, step.attempt_id, token)


def requeue_lost(sched: Scheduler, step: StepRun, now: float, reason: str) -> None:
    sched.attempts.pop(step.attempt_id, None)
    step.tries = max(step.tries - 1, 0)  # a lost attempt does not count as a failure
    sched._emit(
        step.wf,
        EventType.AGENT_RETRYING,
        now,
        step,
        {"next_attempt": step.attempt + 1, "delay": 0.0, "reason": reason},
    )
    step.state = StepState.READY
    sched.outbox.steps[step] = None
    sched._enqueue(step, now)
