"""The scheduler core: a pure state machine over workflows, steps and agents.

Every method takes the current time and changes in-memory state; the
decisions it takes (events, rows to persist, assignments, cancels) pile up in
the ``Recorder`` until the caller takes them, commits them and acts on them.
No I/O, no asyncio, no protobuf: tests drive it with plain calls.

The scheduler owns runs (start, queue, end, adopt after a restart) and routes
agents and timers. Each part it uses owns its own state: ``StepMachine``
(step transitions and current attempts), ``AgentPool`` (sessions, leases),
``TimerQueue``, ``Recorder`` and one ``ModePolicy`` per execution mode.

Hot path, O(1) per step apart from the agent choice: result -> step completed
-> dependents' counters drop -> ready ones queued -> dispatch pops the queues
of changed (namespace, capability) lanes -> assignment.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Collection
from typing import Any

from . import events as ev
from .adaptive import AdaptivePolicy, Rule
from .census import Census
from .config import SchedulerConfig, SchedulerError, UnknownWorkflow
from .gate import ReportGate
from .liveness import timer_live
from .model import (
    Blob,
    Dispatch,
    ErrorInfo,
    ExecutionMode,
    StepState,
    StoredWorkflow,
    WorkflowState,
)
from .modes import ModePolicy
from .outcomes import run_summary
from .pipeline import PipelinePolicy
from .pool import AgentPool, AgentSession
from .recorder import Outbox, Recorder
from .restore import rebuild
from .runs import StepRun, WorkflowRun
from .stats import Counters, EngineStats
from .steps import StepMachine
from .timers import Timer, TimerQueue

_ENDED_COUNTER = {
    WorkflowState.COMPLETED: "completed_workflows",
    WorkflowState.FAILED: "failed_workflows",
    WorkflowState.CANCELLED: "cancelled_workflows",
    WorkflowState.TIMED_OUT: "timed_out_workflows",
}


class Scheduler:
    def __init__(
        self, config: SchedulerConfig | None = None, rand: Callable[[], float] = random.random
    ) -> None:
        self.config = config or SchedulerConfig()
        self._runs: dict[str, WorkflowRun] = {}
        self._pool = AgentPool()
        self._timers = TimerQueue(lambda *t: timer_live(self._runs, self._steps.current, *t))
        self._rec = Recorder()
        self._counters = Counters()
        self._census = Census()
        self._waiting: list[tuple[int, int, WorkflowRun]] = []  # QUEUED runs
        self._order = itertools.count(1)  # start order of runs, ties of the queue
        self._active = 0
        self._queued = 0
        self._adaptive = AdaptivePolicy(self._rec)
        parallel = ModePolicy()
        self._policies: dict[ExecutionMode, ModePolicy] = {
            ExecutionMode.PARALLEL: parallel,
            ExecutionMode.SEQUENTIAL: parallel,
            ExecutionMode.ADAPTIVE: self._adaptive,
            ExecutionMode.PIPELINE: PipelinePolicy(self._rec),
        }
        self._steps = StepMachine(
            self.config, rand, self, self._rec, self._pool, self._timers, self._policies
        )
        self._gate = ReportGate(steps := self._steps, self._rec)
        self._on_timer: dict[Timer, Callable[[Any, int, float], None]] = {
            Timer.DEADLINE: steps.on_deadline,
            Timer.RETRY: steps.on_retry,
            Timer.LEASE: steps.on_lease,
            Timer.WORKFLOW_TIMEOUT: self._on_run_timeout,
            Timer.SCHEDULE_TO_START: steps.on_schedule_to_start,
            Timer.ACK: steps.stops.on_ack,
            Timer.CANCEL_GRACE: steps.stops.on_grace,
        }

    def take_outbox(self) -> Outbox:
        """Everything decided since the last call."""
        return self._rec.take()

    def pending(self) -> bool:
        """True when decisions wait to be taken."""
        return self._rec.pending()

    def next_deadline(self) -> float | None:
        """When ``advance`` next has something to do."""
        return self._timers.next_deadline()

    def run(self, workflow_id: str) -> WorkflowRun | None:
        """The live run, or None (never created, or ended and forgotten)."""
        return self._runs.get(workflow_id)

    def get(self, workflow_id: str) -> WorkflowRun:
        wf = self._runs.get(workflow_id)
        if wf is None:
            raise UnknownWorkflow(workflow_id)
        return wf

    def agent(self, agent_id: str) -> AgentSession | None:
        """The open session of an agent id."""
        return self._pool.by_agent(agent_id)

    def agents(self) -> list[AgentSession]:
        """Every open session."""
        return self._pool.sessions()

    def attempt(self, attempt_id: str) -> StepRun | None:
        """The step whose current attempt this is (None when late, stale or unknown)."""
        return self._steps.current(attempt_id)

    def dispatch_of(self, session_id: str, attempt_id: str) -> Dispatch | None:
        """What the agent needs for an assigned attempt; None once it moved on."""
        step = self._steps.current(attempt_id)
        agent = self._pool.session(session_id)
        if step is None or agent is None or step.session_id != session_id:
            return None
        if attempt_id not in agent.held:  # cancelled meanwhile
            return None
        return self._policies[step.wf.spec.mode].dispatch(step)

    def stats(self, namespaces: Collection[str] | None = None) -> EngineStats:
        """A snapshot of counters, load and memory use (of ``namespaces`` only, if given)."""
        if namespaces is not None:
            return self._census.stats(namespaces, self._runs.values(), self._pool.sessions())
        c = self._counters
        sessions = self._pool.sessions()
        durations = [a.overall.duration for a in sessions if a.overall.samples]
        return EngineStats(
            active_workflows=self._active,
            queued_workflows=self._queued,
            completed_workflows=c.completed_workflows,
            failed_workflows=c.failed_workflows,
            cancelled_workflows=c.cancelled_workflows,
            timed_out_workflows=c.timed_out_workflows,
            completed_steps=self._steps.completed,
            failed_steps=self._steps.failed,
            rule_errors=self._adaptive.rule_errors,
            cancels_unanswered=self._steps.stops.grace_expired,
            connected_agents=len(sessions),
            agent_load={a.agent_id: len(a.held) for a in sessions},
            mean_step_seconds=sum(durations) / len(durations) if durations else 0.0,
            runs_in_memory=len(self._runs),
        )

    def add_rule(self, rule: Rule) -> None:
        """An adaptation rule for ADAPTIVE runs: ``rule(workflow, ready_steps)``."""
        self._adaptive.add_rule(rule)

    # -- runs ----------------------------------------------------------------------

    def add_workflow(self, wf: WorkflowRun) -> None:
        """Hold a new run (PENDING) until it is started."""
        self._runs[wf.id] = wf

    def discard(self, workflow_id: str) -> None:
        """Drop a PENDING run that was never stored (its create failed to commit)."""
        wf = self._runs.get(workflow_id)
        if wf is not None and wf.state is WorkflowState.PENDING:
            del self._runs[workflow_id]

    def forget(self, workflow_id: str) -> None:
        """Drop an ended run from memory (the store keeps it)."""
        wf = self._runs.get(workflow_id)
        if wf is not None and wf.state.terminal:
            del self._runs[workflow_id]

    def start_workflow(
        self,
        workflow_id: str,
        now: float,
        context: dict[str, Any] | None = None,
        session_id: str = "",
    ) -> WorkflowState:
        """Start a PENDING run: RUNNING, or QUEUED while max_concurrent_workflows run."""
        wf = self.get(workflow_id)
        if wf.state is not WorkflowState.PENDING:
            raise SchedulerError(f"workflow {workflow_id} was already started (state {wf.state})")
        if context:
            wf.merge_context(context, self.config.max_context_bytes)
        wf.session_id = session_id
        limit = self.config.max_concurrent_workflows
        if limit and self._active >= limit:
            wf.state = WorkflowState.QUEUED
            self._queued += 1
            heapq.heappush(self._waiting, (wf.spec.priority, next(self._order), wf))
            self._rec.run(wf)
            self._rec.emit(wf, _opened(ev.WorkflowQueued, wf, now))
            return wf.state
        self._run(wf, now)
        return wf.state

    def _run(self, wf: WorkflowRun, now: float) -> None:
        wf.state = WorkflowState.RUNNING
        wf.started_at = now
        self._open(wf)
        self._rec.run(wf)
        self._rec.emit(wf, _opened(ev.WorkflowStarted, wf, now))
        self._arm_timeout(wf, now)
        roots = [step for step in wf.order if step.waiting == 0]
        if roots:
            self._steps.make_ready(roots, now)
        self._steps.fill(wf, now)

    def _open(self, wf: WorkflowRun, row: StoredWorkflow | None = None) -> ModePolicy:
        wf.start_order = next(self._order)
        self._active += 1
        policy = self._policies[wf.spec.mode]
        if row is None:
            policy.opened(wf)  # adopted from a row, the policy rebuilds its state itself
        return policy

    def _arm_timeout(self, wf: WorkflowRun, now: float) -> None:
        if wf.spec.default_timeout or self.config.default_workflow_timeout:
            timeout = wf.spec.default_timeout or self.config.default_workflow_timeout
            self._timers.schedule(wf.started_at + timeout, Timer.WORKFLOW_TIMEOUT, wf.id)

    def cancel_workflow(self, workflow_id: str, now: float, reason: str = "") -> bool:
        """Cancel a run that has not ended; False when it already had."""
        wf = self.get(workflow_id)
        if wf.state.terminal:
            return False
        self._finish(wf, now, WorkflowState.CANCELLED, reason or "cancelled by request")
        return True

    def restore(
        self, row: StoredWorkflow, now: float, held: dict[str, str] | None = None
    ) -> WorkflowRun:
        """Rebuild an unfinished run from its stored rows and adopt it.

        ``held`` (from ``evict``) says which attempts live sessions still hold;
        with it, the others run again at once rather than waiting for a lease,
        since their agents are connected and no longer hold them.
        """
        wf = rebuild(row)
        self.adopt(wf, now, held, row)
        return wf

    def evict(self, workflow_id: str) -> dict[str, str]:
        """Take a run out of memory to replace it by its stored state (a commit failed).

        Its decisions not yet taken are dropped, its agents' slots freed, and
        nothing about it is announced. Returns {attempt_id: session_id} of the
        slots it held, so ``restore`` can give still-running attempts back.
        """
        self._rec.purge({workflow_id})
        wf = self._runs.pop(workflow_id, None)
        if wf is None:
            return {}
        held = self._pool.release_run(workflow_id)
        for session_id in set(held.values()):
            agent = self._pool.session(session_id)
            if agent is not None:
                self._steps.touch(agent.lanes)
        self._steps.forget_run(wf)
        if wf.state is WorkflowState.RUNNING:
            self._policies[wf.spec.mode].closed(wf)
            self._active -= 1
        elif wf.state is WorkflowState.QUEUED:
            self._queued -= 1
        wf.state = WorkflowState.CANCELLED  # dead: its timers and queue entries are skipped
        return held

    def adopt(
        self,
        wf: WorkflowRun,
        now: float,
        held: dict[str, str] | None = None,
        row: StoredWorkflow | None = None,
    ) -> None:
        """Take over a run rebuilt from the store (``restore.rebuild``).

        After a restart, attempts that were in flight wait out the restart lease
        for their agent to reconnect holding them; otherwise they run again.
        ``held`` maps attempt ids to live sessions that still hold them (after
        ``evict``): those attempts carry on there. ``row`` (when rebuilt from one)
        lets the mode policy restore its own state, such as PIPELINE stages.
        """
        self._runs[wf.id] = wf
        if wf.state is WorkflowState.QUEUED:
            self._queued += 1
            heapq.heappush(self._waiting, (wf.spec.priority, next(self._order), wf))
        if wf.state is not WorkflowState.RUNNING:
            return
        policy = self._open(wf, row)
        requeue, pump = policy.adopted(wf, row) if row is not None else ([], [])
        self._arm_timeout(wf, now)
        for step in wf.order:
            if step.state.terminal or step in requeue or policy.idle(step):
                continue
            if step.in_flight:
                self._steps.resume(step, now, held)
            else:
                step.state = StepState.PENDING  # READY or RETRY_WAIT: readiness is recomputed
        ready = [
            s
            for s in wf.order
            if s.state is StepState.PENDING and s.waiting == 0 and not policy.streams(s)
        ]
        for batch in (ready, *([s] for s in requeue)):
            if batch:
                self._steps.make_ready(batch, now)
        self._steps.pump(pump, now)
        self._steps.fill(wf, now)
        self.run_progressed(wf, now)

    # -- run endings (RunHost) ---------------------------------------------------------

    def run_progressed(self, wf: WorkflowRun, now: float) -> None:
        """A step of ``wf`` finished: complete the run once every step has."""
        if wf.finished_steps == wf.total and not wf.state.terminal:
            self._finish(wf, now, WorkflowState.COMPLETED)

    def run_failed(self, wf: WorkflowRun, now: float, error: str) -> None:
        """A required step failed for good: the run fails."""
        self._finish(wf, now, WorkflowState.FAILED, error)

    def _finish(self, wf: WorkflowRun, now: float, state: WorkflowState, error: str = "") -> None:
        for step in wf.order:
            if not step.state.terminal:
                self._steps.cancel(step, now, error or str(state))
        was = wf.state
        wf.state = state
        wf.finished_at = now
        wf.error_message = error
        wf.held.clear()
        self._rec.run(wf)
        self._rec.ended(wf)
        name = _ENDED_COUNTER[state]
        setattr(self._counters, name, getattr(self._counters, name) + 1)
        self._census.ended(wf, name)
        summary = run_summary(wf, now, self.config.inline_results_bytes)
        self._rec.emit(wf, ev.ENDED_BY_STATE[state](wf.id, 0, now, summary))
        if was is WorkflowState.QUEUED:
            self._queued -= 1
        elif was is WorkflowState.RUNNING:
            self._policies[wf.spec.mode].closed(wf)
            self._active -= 1
            self._start_waiting(now)

    def _start_waiting(self, now: float) -> None:
        limit = self.config.max_concurrent_workflows
        while self._waiting and (not limit or self._active < limit):
            _, _, wf = heapq.heappop(self._waiting)
            if wf.state is WorkflowState.QUEUED:
                self._queued -= 1
                self._run(wf, now)

    def _on_run_timeout(self, workflow_id: str, token: int, now: float) -> None:
        wf = self._runs.get(workflow_id)
        if wf is not None and wf.state is WorkflowState.RUNNING:
            limit = wf.spec.default_timeout or self.config.default_workflow_timeout
            self._finish(wf, now, WorkflowState.TIMED_OUT, f"workflow exceeded {limit:g}s")

    # -- agents, reports and time --------------------------------------------------------

    def connect(
        self, session: AgentSession, held_attempts: list[str], now: float
    ) -> tuple[list[str], list[str]]:
        """Open a session; returns (resumed, dropped) among the attempts it holds. A
        second session of the same agent id replaces the first."""
        old = self._pool.by_agent(session.agent_id)
        if old is not None:
            self.disconnect(old.session_id, now)
        resumed, dropped = self._pool.add(session, held_attempts)
        for step in resumed:
            step.session_id = session.session_id
        self._steps.touch(session.lanes)
        return [s.attempt_id for s in resumed], dropped

    def disconnect(self, session_id: str, now: float) -> AgentSession | None:
        """Close a session (returned; None when not open); its attempts wait out the
        agent lease or run again."""
        agent, lost = self._pool.remove(session_id)
        if agent is not None:
            reason = f"agent {agent.agent_id} disconnected"
            self._steps.lost(lost, now, reason, self.config.agent_lease)
        return agent

    def dispatch(self, now: float) -> None:
        """Assign queued steps of the lanes that changed to free agents."""
        self._steps.dispatch(now)

    def on_started(self, session_id: str, attempt_id: str, now: float) -> bool:
        """The agent's handler began (ASSIGNED -> RUNNING); False: not its current attempt."""
        return self._steps.started(session_id, attempt_id, now)

    def holds(self, session_id: str, attempt_id: str) -> bool:
        """The session holds the attempt (current, or cancelled and not yet answered)."""
        return attempt_id in getattr(self._pool.session(session_id), "held", ())

    def on_progress(
        self,
        session_id: str,
        attempt_id: str,
        content: str,
        data: Blob | None,
        now: float,
        index: int = 0,
    ) -> bool:
        """Streamed content (maybe a PIPELINE record), numbered in order (engine.gate)."""
        return self._gate.progress(session_id, attempt_id, content, data, now, index)

    def on_result(
        self,
        session_id: str,
        attempt_id: str,
        output: Blob | None,
        error: ErrorInfo | None,
        now: float,
        duration: float = 0.0,
        progress_count: int = 0,
    ) -> bool:
        """Apply an attempt's outcome (False: late, duplicate or foreign). ``duration``: the
        handler's own run time, or 0; a result waits for progress before it (engine.gate)."""
        return self._gate.result(
            session_id, attempt_id, output, error, now, duration, progress_count
        )

    def advance(self, now: float) -> None:
        """Fire every timer due at ``now``."""
        handlers = self._on_timer
        for kind, key, token in self._timers.due(now):
            handlers[kind](key, token, now)


def _opened(
    cls: type[ev.WorkflowStarted] | type[ev.WorkflowQueued], wf: WorkflowRun, now: float
) -> ev.WorkflowStarted | ev.WorkflowQueued:
    s, ns, context = wf.spec, wf.namespace, wf.context_blob()
    return cls(wf.id, 0, now, s.name, wf.session_id, context, wf.total, s.mode, s.priority, ns)
