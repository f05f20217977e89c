"""Taking an attempt back from its agent: the Cancel and its grace, and the ack timeout.

A Cancel keeps the attempt's slot on the agent until the agent answers with a
result saying cancelled, so an agent never runs more than its
max_concurrent_tasks. An agent that never answers would hold the slot for good:
after ``cancel_grace`` seconds the slot is freed anyway, and counted. An
assignment the agent acknowledges neither with ``started`` nor with a result
within ``ack_timeout`` seconds is taken back (and cancelled on the agent) and
assigned again: a live but stuck agent cannot hold a step forever.
"""

from __future__ import annotations

from typing import Protocol

from .config import SchedulerConfig
from .model import StepState
from .pool import AgentPool, AgentSession, Lane
from .recorder import Recorder
from .runs import StepRun
from .timers import Timer, TimerQueue


class Steps(Protocol):
    """What ``AgentStops`` needs of the step machine."""

    def current(self, attempt_id: str) -> StepRun | None: ...

    def requeue_lost(self, step: StepRun, now: float, reason: str) -> None: ...

    def touch(self, lanes: frozenset[Lane]) -> None: ...


class AgentStops:
    """Cancels attempts on agents and runs the ack and cancel-grace timers."""

    __slots__ = ("_config", "_pool", "_rec", "_steps", "_timers", "grace_expired")

    def __init__(
        self,
        config: SchedulerConfig,
        pool: AgentPool,
        recorder: Recorder,
        timers: TimerQueue,
        steps: Steps,
    ) -> None:
        self._config = config
        self._pool = pool
        self._rec = recorder
        self._timers = timers
        self._steps = steps
        # Cancels no agent answered within the grace period (their slots freed anyway).
        self.grace_expired = 0

    def assigned(self, attempt_id: str, now: float) -> None:
        """An attempt went to an agent: it must be acknowledged within the ack timeout."""
        if self._config.ack_timeout > 0:
            self._timers.schedule(now + self._config.ack_timeout, Timer.ACK, attempt_id)

    def stop(self, session_id: str, attempt_id: str, reason: str, now: float) -> None:
        """Send Cancel; the slot stays taken until the agent confirms, or the grace ends."""
        agent = self._pool.session(session_id)
        if agent is None or attempt_id not in agent.held:
            return
        agent.held[attempt_id] = None
        self._rec.cancel(session_id, attempt_id, reason)
        grace = self._config.cancel_grace
        if grace > 0:
            self._timers.schedule(now + grace, Timer.CANCEL_GRACE, (session_id, attempt_id))

    def on_grace(self, key: tuple[str, str], token: int, now: float) -> None:
        session_id, attempt_id = key
        agent: AgentSession | None = self._pool.session(session_id)
        if agent is None or agent.held.get(attempt_id, 0) is not None:
            return  # answered (or the session ended)
        del agent.held[attempt_id]
        self.grace_expired += 1
        self._steps.touch(agent.lanes)

    def on_ack(self, attempt_id: str, token: int, now: float) -> None:
        step = self._steps.current(attempt_id)
        if step is None or step.state is not StepState.ASSIGNED:
            return  # started, reported, or no longer current
        reason = (
            f"agent {step.agent_id} acknowledged the assignment neither with started nor"
            f" with a result within {self._config.ack_timeout:g}s"
        )
        self.stop(step.session_id, attempt_id, reason, now)
        self._pool.forget(attempt_id)
        self._steps.requeue_lost(step, now, reason)
