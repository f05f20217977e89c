"""Runs the scheduler core against the world: group commits, fan-out, agent links, timers.

Every mutation goes: scheduler call (in memory) -> ``_changed`` -> the decisions
pile up in the scheduler's outbox -> one group commit takes everything piled
up -> after it commits, events are published and assignments/cancels sent.
Nobody hears of a fact before it is committed. A commit starts as soon as the
loop is free when none is running; whatever arrives while one runs goes in the
next, so an idle server adds no batching delay and a busy one writes big batches.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import orjson

from .engine.model import (
    EMPTY_OBJECT,
    JSON_ENCODING,
    AgentRegistration,
    Blob,
    Dispatch,
    ErrorInfo,
    Event,
    WorkflowSpec,
    WorkflowState,
)
from .engine.pool import AgentSession
from .engine.runs import StepRun, WorkflowRun
from .engine.scheduler import Outbox, Scheduler, SchedulerConfig
from .hub import EventHub, Subscription
from .store.base import Store, StoredEvent, WorkflowRow
from .store.mapping import agent_row, step_update, workflow_insert, workflow_update
from .store.rows import EventRow, WriteBatch
from .telemetry import Telemetry

log = logging.getLogger("dwe.server")

# Ended workflows kept in memory for fast status reads; older ones come from the store.
KEEP_FINISHED = 2000


# (attempt_id, output, error, handler seconds as the agent measured them or 0)
Result = tuple[str, Blob | None, ErrorInfo | None, float]


class AgentLink(Protocol):
    """The transport side of one agent session (implemented by the api layer)."""

    def deliver(self, dispatches: list[Dispatch], cancels: list[tuple[str, str]]) -> None: ...

    def close(self, reason: str) -> None: ...


class Coordinator:
    def __init__(
        self,
        store: Store,
        encode_event: Callable[[Event], bytes],
        config: SchedulerConfig | None = None,
        telemetry: Telemetry | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        # The transport's encoding of an event (caching it on the event): stored as
        # is and reused for every subscriber's stream.
        self._encode = encode_event
        self.scheduler = Scheduler(config)
        self.telemetry = telemetry or Telemetry()
        self.hub = EventHub()
        self.clock = clock
        self.registry: dict[str, AgentRegistration] = {}
        self._links: dict[str, AgentLink] = {}
        self._requests: dict[str, str] = {}
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="dwe-store-writer")
        self._reader = ThreadPoolExecutor(2, thread_name_prefix="dwe-store-reader")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._new: list[tuple[str, str, WorkflowSpec, float]] = []
        self._new_agents: list[AgentRegistration] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._commit_scheduled = False
        self._committing = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._finished: deque[str] = deque()
        self._closed = False
        self._shutting_down = False
        self.commits = 0
        self.events_committed = 0

    # -- lifecycle ------------------------------------------------------------

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        for reg in await self.read(self.store.load_agents):
            self.registry[reg.agent_id] = reg
        await self._recover()

    def end_streams(self) -> None:
        """End every agent session and event stream (first step of a shutdown).

        From here on, agents leaving is the server's doing: their attempts stay
        as stored, for the next start to resume (restart lease).
        """
        self._shutting_down = True
        for link in list(self._links.values()):
            link.close("server shutting down")
        self.hub.close_all()

    async def close(self) -> None:
        """Commit what is pending and stop the store threads; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.end_streams()
        await self.flush()  # the last decisions reach the store
        if self._timer is not None:
            self._timer.cancel()
        self._writer.shutdown(wait=True)
        self._reader.shutdown(wait=True)
        log.info("store: %d commits, %d events committed", self.commits, self.events_committed)

    async def read(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a store read off the event loop."""
        assert self._loop is not None
        return await self._loop.run_in_executor(self._reader, fn, *args)

    # -- the commit pipeline ----------------------------------------------------

    def _changed(self) -> None:
        now = self.clock()
        self.scheduler.dispatch(now)
        self._arm_timer(now)
        if not self._committing and not self._commit_scheduled:
            self._commit_scheduled = True
            assert self._loop is not None
            self._loop.call_soon(self._commit)

    def flush(self) -> asyncio.Future[None]:
        """A future that resolves once everything decided so far is committed."""
        assert self._loop is not None
        fut: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(fut)
        self._changed()
        return fut

    def _commit(self) -> None:
        self._commit_scheduled = False
        out = self.scheduler.take_outbox()
        batch = self._snapshot(out)
        waiters, self._waiters = self._waiters, []
        if not batch:
            self._act(out, waiters)
            return
        self._committing = True
        assert self._loop is not None
        fut = self._loop.run_in_executor(self._writer, self.store.write, batch)
        fut.add_done_callback(lambda f: self._committed(f, out, waiters))

    def _committed(
        self, fut: asyncio.Future[None], out: Outbox, waiters: list[asyncio.Future[None]]
    ) -> None:
        self._committing = False
        self.commits += 1
        self.events_committed += len(out.events)
        exc = fut.exception()
        if exc is not None:
            # Nothing of this batch may be announced; callers waiting on it get the error.
            log.error("store commit failed; %d events withheld", len(out.events), exc_info=exc)
            for w in waiters:
                if not w.done():
                    w.set_exception(exc)
        else:
            self._act(out, waiters)
        if self.scheduler.outbox or self._new or self._new_agents or self._waiters:
            self._commit_scheduled = True
            assert self._loop is not None
            self._loop.call_soon(self._commit)

    def _snapshot(self, out: Outbox) -> WriteBatch:
        encode = self._encode
        batch = WriteBatch(
            events=[
                EventRow(
                    workflow_id=e.workflow_id,
                    seq=e.seq,
                    type=str(e.type),
                    time=e.time,
                    step_id=e.step_id,
                    attempt=e.attempt,
                    agent_id=e.agent_id,
                    event=encode(e),
                )
                for e in out.events
            ],
            workflow_updates=[workflow_update(wf) for wf in out.workflows],
            step_updates=[step_update(s) for s in out.steps],
        )
        if self._new:
            new, self._new = self._new, []
            for workflow_id, request_id, spec, created_at in new:
                row, steps = workflow_insert(workflow_id, request_id, spec, created_at)
                batch.new_workflows.append(row)
                batch.new_steps.extend(steps)
        if self._new_agents:
            batch.agents = [agent_row(reg) for reg in self._new_agents]
            self._new_agents = []
        return batch

    def _act(self, out: Outbox, waiters: list[asyncio.Future[None]]) -> None:
        """Announce a committed batch: spans, events, then agent work."""
        for workflow_id, rule, error in out.rule_errors:
            log.warning(
                "workflow %s: adaptation rule %s failed and was skipped: %s",
                workflow_id,
                rule,
                error,
            )
        self.telemetry.on_events(out.events)
        self.hub.publish(out.events)
        if out.assignments:
            per_link: dict[str, list[Dispatch]] = {}
            for agent, step in out.assignments:
                if step.session_id != agent.session_id or step.attempt_id not in agent.held:
                    continue  # moved on before the commit (cancelled, agent gone)
                per_link.setdefault(agent.session_id, []).append(self._dispatch(step))
            for session_id, dispatches in per_link.items():
                link = self._links.get(session_id)
                if link is not None:
                    link.deliver(dispatches, [])
        if out.cancels:
            per_session: dict[str, list[tuple[str, str]]] = {}
            for session_id, attempt_id, reason in out.cancels:
                per_session.setdefault(session_id, []).append((attempt_id, reason))
            for session_id, cancels in per_session.items():
                link = self._links.get(session_id)
                if link is not None:
                    link.deliver([], cancels)
        for wf in out.finished:
            self._finished.append(wf.id)
            log.log(
                logging.INFO if wf.state is WorkflowState.COMPLETED else logging.WARNING,
                "workflow %s %r %s: %d/%d steps completed in %.3fs%s",
                wf.id,
                wf.spec.name,
                wf.state,
                wf.completed,
                wf.total,
                (wf.finished_at - wf.started_at) if wf.started_at else 0.0,
                f" ({wf.error_message})" if wf.error_message else "",
            )
        while len(self._finished) > KEEP_FINISHED:
            self.scheduler.forget(self._finished.popleft())
        for w in waiters:
            if not w.done():
                w.set_result(None)

    def _dispatch(self, step: StepRun) -> Dispatch:
        wf = step.wf
        if wf.context_blob is None:
            wf.context_blob = (
                Blob(JSON_ENCODING, orjson.dumps(wf.context)) if wf.context else EMPTY_OBJECT
            )
        spec = step.spec
        tp, ts = self.telemetry.carrier(wf.id, spec.step_id, step.attempt)
        return Dispatch(
            step.attempt_id,
            wf.id,
            spec.step_id,
            spec.name,
            spec.description,
            spec.capability,
            step.attempt,
            wf.context_blob,
            step.inputs(),
            step.assigned_at + spec.timeout if spec.timeout else None,
            tp,
            ts,
        )

    # -- timers -------------------------------------------------------------------

    def _arm_timer(self, now: float) -> None:
        deadline = self.scheduler.next_deadline()
        if deadline is None:
            return
        if self._timer is not None and self._timer_at <= deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
        assert self._loop is not None
        self._timer_at = deadline
        self._timer = self._loop.call_later(max(deadline - now, 0.0), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.scheduler.advance(self.clock())
        self._changed()

    # -- workflows ----------------------------------------------------------------

    async def create_workflow(self, spec: WorkflowSpec, request_id: str = "") -> tuple[str, bool]:
        """Store a validated workflow; returns (workflow_id, created)."""
        if request_id:
            known = self._requests.get(request_id)
            if known is None:
                # An indexed point read: cheaper on the loop than a thread hop.
                known = self.store.find_request(request_id)
            if known is not None:
                return known, False
        wid = uuid.uuid4().hex
        now = self.clock()
        run = WorkflowRun(wid, spec, now, request_id)
        self.scheduler.add_workflow(run)
        if request_id:
            self._requests[request_id] = wid
        self._new.append((wid, request_id, spec, now))
        try:
            await self.flush()
        except Exception:
            self.scheduler.workflows.pop(wid, None)
            self._requests.pop(request_id, None)
            raise
        return wid, True

    async def start_workflow(
        self,
        workflow_id: str,
        context: dict[str, Any] | None = None,
        session_id: str = "",
        metadata: Any = None,
    ) -> WorkflowState:
        """Start a run; ``metadata`` is the caller's gRPC metadata (for its trace context)."""
        self.telemetry.set_parent(workflow_id, metadata)
        state = self.scheduler.start_workflow(workflow_id, self.clock(), context, session_id)
        await self.flush()
        return state

    async def cancel_workflow(self, workflow_id: str, reason: str = "") -> bool:
        cancelled = self.scheduler.cancel_workflow(workflow_id, self.clock(), reason)
        await self.flush()
        return cancelled

    def live(self, workflow_id: str) -> WorkflowRun | None:
        return self.scheduler.workflows.get(workflow_id)

    async def stored(self, workflow_id: str) -> WorkflowRow | None:
        return await self.read(self.store.load_workflow, workflow_id)

    def subscribe(self, workflow_ids: Any = (), types: Any = ()) -> Subscription:
        return self.hub.subscribe(workflow_ids, types)

    async def events_after(self, workflow_id: str, after_seq: int) -> list[StoredEvent]:
        return await self.read(self.store.load_events, workflow_id, after_seq)

    # -- agents -------------------------------------------------------------------

    async def register_agent(self, reg: AgentRegistration) -> None:
        self.registry[reg.agent_id] = reg
        self._new_agents.append(reg)
        await self.flush()

    def connect_agent(
        self,
        link: AgentLink,
        agent_id: str,
        agent_type: str,
        capabilities: list[str],
        max_tasks: int,
        labels: dict[str, str],
        held: list[str],
    ) -> tuple[AgentSession, list[str], list[str]]:
        """Open a session; registry entries fill in what the agent left out."""
        reg = self.registry.get(agent_id)
        if reg is not None:
            agent_type = agent_type or reg.agent_type
            capabilities = capabilities or list(reg.capabilities)
            max_tasks = max_tasks or reg.max_concurrent_tasks
        session = AgentSession(
            session_id=uuid.uuid4().hex,
            agent_id=agent_id,
            agent_type=agent_type,
            capabilities=frozenset(capabilities),
            max_tasks=max(max_tasks, 1),
            connected_at=self.clock(),
            labels=dict(labels),
        )
        old = self.scheduler.agents_by_id.get(agent_id)
        if old is not None:
            stale = self._links.pop(old.session_id, None)
            if stale is not None:
                stale.close("replaced by a new session of the same agent")
        self._links[session.session_id] = link
        resumed, dropped = self.scheduler.connect(session, held, self.clock())
        log.info(
            "agent %s connected (session %s, capabilities %s, max %d)",
            agent_id,
            session.session_id,
            ",".join(sorted(session.capabilities)),
            session.max_tasks,
        )
        self._changed()
        return session, resumed, dropped

    def disconnect_agent(self, session_id: str) -> None:
        self._links.pop(session_id, None)
        if self._shutting_down:
            return
        session = self.scheduler.sessions.get(session_id)
        if session is None:
            return
        log.info("agent %s disconnected (session %s)", session.agent_id, session_id)
        self.scheduler.disconnect(session_id, self.clock())
        self._changed()

    def agent_report(
        self,
        session_id: str,
        started: list[str],
        progress: list[tuple[str, str, Blob | None]],
        results: list[Result],
    ) -> None:
        """Apply one agent message: everything in it lands in the same commit."""
        now = self.clock()
        sched = self.scheduler
        for attempt_id in started:
            sched.on_started(session_id, attempt_id, now)
        for attempt_id, content, data in progress:
            sched.on_progress(session_id, attempt_id, content, data, now)
        for attempt_id, output, error, duration in results:
            sched.on_result(session_id, attempt_id, output, error, now, duration)
        self._changed()

    # -- restart ------------------------------------------------------------------

    async def _recover(self) -> None:
        rows: list[WorkflowRow] = await self.read(self.store.load_unfinished)
        if not rows:
            return
        now = self.clock()
        for row in rows:
            self.scheduler.restore(row, now)
            if row.request_id:
                self._requests[row.request_id] = row.workflow_id
        log.info("resumed %d unfinished workflows from the store", len(rows))
        self._changed()
