"""Step transitions: ready, assigned, running, completed, failed, retried, cancelled, skipped.

``StepMachine`` owns the current attempts and the PIPELINE work list. It changes steps
only; when a step finishes it tells the run's owner through ``RunHost`` (the scheduler).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from dwe.common.backoff import backoff_delay

from . import events as ev
from .config import SchedulerConfig
from .host import RunHost
from .model import Blob, ErrorInfo, ExecutionMode, StepState, WorkflowState
from .modes import ModePolicy
from .outcomes import transform_output
from .pool import AgentPool, AgentSession, Lane
from .queues import Dispatcher
from .recorder import Recorder
from .runs import StepRun, WorkflowRun
from .stops import AgentStops
from .timers import Timer, TimerQueue

_MISSING = object()
RETRY_CAP_FACTOR = 100.0  # an unset max_retry_delay caps retries at 100 x retry_delay


class StepMachine:
    """Moves steps through their states and keeps the attempts that are current."""

    def __init__(
        self,
        config: SchedulerConfig,
        rand: Callable[[], float],
        host: RunHost,
        recorder: Recorder,
        pool: AgentPool,
        timers: TimerQueue,
        policies: dict[ExecutionMode, ModePolicy],
    ) -> None:
        self._config = config
        self._rand = rand
        self._host = host
        self._rec = recorder
        self._pool = pool
        self._timers = timers
        self._policies = policies
        self._dispatcher = Dispatcher()
        # Current attempt id -> step; anything not here is late or stale.
        self._attempts: dict[str, StepRun] = {}
        self._pumps: deque[tuple[StepRun, float]] = deque()
        self._pumping = False
        self.completed = 0
        self.failed = 0
        self.stops = AgentStops(config, pool, recorder, timers, self)

    def _policy(self, step: StepRun) -> ModePolicy:
        return self._policies[step.wf.spec.mode]

    def current(self, attempt_id: str) -> StepRun | None:
        """The step whose current attempt this is."""
        return self._attempts.get(attempt_id)

    # -- readiness and dispatch ---------------------------------------------------

    def make_ready(self, steps: list[StepRun], now: float) -> None:
        """Steps of one run whose dependencies are all met, in declaration order."""
        wf = steps[0].wf
        for step in steps:
            step.state = StepState.READY
            self._rec.step(step)
        self._policies[wf.spec.mode].rank(wf, steps, now)
        for step in steps:
            if wf.limit:
                # Held, then released best rank / lowest index first by fill, so
                # a newly ready step never jumps an earlier one (SEQUENTIAL order).
                wf.hold(step)
            else:
                self._release(step, now)

    def fill(self, wf: WorkflowRun, now: float) -> None:
        """Release held ready steps while the run is under its parallel limit."""
        limit = wf.limit
        while wf.held and (not limit or wf.released < limit):
            nxt = wf.pop_held()
            if nxt is None:
                break
            self._release(nxt, now)

    def _release(self, step: StepRun, now: float) -> None:
        step.released = True
        step.wf.released += 1
        self._enqueue(step, now)

    def _enqueue(self, step: StepRun, now: float) -> None:
        self._dispatcher.enqueue(step)
        limit = step.spec.schedule_to_start_timeout
        if limit:
            self._timers.schedule(now + limit, Timer.SCHEDULE_TO_START, step, step.attempt)

    def _unrelease(self, step: StepRun) -> None:
        if step.released:
            step.released = False
            step.wf.released -= 1

    def touch(self, lanes: frozenset[Lane]) -> None:
        """Agents of these (namespace, capability) lanes appeared or freed a slot."""
        self._dispatcher.touch(lanes)

    def dispatch(self, now: float) -> None:
        """Assign queued steps of the capabilities that changed to free agents."""
        policies = self._policies

        def choose(step: StepRun, agents: list[AgentSession]) -> AgentSession | None:
            return policies[step.wf.spec.mode].choose(step, agents, now)

        aging = self._config.priority_aging
        for step, agent in self._dispatcher.pairs(now, aging, self._pool, choose):
            self._assign(step, agent, now)

    def _assign(self, step: StepRun, agent: AgentSession, now: float) -> None:
        step.attempt += 1
        step.tries += 1
        attempt_id = f"{step.wf.id}.{step.index}.{step.attempt}"
        step.attempt_id = attempt_id
        step.progress_index, step.pending = 0, None
        step.agent_id = agent.agent_id
        step.session_id = agent.session_id
        step.state = StepState.ASSIGNED
        step.assigned_at = now
        step.started_at = 0.0
        step.finished_at = 0.0
        agent.held[attempt_id] = step
        self._attempts[attempt_id] = step
        self._rec.step(step)
        self._rec.assign(agent, attempt_id)
        spec = step.spec
        self._emit(step, ev.StepAssigned, now, spec.task, spec.capability)
        if spec.timeout:
            self._timers.schedule(now + spec.timeout, Timer.DEADLINE, attempt_id)
        self.stops.assigned(attempt_id, now)

    def _emit(self, step: StepRun, cls: type[ev.StepEvent], now: float, *detail: Any) -> None:
        wf = step.wf
        s = step.spec
        event = cls(wf.id, 0, now, s.step_id, s.name, step.attempt, step.agent_id, *detail)
        self._rec.emit(wf, event)

    # -- agent reports ------------------------------------------------------------

    def _reporting(self, session_id: str, attempt_id: str) -> StepRun | None:
        step = self._attempts.get(attempt_id)
        if step is None or step.session_id != session_id:
            return None
        return step

    def started(self, session_id: str, attempt_id: str, now: float) -> bool:
        step = self._reporting(session_id, attempt_id)
        if step is not None and step.state is StepState.ASSIGNED:
            step.state = StepState.RUNNING
            step.started_at = now
            self._rec.step(step)
        return step is not None

    def progress(
        self, session_id: str, attempt_id: str, content: str, data: Blob | None, now: float
    ) -> bool:
        step = self._reporting(session_id, attempt_id)
        if step is None:
            return False
        self._emit(step, ev.StepStreamed, now, content, data)
        if data is not None:
            self._pump_all(self._policy(step).on_record(step, data), now)
        return True

    def result(
        self,
        session_id: str,
        attempt_id: str,
        output: Blob | None,
        error: ErrorInfo | None,
        now: float,
        duration: float = 0.0,
    ) -> bool:
        """Apply an attempt's outcome; False when it is late, duplicate or foreign."""
        agent = self._pool.session(session_id)
        if agent is not None and agent.held.pop(attempt_id, _MISSING) is not _MISSING:
            self._dispatcher.touch(agent.lanes)
        step = self._reporting(session_id, attempt_id)
        if step is None:
            return False
        del self._attempts[attempt_id]
        if duration > 0:
            step.started_at = now - duration
        if agent is not None:
            begin = step.started_at or step.assigned_at
            agent.observe(step.spec.capability, now - begin, error is not None)
        if error is None and step.spec.transformations:
            output, error = transform_output(output, step.spec.transformations)
        if error is not None:
            self.fail_attempt(step, error, now)
            return True
        pumps = self._policy(step).on_success(step, output)
        if pumps is None:
            self._complete(step, output, now)
        else:
            self._invocation_done(step, output, pumps, now)
        return True

    # -- outcomes -------------------------------------------------------------------

    def _complete(
        self, step: StepRun, output: Blob | None, now: float, announce: bool = True
    ) -> None:
        step.state = StepState.COMPLETED
        step.finished_at = now
        step.output = output
        step.error = None
        wf = step.wf
        wf.completed += 1
        self.completed += 1
        self._unrelease(step)
        self._rec.step(step)
        if announce:
            self._emit(step, ev.StepCompleted, now, output, step.execution_time(now))
        policy = self._policy(step)
        ready: list[StepRun] = []
        pumps: list[StepRun] = []
        for dep in step.dependents:
            dep.waiting -= 1
            if policy.upstream_ended(dep, step):
                pumps.append(dep)
            elif dep.waiting == 0 and dep.state is StepState.PENDING:
                ready.append(dep)
        if ready:
            self.make_ready(ready, now)
        self._pump_all(pumps, now)
        self.fill(wf, now)
        self._host.run_progressed(wf, now)

    def _invocation_done(
        self, step: StepRun, output: Blob | None, pumps: list[StepRun], now: float
    ) -> None:
        """One invocation of a streamed step succeeded; the stage itself goes on."""
        step.tries = 0
        step.finished_at = now
        self._emit(step, ev.StepCompleted, now, output, step.execution_time(now))
        step.state = StepState.RUNNING  # idle between invocations: no attempt out
        self._unrelease(step)
        self._rec.step(step)
        self._pump_all(pumps, now)
        self.fill(step.wf, now)

    def pump(self, steps: list[StepRun], now: float) -> None:
        """Advance streamed steps (after a run was adopted)."""
        self._pump_all(steps, now)

    def _pump_all(self, steps: list[StepRun], now: float) -> None:
        """Advance streamed steps; the outermost call drains the work list (no recursion)."""
        self._pumps.extend((s, now) for s in steps)
        if self._pumping:
            return
        self._pumping = True
        try:
            while self._pumps:
                step, when = self._pumps.popleft()
                self._pump(step, when)
        finally:
            self._pumping = False

    def _pump(self, step: StepRun, now: float) -> None:
        if step.state.terminal or step.wf.state.terminal:
            return
        unit = self._policy(step).next_unit(step)
        if unit is None:
            return
        if unit.finish:
            self._complete(step, unit.blob, now, announce=False)
        else:
            self.make_ready([step], now)
            self.fill(step.wf, now)

    def fail_attempt(self, step: StepRun, error: ErrorInfo, now: float) -> None:
        step.error = error
        step.finished_at = now
        spec = step.spec
        will_retry = (
            error.retryable
            and step.tries <= spec.retry_count
            and step.wf.state is WorkflowState.RUNNING
        )
        self._emit(step, ev.StepAttemptFailed, now, error, will_retry, step.execution_time(now))
        if not will_retry:
            self._fail_step(step, now)
            return
        delay = backoff_delay(
            max(step.tries, 1),  # 0 after a restart: tries are not stored
            spec.retry_delay,
            max(spec.backoff_coefficient, 1.0),
            spec.max_retry_delay or spec.retry_delay * RETRY_CAP_FACTOR,
            self._config.retry_jitter,
            self._rand(),
        )
        step.state = StepState.RETRY_WAIT
        self._rec.step(step)
        self._emit(step, ev.StepRetrying, now, step.attempt + 1, delay, error.message)
        if delay > 0:
            self._timers.schedule(now + delay, Timer.RETRY, step, step.attempt)
        else:
            step.state = StepState.READY
            self._enqueue(step, now)

    def _fail_step(self, step: StepRun, now: float) -> None:
        wf = step.wf
        step.state = StepState.FAILED
        step.finished_at = now
        wf.failed += 1
        self.failed += 1
        self._unrelease(step)
        self._rec.step(step)
        self._skip_dependents(step, now)
        if step.spec.optional:
            self.fill(wf, now)
            self._host.run_progressed(wf, now)
        else:
            message = step.error.message if step.error else "failed"
            self._host.run_failed(wf, now, f"step {step.spec.step_id!r} failed: {message}")

    def _skip_dependents(self, failed: StepRun, now: float) -> None:
        policy = self._policy(failed)
        sid = failed.spec.step_id
        error = ErrorInfo(f"dependency {sid!r} did not complete", "Skipped", False)
        pumps: list[StepRun] = []
        stack = list(failed.dependents)
        while stack:
            dep = stack.pop()
            started = dep.state is not StepState.PENDING and not dep.state.terminal
            if started and failed.spec.optional and policy.upstream_ended(dep, failed):
                pumps.append(dep)  # a pipeline stage that already ran finishes with what it has
                continue
            if dep.state is not StepState.PENDING:
                continue
            dep.state = StepState.SKIPPED
            dep.finished_at = now
            dep.wf.skipped += 1
            self._rec.step(dep)
            self._emit(dep, ev.StepSkipped, now, error, sid)
            stack.extend(dep.dependents)
        self._pump_all(pumps, now)

    def cancel(self, step: StepRun, now: float, reason: str) -> None:
        """End a step because its run ended; a running attempt is stopped on its agent."""
        if step.in_flight:
            attempt_id = step.attempt_id
            self._attempts.pop(attempt_id, None)
            self._pool.forget(attempt_id)
            self.stops.stop(step.session_id, attempt_id, reason, now)
        step.state = StepState.CANCELLED
        step.finished_at = now
        step.wf.cancelled += 1
        self._unrelease(step)
        self._rec.step(step)

    # -- lost attempts and timers ----------------------------------------------------

    def lost(self, steps: list[StepRun], now: float, reason: str, lease: float) -> None:
        """Attempts whose agent went away: kept for ``lease`` seconds, or re-queued now."""
        for step in steps:
            if self._attempts.get(step.attempt_id) is not step:
                continue
            if lease > 0:
                token = self._pool.orphan(step)
                self._timers.schedule(now + lease, Timer.LEASE, step.attempt_id, token)
            else:
                self.requeue_lost(step, now, reason)

    def resume(self, step: StepRun, now: float, held: dict[str, str] | None = None) -> None:
        """Re-own a stored in-flight attempt: after a restart (``held`` None) on a lease; after
        a rollback on the live session still holding it, else it runs again now."""
        step.released = True
        step.wf.released += 1
        self._attempts[step.attempt_id] = step
        step.session_id = ""
        if step.spec.timeout:
            self._timers.schedule(
                step.assigned_at + step.spec.timeout, Timer.DEADLINE, step.attempt_id
            )
        if held is None:
            self.lost([step], now, "server restarted", self._config.restart_lease)
        elif self._pool.rebind(held.get(step.attempt_id, ""), step):
            step.session_id = held[step.attempt_id]  # ask again for what was not stored
            self._rec.progress(step, step.session_id, step.attempt_id, resend=True)
        else:
            self.lost([step], now, "its outcome was not stored (a commit failed)", 0.0)

    def forget_run(self, wf: WorkflowRun) -> None:
        """The run is replaced by its stored state: its steps turn CANCELLED unrecorded."""
        for step in wf.order:
            if self._attempts.get(step.attempt_id) is step:
                del self._attempts[step.attempt_id]
            step.state = StepState.CANCELLED

    def requeue_lost(self, step: StepRun, now: float, reason: str) -> None:
        """Take the attempt back and queue the step again; it is not a failed try."""
        self._attempts.pop(step.attempt_id, None)
        step.tries = max(step.tries - 1, 0)  # a lost attempt does not count as a failure
        self._emit(step, ev.StepRetrying, now, step.attempt + 1, 0.0, reason)
        step.state = StepState.READY
        self._rec.step(step)
        self._enqueue(step, now)

    def on_deadline(self, attempt_id: str, token: int, now: float) -> None:
        step = self._attempts.get(attempt_id)
        if step is None or not step.in_flight:
            return
        del self._attempts[attempt_id]
        self._pool.forget(attempt_id)
        reason = f"attempt timed out after {step.spec.timeout:g}s"
        self.stops.stop(step.session_id, attempt_id, reason, now)
        self.fail_attempt(step, ErrorInfo(reason, "Timeout", True), now)

    def on_retry(self, step: StepRun, attempt: int, now: float) -> None:
        if step.state is StepState.RETRY_WAIT and step.attempt == attempt:
            step.state = StepState.READY
            self._rec.step(step)
            self._enqueue(step, now)

    def on_lease(self, attempt_id: str, token: int, now: float) -> None:
        step = self._pool.expire(attempt_id, token)
        if step is not None and self._attempts.get(attempt_id) is step:
            self.requeue_lost(step, now, f"agent {step.agent_id} did not come back")

    def on_schedule_to_start(self, step: StepRun, attempt: int, now: float) -> None:
        if step.state is not StepState.READY or step.attempt != attempt:
            return
        spec = step.spec
        step.error = ErrorInfo(
            f"no agent with capability {spec.capability!r} picked up step "
            f"{spec.step_id!r} within {spec.schedule_to_start_timeout:g}s",
            "ScheduleToStartTimeout",
            False,
        )
        self._emit(step, ev.StepAttemptFailed, now, step.error, False, 0.0)
        self._fail_step(step, now)
