"""The scheduler core: a pure state machine over workflows, steps and agents.

Every method takes the current time and mutates in-memory state; the
decisions it takes (events, rows to persist, assignments, cancels) pile up in
``outbox`` until the caller takes them, commits them and acts on them. No I/O,
no asyncio, no protobuf: it is driven by plain calls in tests.

Hot path, O(1) per step apart from agent choice among a capability's agents:
result -> step completed -> dependents' counters drop -> ready ones queued ->
dispatch pops queues of dirty capabilities -> assignment.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from typing import Any

from . import adaptive, pipeline, sessions, timers
from .backoff import compute_backoff
from .decisions import (
    Counters,
    Outbox,
    SchedulerConfig,
    SchedulerError,
    Timer,
    UnknownWorkflow,
)
from .model import (
    Blob,
    ErrorInfo,
    Event,
    EventType,
    ExecutionMode,
    StepState,
    StoredWorkflow,
    WorkflowState,
)
from .outcomes import final_output, transform_output
from .pool import AgentSession, choose_agent, observe
from .queues import Key, ReadyQueue
from .restore import restore_run
from .runs import StepRun, WorkflowRun

__all__ = [
    "Outbox",
    "Scheduler",
    "SchedulerConfig",
    "SchedulerError",
    "UnknownWorkflow",
    "final_output",
    "transform_output",
]

_MISSING = object()


class Scheduler:
    def __init__(
        self, config: SchedulerConfig | None = None, rand: Callable[[], float] = random.random
    ) -> None:
        self.config = config or SchedulerConfig()
        self._rand = rand
        self.workflows: dict[str, WorkflowRun] = {}
        self.sessions: dict[str, AgentSession] = {}
        self.agents_by_id: dict[str, AgentSession] = {}
        self._by_capability: dict[str, list[AgentSession]] = {}
        self._queues: dict[str, ReadyQueue] = {}
        self._dirty_caps: set[str] = set()
        # Current attempt id -> step; anything not here is late or stale.
        self.attempts: dict[str, StepRun] = {}
        # Attempts of disconnected agents waiting out their lease, with the
        # token of that lease's timer (a later disconnect starts a new lease).
        self._orphans: dict[str, tuple[StepRun, int]] = {}
        self._lease_seq = itertools.count(1)
        self._timers: list[tuple[float, int, Timer, Any, int]] = []
        self._timer_seq = itertools.count()
        self._waiting: list[tuple[int, int, WorkflowRun]] = []  # QUEUED workflows
        self.active = 0
        self.counters = Counters()
        self.outbox = Outbox()
        # Adaptation rules for ADAPTIVE runs: rule(workflow, ready_steps) -> None.
        self.rules: list[Callable[[WorkflowRun, list[StepRun]], Any]] = []

    # -- outbox -------------------------------------------------------------

    def take_outbox(self) -> Outbox:
        out, self.outbox = self.outbox, Outbox()
        return out

    def _emit(
        self,
        wf: WorkflowRun,
        type_: EventType,
        now: float,
        step: StepRun | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        wf.seq += 1
        if step is None:
            ev = Event(wf.id, wf.seq, type_, now, data=data or {})
        else:
            ev = Event(
                wf.id,
                wf.seq,
                type_,
                now,
                step.spec.step_id,
                step.spec.name,
                step.attempt,
                step.agent_id,
                data or {},
            )
        self.outbox.events.append(ev)

    def _timer(self, when: float, kind: Timer, key: Any, token: int = 0) -> None:
        heapq.heappush(self._timers, (when, next(self._timer_seq), kind, key, token))

    def next_deadline(self) -> float | None:
        return self._timers[0][0] if self._timers else None

    # -- workflows ----------------------------------------------------------

    def add_workflow(self, wf: WorkflowRun) -> None:
        self.workflows[wf.id] = wf

    def get(self, workflow_id: str) -> WorkflowRun:
        wf = self.workflows.get(workflow_id)
        if wf is None:
            raise UnknownWorkflow(workflow_id)
        return wf

    def start_workflow(
        self,
        workflow_id: str,
        now: float,
        context: dict[str, Any] | None = None,
        session_id: str = "",
    ) -> WorkflowState:
        wf = self.get(workflow_id)
        if wf.state is not WorkflowState.PENDING:
            raise SchedulerError(f"workflow {workflow_id} was already started (state {wf.state})")
        if context:
            wf.context.update(context)
        wf.session_id = session_id
        limit = self.config.max_concurrent_workflows
        if limit and self.active >= limit:
            wf.state = WorkflowState.QUEUED
            heapq.heappush(self._waiting, (wf.spec.priority, next(self._timer_seq), wf))
            self.outbox.workflows[wf] = None
            self._emit(wf, EventType.WORKFLOW_QUEUED, now, data=self._started_data(wf))
            return wf.state
        self._run(wf, now)
        return wf.state

    def _started_data(self, wf: WorkflowRun) -> dict[str, Any]:
        return {
            "name": wf.spec.name,
            "session_id": wf.session_id,
            "context": wf.context,
            "total_steps": wf.total,
            "execution_mode": wf.spec.mode,
            "priority": wf.spec.priority,
        }

    def _run(self, wf: WorkflowRun, now: float) -> None:
        wf.state = WorkflowState.RUNNING
        wf.started_at = now
        wf.start_order = next(self._timer_seq)
        self.active += 1
        self.outbox.workflows[wf] = None
        self._emit(wf, EventType.WORKFLOW_STARTED, now, data=self._started_data(wf))
        timeout = wf.spec.default_timeout or self.config.default_workflow_timeout
        if timeout:
            self._timer(now + timeout, Timer.WORKFLOW_TIMEOUT, wf)
        roots = [step for step in wf.order if step.waiting == 0]
        if roots:
            self._make_ready(roots, now)
        self._fill(wf, now)

    def cancel_workflow(self, workflow_id: str, now: float, reason: str = "") -> bool:
        """Cancel a workflow that has not ended; False when it already had."""
        wf = self.get(workflow_id)
        if wf.state.terminal:
            return False
        self._finish(wf, now, WorkflowState.CANCELLED, reason or "cancelled by request")
        return True

    # -- readiness and dispatch ---------------------------------------------

    def _make_ready(self, steps: list[StepRun], now: float) -> None:
        """Steps of one workflow whose dependencies are all met, in declaration order."""
        wf = steps[0].wf
        for step in steps:
            step.state = StepState.READY
            self.outbox.steps[step] = None
        if wf.spec.mode is ExecutionMode.ADAPTIVE:
            adaptive.rank_ready(self, wf, steps, now)
        for step in steps:
            if wf.limit:
                # Held, then released best rank / lowest index first by _fill, so
                # a newly ready step never jumps an earlier one (SEQUENTIAL order).
                wf.hold(step)
            else:
                self._release(step, now)

    def _fill(self, wf: WorkflowRun, now: float) -> None:
        """Release held ready steps while the workflow is under its parallel limit."""
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
        cap = step.spec.capability
        queue = self._queues.get(cap)
        if queue is None:
            queue = self._queues[cap] = ReadyQueue()
        queue.push(step)
        self._dirty_caps.add(cap)
        limit = step.spec.schedule_to_start_timeout
        if limit:
            self._timer(now + limit, Timer.SCHEDULE_TO_START, step, step.attempt)

    def _unrelease(self, step: StepRun) -> None:
        if step.released:
            step.released = False
            step.wf.released -= 1

    def dispatch(self, now: float) -> None:
        """Assign queued steps of the capabilities that changed to free agents.

        The capabilities compete by the (aged) priority of their head step, so
        an agent with several capabilities takes the most urgent step first.
        """
        if not self._dirty_caps:
            return
        caps, self._dirty_caps = self._dirty_caps, set()
        aging = self.config.priority_aging
        heads: list[tuple[Key, str]] = []
        for cap in caps:
            queue = self._queues.get(cap)
            agents = self._by_capability.get(cap)
            if queue and agents:
                key = queue.head_key(now, aging)
                if key is not None:
                    heads.append((key, cap))
        if len(heads) > 1:
            heapq.heapify(heads)
        while heads:
            _, cap = heapq.heappop(heads)
            queue = self._queues[cap]
            step = queue.pop(now, aging)
            if step is None:
                continue
            agents = self._by_capability[cap]
            agent = choose_agent(step, agents)
            if agent is not None and step.wf.spec.mode is ExecutionMode.ADAPTIVE:
                agent = adaptive.choose(self, step, agents, agent, now)
            if agent is None:
                queue.push(step)  # every agent of this capability is full
                continue
            self._assign(step, agent, now)
            key = queue.head_key(now, aging)
            if key is not None:
                heapq.heappush(heads, (key, cap))

    def _assign(self, step: StepRun, agent: AgentSession, now: float) -> None:
        step.attempt += 1
        step.tries += 1
        attempt_id = f"{step.wf.id}.{step.index}.{step.attempt}"
        step.attempt_id = attempt_id
        step.agent_id = agent.agent_id
        step.session_id = agent.session_id
        step.state = StepState.ASSIGNED
        step.assigned_at = now
        step.started_at = 0.0
        step.finished_at = 0.0
        agent.held[attempt_id] = step
        self.attempts[attempt_id] = step
        self.outbox.steps[step] = None
        self.outbox.assignments.append((agent, step))
        spec = step.spec
        self._emit(
            step.wf,
            EventType.AGENT_STARTED,
            now,
            step,
            {"task": spec.task, "capability": spec.capability},
        )
        if spec.timeout:
            self._timer(now + spec.timeout, Timer.DEADLINE, attempt_id)

    # -- agent reports ------------------------------------------------------

    def _current(self, session_id: str, attempt_id: str) -> StepRun | None:
        step = self.attempts.get(attempt_id)
        if step is None or step.session_id != session_id:
            return None
        return step

    def on_started(self, session_id: str, attempt_id: str, now: float) -> None:
        step = self._current(session_id, attempt_id)
        if step is not None and step.state is StepState.ASSIGNED:
            step.state = StepState.RUNNING
            step.started_at = now
            self.outbox.steps[step] = None

    def on_progress(
        self, session_id: str, attempt_id: str, content: str, data: Blob | None, now: float
    ) -> None:
        step = self._current(session_id, attempt_id)
        if step is None:
            return
        self._emit(step.wf, EventType.AGENT_STREAM, now, step, {"content": content, "data": data})
        if data is not None and step.wf.spec.mode is ExecutionMode.PIPELINE:
            pipeline.emitted(self, step, data, now)

    def on_result(
        self,
        session_id: str,
        attempt_id: str,
        output: Blob | None,
        error: ErrorInfo | None,
        now: float,
        duration: float = 0.0,
    ) -> bool:
        """Apply an attempt's outcome; False when it is late, duplicate or foreign.

        ``duration`` is the handler's run time as the agent measured it (0 when
        unknown); it becomes the attempt's execution time.
        """
        agent = self.sessions.get(session_id)
        if agent is not None and agent.held.pop(attempt_id, _MISSING) is not _MISSING:
            self._dirty_caps.update(agent.capabilities)
        step = self._current(session_id, attempt_id)
        if step is None:
            return False
        del self.attempts[attempt_id]
        if duration > 0:
            step.started_at = now - duration
        if agent is not None:
            begin = step.started_at or step.assigned_at
            observe(agent, step.spec.capability, now - begin, error is not None)
            if error is None:
                agent.completed += 1
            else:
                agent.failed += 1
        if error is None and step.spec.transformations:
            output, error = transform_output(output, step.spec.transformations)
        if error is not None:
            self._fail_attempt(step, error, now)
        elif step.streamed:
            pipeline.invocation_done(self, step, output, now)
        else:
            self._complete(step, output, now)
        return True

    def _complete(
        self, step: StepRun, output: Blob | None, now: float, announce: bool = True
    ) -> None:
        step.state = StepState.COMPLETED
        step.finished_at = now
        step.output = output
        step.error = None
        wf = step.wf
        wf.completed += 1
        self.counters.completed_steps += 1
        self._unrelease(step)
        self.outbox.steps[step] = None
        if announce:
            self._emit(
                wf,
                EventType.AGENT_COMPLETED,
                now,
                step,
                {"output": output, "execution_time": step.execution_time(now)},
            )
        ready = []
        for dep in step.dependents:
            dep.waiting -= 1
            if dep.streamed:
                pipeline.upstream_done(self, dep, step, now)
            elif dep.waiting == 0 and dep.state is StepState.PENDING:
                ready.append(dep)
        if ready:
            self._make_ready(ready, now)
        self._step_finished(wf, now)

    def _fail_attempt(self, step: StepRun, error: ErrorInfo, now: float) -> None:
        step.error = error
        step.finished_at = now
        spec = step.spec
        retry = step.tries
        will_retry = (
            error.retryable and retry <= spec.retry_count and step.wf.state is WorkflowState.RUNNING
        )
        self._emit(
            step.wf,
            EventType.AGENT_ERROR,
            now,
            step,
            {
                "error_message": error.message,
                "error_type": error.type,
                "retryable": error.retryable,
                "will_retry": will_retry,
                "execution_time": step.execution_time(now),
            },
        )
        if not will_retry:
            self._fail_step(step, now)
            return
        delay = compute_backoff(
            retry,
            spec.retry_delay,
            spec.backoff_coefficient,
            spec.max_retry_delay,
            self.config.retry_jitter,
            self._rand(),
        )
        step.state = StepState.RETRY_WAIT
        self.outbox.steps[step] = None
        self._emit(
            step.wf,
            EventType.AGENT_RETRYING,
            now,
            step,
            {"next_attempt": step.attempt + 1, "delay": delay, "reason": error.message},
        )
        if delay > 0:
            self._timer(now + delay, Timer.RETRY, step, step.attempt)
        else:
            step.state = StepState.READY
            self._enqueue(step, now)

    def _fail_step(self, step: StepRun, now: float) -> None:
        wf = step.wf
        step.state = StepState.FAILED
        step.finished_at = now
        wf.failed += 1
        self.counters.failed_steps += 1
        self._unrelease(step)
        self.outbox.steps[step] = None
        message = step.error.message if step.error else "failed"
        self._skip_dependents(step, now)
        if step.spec.optional:
            self._step_finished(wf, now)
        else:
            self._finish(
                wf, now, WorkflowState.FAILED, f"step {step.spec.step_id!r} failed: {message}"
            )

    def _skip_dependents(self, failed: StepRun, now: float) -> None:
        stack = list(failed.dependents)
        while stack:
            dep = stack.pop()
            started = dep.state is not StepState.PENDING and not dep.state.terminal
            if dep.streamed and failed.spec.optional and started:
                # A pipeline stage that already ran finishes with what it has.
                pipeline.upstream_done(self, dep, failed, now)
                continue
            if dep.state is not StepState.PENDING:
                continue
            dep.state = StepState.SKIPPED
            dep.finished_at = now
            dep.wf.skipped += 1
            self.outbox.steps[dep] = None
            self._emit(
                dep.wf,
                EventType.STEP_SKIPPED,
                now,
                dep,
                {
                    "error_message": f"dependency {failed.spec.step_id!r} did not complete",
                    "error_type": "Skipped",
                    "retryable": False,
                    "will_retry": False,
                    "execution_time": 0.0,
                },
            )
            stack.extend(dep.dependents)

    def _step_finished(self, wf: WorkflowRun, now: float) -> None:
        self._fill(wf, now)
        if wf.finished_steps == wf.total and not wf.state.terminal:
            self._finish(wf, now, WorkflowState.COMPLETED)

    # -- ending -------------------------------------------------------------

    def _cancel_step(self, step: StepRun, now: float, reason: str) -> None:
        if step.state in (StepState.ASSIGNED, StepState.RUNNING):
            attempt_id = step.attempt_id
            self.attempts.pop(attempt_id, None)
            self._orphans.pop(attempt_id, None)
            agent = self.sessions.get(step.session_id)
            if agent is not None and attempt_id in agent.held:
                # The slot stays taken until the agent confirms the handler ended.
                agent.held[attempt_id] = None
                self.outbox.cancels.append((step.session_id, attempt_id, reason))
        step.state = StepState.CANCELLED
        step.finished_at = now
        step.wf.cancelled += 1
        self._unrelease(step)
        self.outbox.steps[step] = None

    def _finish(self, wf: WorkflowRun, now: float, state: WorkflowState, error: str = "") -> None:
        for step in wf.order:
            if not step.state.terminal:
                self._cancel_step(step, now, error or str(state))
        was_running = wf.state is WorkflowState.RUNNING
        wf.state = state
        wf.finished_at = now
        wf.error_message = error
        wf.held.clear()
        self.outbox.workflows[wf] = None
        self.outbox.finished.append(wf)
        c = self.counters
        if state is WorkflowState.COMPLETED:
            c.completed_workflows += 1
            kind = EventType.WORKFLOW_COMPLETED
        elif state is WorkflowState.FAILED:
            c.failed_workflows += 1
            kind = EventType.WORKFLOW_FAILED
        elif state is WorkflowState.TIMED_OUT:
            c.timed_out_workflows += 1
            kind = EventType.WORKFLOW_TIMED_OUT
        else:
            c.cancelled_workflows += 1
            kind = EventType.WORKFLOW_CANCELLED
        self._emit(
            wf, kind, now, data={"state": state, "error_message": error, **final_output(wf, now)}
        )
        if was_running:
            self.active -= 1
            self._start_waiting(now)

    def _start_waiting(self, now: float) -> None:
        limit = self.config.max_concurrent_workflows
        while self._waiting and (not limit or self.active < limit):
            _, _, wf = heapq.heappop(self._waiting)
            if wf.state is WorkflowState.QUEUED:
                self._run(wf, now)

    def forget(self, workflow_id: str) -> None:
        """Drop an ended workflow from memory (the store keeps it)."""
        wf = self.workflows.get(workflow_id)
        if wf is not None and wf.state.terminal:
            del self.workflows[workflow_id]

    def restore(self, row: StoredWorkflow, now: float) -> WorkflowRun:
        """Rebuild an unfinished run from the store after a restart (see restore.py)."""
        return restore_run(self, row, now)

    # -- agents and time (sessions.py, timers.py) ----------------------------

    def connect(
        self, session: AgentSession, held_attempts: list[str], now: float
    ) -> tuple[list[str], list[str]]:
        """Open a session; returns (resumed, dropped) among the attempts it holds."""
        return sessions.connect(self, session, held_attempts, now)

    def disconnect(self, session_id: str, now: float) -> None:
        sessions.disconnect(self, session_id, now)

    def advance(self, now: float) -> None:
        """Fire every timer due at ``now``."""
        timers.advance(self, now)
