"""Fan-out of committed events to stream subscribers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable

from ..engine.events import Event
from ..engine.model import EventType

# A subscriber further behind than this many events is cut off rather than holding memory.
MAX_BACKLOG = 200_000


class SubscriberOverflow(Exception):
    """The subscriber fell too far behind and was dropped."""


class StreamEnded(Exception):
    """The server ended the stream (it is shutting down); the message says why."""


class Subscription:
    """Buffered events for one stream; the stream drains all of them per wake-up."""

    __slots__ = (
        "_buffer",
        "_limit",
        "_poked",
        "_wake",
        "closed",
        "ended",
        "namespaces",
        "overflowed",
        "types",
        "workflow_ids",
    )

    def __init__(
        self,
        workflow_ids: Iterable[str] = (),
        types: Iterable[EventType] = (),
        backlog: int = MAX_BACKLOG,
        namespaces: Collection[str] | None = None,
    ) -> None:
        # A set for a follower (``EventHub.follower``), whose workflows come and go.
        self.workflow_ids: frozenset[str] | set[str] = frozenset(workflow_ids)
        self.types = frozenset(types)
        # Only events of workflows in these namespaces (None: every namespace).
        self.namespaces = None if namespaces is None else frozenset(namespaces)
        self._limit = backlog
        self._buffer: list[Event] = []
        self._wake = asyncio.Event()
        self._poked = False
        self.closed = False
        self.overflowed = False
        # Why the server ended the stream; empty when the stream's own side closed it.
        self.ended = ""

    def accepts(self, event: Event, namespace_of: Callable[[str], str]) -> bool:
        return (
            (not self.workflow_ids or event.workflow_id in self.workflow_ids)
            and (not self.types or event.type in self.types)
            and (self.namespaces is None or namespace_of(event.workflow_id) in self.namespaces)
        )

    def push(self, event: Event) -> None:
        if self.closed:
            return
        self._buffer.append(event)
        if len(self._buffer) > self._limit:
            self.overflowed = True
            self.closed = True
        self._wake.set()

    async def next_batch(self) -> list[Event]:
        """Wait for events and take all that are buffered (empty once closed)."""
        return await self._take(pokeable=False)

    def poke(self) -> None:
        """Wake the stream without an event: its own side has news (``next_news``)."""
        self._poked = True
        self._wake.set()

    async def next_news(self) -> list[Event]:
        """``next_batch`` that also returns, maybe with no event, after a ``poke``;
        raises StreamEnded once closed (its own side ends a follower otherwise)."""
        return await self._take(pokeable=True)

    async def _take(self, pokeable: bool) -> list[Event]:
        while not self._buffer and not (pokeable and self._poked):
            if self.closed:
                if self.overflowed:
                    raise SubscriberOverflow
                if self.ended or pokeable:
                    raise StreamEnded(self.ended or "the stream was closed")
                return []
            self._wake.clear()
            await self._wake.wait()
        if pokeable:
            self._poked = False
        batch, self._buffer = self._buffer, []
        if self.overflowed:
            raise SubscriberOverflow
        return batch

    def close(self, reason: str = "") -> None:
        """Stop the stream once its buffer is drained; with a ``reason``, the server
        ended it (``next_batch`` then raises StreamEnded)."""
        if not self.closed:
            self.ended = reason
        self.closed = True
        self._wake.set()


class EventHub:
    """Routes committed events to subscriptions: by workflow id, or to all-workflow ones.

    ``namespace_of`` names the namespace of a workflow whose events are being published
    (its run is live then), for subscriptions restricted to some namespaces.
    """

    def __init__(
        self, namespace_of: Callable[[str], str] = lambda _wid: "", backlog: int = MAX_BACKLOG
    ) -> None:
        self._namespace_of = namespace_of
        self._by_workflow: dict[str, set[Subscription]] = {}
        self._global: set[Subscription] = set()
        self._backlog = backlog

    def subscribe(
        self,
        workflow_ids: Iterable[str] = (),
        types: Iterable[EventType] = (),
        namespaces: Collection[str] | None = None,
    ) -> Subscription:
        """Subscribe to some workflows (routed by id) or, with none given, to all; of
        ``namespaces`` only when given."""
        sub = Subscription(workflow_ids, types, self._backlog, namespaces)
        if sub.workflow_ids and not sub.types and sub.namespaces is None:
            for wid in sub.workflow_ids:
                self._by_workflow.setdefault(wid, set()).add(sub)
        else:
            self._global.add(sub)
        return sub

    def follower(self) -> Subscription:
        """A subscription routed to no workflow yet: ``route`` adds some, ``unroute``
        drops one (a stream that starts workflows as its caller asks)."""
        sub = Subscription((), (), self._backlog)
        sub.workflow_ids = set()
        return sub

    def route(self, sub: Subscription, workflow_ids: Iterable[str]) -> None:
        """Send these workflows' events to a follower too."""
        ids = sub.workflow_ids
        assert isinstance(ids, set), "only a follower is routed after it is made"
        for wid in workflow_ids:
            ids.add(wid)
            self._by_workflow.setdefault(wid, set()).add(sub)

    def unroute(self, sub: Subscription, workflow_id: str) -> None:
        """Stop sending one workflow's events to a follower."""
        ids = sub.workflow_ids
        assert isinstance(ids, set), "only a follower is routed after it is made"
        ids.discard(workflow_id)
        subs = self._by_workflow.get(workflow_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._by_workflow[workflow_id]

    def unsubscribe(self, sub: Subscription) -> None:
        sub.close()
        self._global.discard(sub)
        for wid in list(sub.workflow_ids):
            subs = self._by_workflow.get(wid)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._by_workflow[wid]

    def subscribers(self, workflow_id: str | None = None) -> int:
        """Open subscriptions routed to one workflow, or the all-workflows ones with None."""
        if workflow_id is None:
            return len(self._global)
        return len(self._by_workflow.get(workflow_id, ()))

    def publish(self, events: list[Event]) -> None:
        by_workflow = self._by_workflow
        glob = self._global
        namespace_of = self._namespace_of
        if not by_workflow and not glob:
            return
        for event in events:
            subs = by_workflow.get(event.workflow_id)
            if subs:
                for sub in subs:
                    sub.push(event)
            for sub in glob:
                if sub.accepts(event, namespace_of):
                    sub.push(event)

    def close_all(self, reason: str) -> None:
        """End every stream, saying why (the server is shutting down)."""
        for sub in list(self._global):
            sub.close(reason)
        for subs in list(self._by_workflow.values()):
            for sub in list(subs):
                sub.close(reason)
