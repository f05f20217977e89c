"""After a commit: spans, then work to agents, then events to subscribers, then retention."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from ..engine.model import Dispatch, WorkflowState
from ..engine.pool import AgentSession
from ..engine.recorder import Outbox
from ..engine.scheduler import Scheduler
from .directory import AgentDirectory
from .histograms import RunHistograms, record_all
from .hub import EventHub
from .telemetry import Telemetry

log = logging.getLogger("dwe.server")

# Ended runs kept in memory for fast status reads; older ones come from the store.
KEEP_ENDED = 2000


class Delivery:
    """Announces committed outboxes; forgets the oldest ended runs beyond ``keep``."""

    def __init__(
        self,
        scheduler: Scheduler,
        hub: EventHub,
        directory: AgentDirectory,
        telemetry: Telemetry,
        keep: int = KEEP_ENDED,
        histograms: RunHistograms | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._hub = hub
        self._directory = directory
        self._telemetry = telemetry
        self._histograms = histograms or RunHistograms()
        self._keep = keep
        self._ended: deque[str] = deque()

    def announce(self, out: Outbox) -> None:
        """Everything in ``out`` is committed: tell the world, in that order."""
        for workflow_id, rule, error in out.rule_errors:
            log.warning(
                "workflow %s: adaptation rule %s failed and was skipped: %s",
                workflow_id,
                rule,
                error,
            )
        self._telemetry.on_events(out.events)
        measured = self._histograms.measure(out, self._scheduler.run)
        if out.assignments:  # first: the agents start while the events go out
            self._assign(out.assignments)
        self._hub.publish(out.events)
        if out.cancels:
            self._cancel(out.cancels)
        if out.progress:
            self._acknowledge(out)
        for wf in out.ended:
            self._ended.append(wf.id)
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
        while len(self._ended) > self._keep:
            self._scheduler.forget(self._ended.popleft())
        if measured:  # after the writers this announce woke: agents start meanwhile
            asyncio.get_running_loop().call_soon(record_all, measured)

    def _assign(self, assignments: list[tuple[AgentSession, str]]) -> None:
        dispatch_of: Callable[[str, str], Dispatch | None] = self._scheduler.dispatch_of
        carrier = self._telemetry.carrier
        per_link: dict[str, list[Dispatch]] = {}
        for agent, attempt_id in assignments:
            session_id = agent.session_id
            d = dispatch_of(session_id, attempt_id)
            if d is None:
                continue  # moved on before the commit (cancelled, agent gone)
            d.traceparent, d.tracestate = carrier(d.workflow_id, d.step_id, d.attempt)
            per_link.setdefault(session_id, []).append(d)
        for session_id, dispatches in per_link.items():
            link = self._directory.link(session_id)
            if link is not None:
                link.deliver(dispatches, [])

    def _acknowledge(self, out: Outbox) -> None:
        per_session: dict[str, list[tuple[str, int, bool]]] = {}
        for session_id, attempt_id, index, resend in out.progress.values():
            per_session.setdefault(session_id, []).append((attempt_id, index, resend))
        for session_id, acks in per_session.items():
            link = self._directory.link(session_id)
            if link is not None:
                link.acknowledge(acks)

    def _cancel(self, cancels: list[tuple[str, str, str]]) -> None:
        per_session: dict[str, list[tuple[str, str]]] = {}
        for session_id, attempt_id, reason in cancels:
            per_session.setdefault(session_id, []).append((attempt_id, reason))
        for session_id, items in per_session.items():
            link = self._directory.link(session_id)
            if link is not None:
                link.deliver([], items)
