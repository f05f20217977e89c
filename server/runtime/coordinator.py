"""The coordinator: the engine against the world, and the query API the transport uses.

It wires the pieces, each with one job: ``CommitLoop`` (group commit,
commit-before-publish), ``Delivery`` (after a commit: spans, events, agent
work, retention), ``AgentDirectory`` (registry and links), ``Commands``
(create, start, cancel), ``recovery``, ``Retention`` (pruning ended workflows)
and an ``Alarm`` for the engine's timers.
Every mutation goes: scheduler call -> ``changed()`` (dispatch, re-arm the
alarm, request a commit) -> commit -> announce. The api layer, metrics and the
dashboard read only through the query methods below.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..engine.config import SchedulerConfig, UnknownWorkflow
from ..engine.events import TERMINAL_EVENTS, Event
from ..engine.model import (
    DEFAULT_NAMESPACE,
    AgentRegistration,
    Blob,
    ErrorInfo,
    EventType,
    WorkflowSpec,
    WorkflowState,
)
from ..engine.recorder import Outbox, touched
from ..engine.scheduler import Rule, Scheduler
from ..engine.stats import EngineStats
from ..store.base import Store, StoredEvent, WorkflowQuery
from .admission import Admission
from .alarm import Alarm
from .commands import IDEMPOTENCY_CACHE, Commands
from .commit import CommitLoop
from .delivery import KEEP_ENDED, Delivery
from .directory import AgentDirectory, AgentLink, Hello
from .histograms import RunHistograms
from .hub import EventHub, Subscription
from .recovery import recover
from .retention import PRUNE_INTERVAL, PruneCount, Retention
from .telemetry import Telemetry
from .views import AgentView, StatusView, status_of_row, status_of_run

log = logging.getLogger("dwe.server")

#: Threads reading the store; reads run in parallel (one connection each).
READERS = 4

# (attempt_id, output, error, handler seconds as the agent measured them or 0,
#  the index of the numbered progress sent before it or 0)
Result = tuple[str, Blob | None, ErrorInfo | None, float, int]
#: Why a report about an attempt was rejected.
NOT_HELD = (
    "not an attempt this session holds: never assigned to it, taken back (ack timeout,"
    " disconnect, deadline) or already answered"
)
# (attempt id, content, data, index): index 0 is unnumbered progress.
Progress = tuple[str, str, Blob | None, int]


class Coordinator:
    def __init__(
        self,
        store: Store,
        encode_event: Callable[[Event], bytes],
        config: SchedulerConfig | None = None,
        telemetry: Telemetry | None = None,
        clock: Callable[[], float] = time.time,
        keep_ended: int = KEEP_ENDED,
        cache_size: int = IDEMPOTENCY_CACHE,
        histograms: RunHistograms | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._scheduler = sched = Scheduler(config)
        self.telemetry = telemetry or Telemetry()
        self._hub = EventHub(lambda wid: getattr(sched.run(wid), "namespace", ""))
        self._directory = AgentDirectory(sched)
        self._delivery = Delivery(
            sched, self._hub, self._directory, self.telemetry, keep_ended, histograms
        )
        self._commit = CommitLoop(
            store,
            sched.take_outbox,
            sched.pending,
            encode_event,
            self._delivery.announce,
            self._roll_back,
        )
        self._alarm = Alarm(self._on_alarm)
        self._reader = ThreadPoolExecutor(READERS, thread_name_prefix="dwe-store-reader")
        self._commands = Commands(
            sched,
            self._commit,
            self._settle,
            lambda ns, rid: self._read(store.find_request, ns, rid),
            self._stored_state,
            clock,
            cache_size,
        )
        self._retention = Retention(store, self._commit.on_writer, self._forget, clock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._closed = False
        # Calls in flight, and whether new ones are refused (the server is stopping).
        self.admission = Admission()

    # -- lifecycle ------------------------------------------------------------

    async def open(self) -> None:
        """Load the registry and resume unfinished runs."""
        self._loop = asyncio.get_running_loop()
        self._commit.bind(self._loop)
        self._alarm.bind(self._loop)
        for reg in await self._read(self._store.load_agents):
            self._directory.register(reg)
        self._commit.position = await self._read(self._store.last_position)
        store = self._store
        resumed = await recover(
            lambda: self._read(store.load_unfinished),
            self._scheduler,
            self._commands,
            self._clock(),
        )
        if resumed:
            self.changed()

    async def drain_agents(self, timeout: float) -> int:
        """Stop dispatching, send Drain to every agent and give them ``timeout`` s to
        deliver finished results and leave. Returns the sessions still open.

        From here on, agents leaving is the server's doing: their attempts stay
        as stored, for the next start to resume (restart lease).
        """
        self._stopping = True
        return await self._directory.drain("server shutting down", timeout)

    def end_streams(self) -> None:
        """End every agent session and event stream."""
        self._stopping = True
        self._directory.end_all("server shutting down; reconnect")
        self._hub.close_all("server shutting down; watch again with after_seq")

    async def close(self) -> None:
        """Commit what is pending and stop the store threads; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await self._retention.stop()
        self.end_streams()
        await self._settle()  # the last decisions reach the store
        self._alarm.cancel()
        self._commit.close()
        self._reader.shutdown(wait=True)
        log.info(
            "store: %d commits, %d events committed",
            self._commit.commits,
            self._commit.events_committed,
        )

    async def _read(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a store read off the event loop (several run in parallel)."""
        assert self._loop is not None
        return await self._loop.run_in_executor(self._reader, fn, *args)

    # -- the change pipeline --------------------------------------------------------

    def changed(self) -> None:
        """After any scheduler call: dispatch, re-arm the alarm, commit soon."""
        now = self._clock()
        if not self._stopping:
            self._scheduler.dispatch(now)
        self._alarm.arm(self._scheduler.next_deadline(), now)
        self._commit.request()

    async def _settle(self) -> None:
        """``changed()``, then wait until everything decided so far is committed."""
        self.changed()
        await self._commit.flush()

    def _roll_back(self, out: Outbox) -> None:
        """A commit failed: every run it touched goes back to its stored state.

        Memory never stays ahead of the store: the runs are rebuilt from their
        rows (a synchronous read, on this rare path), their next event takes the
        next stored seq, and attempts still running on a connected agent carry on.
        """
        now = self._clock()
        runs = touched(out)
        for workflow_id in runs:
            held = self._scheduler.evict(workflow_id)
            try:
                row = self._store.load_workflow(workflow_id)
            except Exception:
                log.exception("workflow %s: reading it back after a failed commit", workflow_id)
                continue
            if row is not None and not WorkflowState(row.state).terminal:
                self._scheduler.restore(row, now, held)
        log.warning("a failed commit rolled %d workflows back to their stored state", len(runs))
        self.changed()

    def _on_alarm(self) -> None:
        self._scheduler.advance(self._clock())
        self.changed()

    # -- workflows --------------------------------------------------------------------

    async def create_workflow(
        self, spec: WorkflowSpec, request_id: str = "", namespace: str = DEFAULT_NAMESPACE
    ) -> tuple[str, bool]:
        """Store a validated workflow in ``namespace``; returns (workflow_id, created)."""
        return await self._commands.create(spec, request_id, namespace)

    async def namespace_of(self, workflow_id: str) -> str | None:
        """The namespace of a live or stored workflow; None when there is no such one."""
        run = self._scheduler.run(workflow_id)
        if run is not None:
            return run.namespace
        row = await self._read(self._store.load_workflow, workflow_id, False)
        return None if row is None else row.namespace

    async def start_workflow(
        self,
        workflow_id: str,
        context: dict[str, Any] | None = None,
        session_id: str = "",
        metadata: Any = None,
    ) -> WorkflowState:
        """Start a run; ``metadata`` is the caller's gRPC metadata (for its trace context).

        Raises:
            UnknownWorkflow: No such workflow.
            SchedulerError: It was already started or has ended.
        """
        self.telemetry.set_parent(workflow_id, metadata)
        return await self._commands.start(workflow_id, context, session_id)

    async def cancel_workflow(
        self, workflow_id: str, reason: str = ""
    ) -> tuple[bool, WorkflowState]:
        """Cancel a run; returns (cancelled, its state). UnknownWorkflow when none."""
        return await self._commands.cancel(workflow_id, reason)

    async def prune(
        self, older_than: float, dry_run: bool = False, namespaces: Collection[str] | None = None
    ) -> PruneCount:
        """Delete (``dry_run``: count) the workflows that ended over ``older_than`` s ago
        with their rows; they and their idempotency keys are forgotten in memory too.
        StoreUnavailable when the store fails (the batches before stay deleted)."""
        cut = self._clock() - older_than
        wanted = None if namespaces is None else sorted(namespaces)
        if dry_run:
            return PruneCount(*await self._read(self._store.count_prunable, cut, wanted))
        return await self._retention.prune(cut, wanted)

    def start_retention(self, keep: float, interval: float = PRUNE_INTERVAL) -> None:
        """Prune what ended more than ``keep`` seconds ago at once, then every ``interval``."""
        self._retention.start(keep, interval)

    def _forget(self, workflow_id: str, request_id: str, namespace: str) -> None:
        self._scheduler.forget(workflow_id)
        if request_id:
            self._commands.forget(namespace, request_id, workflow_id)

    def add_rule(self, rule: Rule) -> None:
        """An adaptation rule for ADAPTIVE runs (call on the server's loop)."""
        self._scheduler.add_rule(rule)

    # -- agents -------------------------------------------------------------------------

    async def register_agent(self, reg: AgentRegistration) -> None:
        """Add or replace a registry entry and store it."""
        self._directory.register(reg)
        self._commit.add_agent(reg)
        await self._settle()

    def registration(self, agent_id: str) -> AgentRegistration | None:
        return self._directory.registration(agent_id)

    def connect_agent(self, link: AgentLink, hello: Hello) -> tuple[str, list[str], list[str]]:
        """Open a session; returns (session_id, resumed, dropped attempt ids).

        Raises:
            AgentIdInUse: Another live session has this agent id.
        """
        session, resumed, dropped = self._directory.open(link, hello, self._clock())
        self.changed()
        return session.session_id, resumed, dropped

    def progress_of(self, attempt_ids: list[str]) -> dict[str, int]:
        """For each attempt with numbered progress: the highest index applied."""
        out = {}
        for attempt_id in attempt_ids:
            step = self._scheduler.attempt(attempt_id)
            if step is not None and step.progress_index:
                out[attempt_id] = step.progress_index
        return out

    def disconnect_agent(self, session_id: str) -> None:
        """The session's stream ended; while stopping, its attempts stay as stored."""
        self._directory.close(session_id)
        if self._stopping:
            return
        agent = self._scheduler.disconnect(session_id, self._clock())
        if agent is not None:
            log.info("agent %s disconnected (session %s)", agent.agent_id, session_id)
            self.changed()

    def agent_report(
        self,
        session_id: str,
        started: Iterable[str],
        progress: list[Progress],
        results: list[Result],
    ) -> None:
        """Apply one agent message: everything in it lands in the same commit. What the
        session may not report (not an attempt it holds) is rejected on its stream."""
        now = self._clock()
        sched = self._scheduler
        refused: list[tuple[str, str]] = []
        for attempt_id in started:
            if not sched.on_started(session_id, attempt_id, now):
                refused.append((attempt_id, "started"))
        for attempt_id, content, data, index in progress:
            if not sched.on_progress(session_id, attempt_id, content, data, now, index):
                refused.append((attempt_id, "progress"))
        for attempt_id, output, error, duration, count in results:
            held = sched.holds(session_id, attempt_id)
            applied = sched.on_result(session_id, attempt_id, output, error, now, duration, count)
            if not applied and not held:  # a held, cancelled attempt's answer frees its slot
                refused.append((attempt_id, "result"))
        if refused:
            self._reject(session_id, refused)
        self.changed()

    def _reject(self, session_id: str, refused: list[tuple[str, str]]) -> None:
        link = self._directory.link(session_id)
        if link is not None:
            link.reject([(aid, kind, NOT_HELD) for aid, kind in refused])

    # -- queries ----------------------------------------------------------------------------

    async def _stored_state(self, workflow_id: str) -> str | None:
        row = await self._read(self._store.load_workflow, workflow_id, False)
        return None if row is None else str(row.state)

    async def status(self, workflow_id: str, with_steps: bool = True) -> StatusView:
        """A run's status, never ahead of the store. Raises UnknownWorkflow.

        It comes from memory when the run's last event is committed, else from the
        store: decisions not committed yet (a commit in flight, or failing: each
        failure rolls them back) may never be stored, so no caller sees them.
        """
        now = self._clock()
        run = self._scheduler.run(workflow_id)
        if run is not None and run.stored_seq == run.seq and not self._commit.failing:
            return status_of_run(run, now, with_steps)
        row = await self._read(self._store.load_workflow, workflow_id)
        if row is None:
            raise UnknownWorkflow(workflow_id)
        return status_of_row(row, now)

    async def list_page(
        self, query: WorkflowQuery, size: int, before: tuple[float, str] | None
    ) -> tuple[list[StatusView], tuple[float, str] | None]:
        """Up to ``size`` runs ``query`` selects, newest first, and the cursor of the
        next page (None at the end)."""
        rows = await self._read(self._store.list_workflows, query, size + 1, before)
        now = self._clock()
        views = []
        for row in rows[:size]:
            run = self._scheduler.run(row.workflow_id)
            views.append(status_of_run(run, now, False) if run else status_of_row(row, now))
        more = len(rows) > size
        return views, (rows[size - 1].created_at, rows[size - 1].workflow_id) if more else None

    async def replay(self, workflow_id: str, after_seq: int) -> tuple[list[StoredEvent], bool]:
        """Stored events after ``after_seq``, and whether live events may still follow.

        Raises UnknownWorkflow when the run is neither live nor stored.
        """
        if (
            self._scheduler.run(workflow_id) is None
            and await self._stored_state(workflow_id) is None
        ):
            raise UnknownWorkflow(workflow_id)
        stored: list[StoredEvent] = await self._read(
            self._store.load_events, workflow_id, after_seq
        )
        last = stored[-1].seq if stored else after_seq
        if stored and stored[-1].type in TERMINAL_EVENTS:
            return stored, False
        run = self._scheduler.run(workflow_id)
        follow = run is not None and not (run.state.terminal and run.seq <= last)
        return stored, follow

    async def events_after(self, position: int, limit: int, *filters: Any) -> list[Any]:
        """Stored (position, event) after ``position`` in position order, for WatchEvents
        resuming; ``filters``: types, workflow ids and namespaces (``Store.events_after``)."""
        return await self._read(self._store.events_after, position, limit, *filters)

    def subscribe(
        self,
        workflow_ids: Iterable[str] = (),
        types: Iterable[EventType] = (),
        namespaces: Collection[str] | None = None,
    ) -> Subscription:
        """Committed events of some workflows (or all; of ``namespaces`` only, when
        given), as they are published."""
        return self._hub.subscribe(workflow_ids, types, namespaces)

    @property
    def position(self) -> int:
        """The last event position handed out: every later event has a greater one."""
        return self._commit.position

    def unsubscribe(self, sub: Subscription) -> None:
        self._hub.unsubscribe(sub)

    @property
    def hub(self) -> EventHub:
        """Where committed events go; ``follower``/``route`` for streams that grow."""
        return self._hub

    def subscribers(self, workflow_id: str | None = None) -> int:
        """Open event subscriptions routed to one workflow, or (None) to all workflows."""
        return self._hub.subscribers(workflow_id)

    def agents(self, namespaces: Collection[str] | None = None) -> list[AgentView]:
        """Registered and connected agents (of ``namespaces`` only, when given), by id."""
        views = self._directory.views()
        return views if namespaces is None else [v for v in views if v.namespace in namespaces]

    def agent(self, agent_id: str) -> AgentView:
        return self._directory.view(agent_id)

    def stats(self, namespaces: Collection[str] | None = None) -> EngineStats:
        """Counters, load and memory use of the scheduler (of some namespaces only)."""
        return self._scheduler.stats(namespaces)

    def cached_requests(self) -> int:
        """Idempotency keys held in memory (bounded; the store has the rest)."""
        return len(self._commands.requests)
