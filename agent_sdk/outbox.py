"""Outgoing buffer: items pile up here and one writer sends them in batches."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping

from dwe.v1 import agent_pb2

#: Most items of one kind put in one ConnectRequest.
MAX_ITEMS_PER_MESSAGE = 2000
#: Approximate payload bytes after which a message is cut; at most half of the
#: server's message limit once Welcome told it.
MAX_BYTES_PER_MESSAGE = 1 << 20
#: Progress items buffered before ``Task.stream`` waits for the writer.
PROGRESS_HIGH_WATER = 10_000


class Outbox:
    """Started ids, progress and results waiting to be sent.

    Lives on the :class:`~dwe.agent_sdk.Agent`, not on a session, so that what
    handlers produce while disconnected is sent on the next stream. All methods
    must be called on the event-loop thread.
    """

    __slots__ = (
        "_bytes",
        "_counts",
        "_flushed",
        "_ready",
        "max_bytes",
        "max_payload",
        "progress",
        "results",
        "started",
        "unacked",
    )

    def __init__(self) -> None:
        self.started: list[str] = []
        self.progress: list[agent_pb2.StepProgress] = []
        self.results: list[agent_pb2.StepResult] = []
        self._bytes = 0
        self._ready = asyncio.Event()
        self._flushed = asyncio.Event()
        self._flushed.set()
        # Payload bytes per message, and the server's payload limit (0: not told yet).
        self.max_bytes = MAX_BYTES_PER_MESSAGE
        self.max_payload = 0
        # Numbered progress per attempt that the server has not acknowledged as stored:
        # kept to send again after a reconnect (Welcome.resumed_progress).
        self.unacked: dict[str, deque[agent_pb2.StepProgress]] = {}
        # The index of the latest numbered progress queued per running attempt, for the
        # progress_count of its result.
        self._counts: dict[str, int] = {}

    def limit(self, max_message: int, max_payload: int) -> None:
        """Adopt the limits a server advertised in Welcome (0 keeps the defaults)."""
        if max_message > 0:
            self.max_bytes = min(MAX_BYTES_PER_MESSAGE, max_message // 2)
        self.max_payload = max(max_payload, 0)

    def add_started(self, attempt_id: str) -> None:
        """Queue an attempt id whose handler has begun."""
        self.started.append(attempt_id)
        self._ready.set()

    def add_progress(self, item: agent_pb2.StepProgress, size: int = 0) -> None:
        """Queue a progress item of about ``size`` payload bytes."""
        self.progress.append(item)
        if item.index:
            self.unacked.setdefault(item.attempt_id, deque()).append(item)
            self._counts[item.attempt_id] = item.index
        self._bytes += size
        self._flushed.clear()
        self._ready.set()

    def add_result(self, item: agent_pb2.StepResult, size: int = 0) -> None:
        """Queue a result of about ``size`` payload bytes; it says how much numbered
        progress came before it, so the server applies it after that progress."""
        count = self._counts.pop(item.attempt_id, 0)
        if count:
            item.progress_count = count
        self.results.append(item)
        self._bytes += size
        self._ready.set()

    def poke(self) -> None:
        """Wake the writer (e.g. because a heartbeat is due)."""
        self._ready.set()

    def __len__(self) -> int:
        return len(self.started) + len(self.progress) + len(self.results)

    async def wait_ready(self) -> None:
        """Return once something was queued or :meth:`poke` was called."""
        await self._ready.wait()

    async def wait_progress_room(self) -> None:
        """Backpressure for streaming handlers: wait while progress is past the high water."""
        if len(self.progress) >= PROGRESS_HIGH_WATER:
            await self._flushed.wait()

    def take(self) -> agent_pb2.ConnectRequest | None:
        """Remove what is pending and return it as one message (None if nothing is).

        The ready flag stays set when more is left than one message holds, so the
        writer comes straight back for the rest.
        """
        self._ready.clear()
        if not (self.started or self.progress or self.results):
            return None
        if (
            self._bytes <= self.max_bytes
            and len(self.progress) <= MAX_ITEMS_PER_MESSAGE
            and len(self.results) <= MAX_ITEMS_PER_MESSAGE
            and len(self.started) <= MAX_ITEMS_PER_MESSAGE
        ):
            msg = agent_pb2.ConnectRequest(
                started=self.started, progress=self.progress, results=self.results
            )
            self.started, self.progress, self.results = [], [], []
            self._bytes = 0
        else:
            msg = self._take_part()
        if self.progress:
            self._ready.set()
        else:
            self._flushed.set()
        if self.started or self.results:
            self._ready.set()
        return msg

    def _take_part(self) -> agent_pb2.ConnectRequest:
        """One message's worth: progress first, then results in the bytes left.

        A result waits while progress of its attempt is still queued: the server
        ignores progress that arrives after the result.
        """
        n = MAX_ITEMS_PER_MESSAGE
        started, self.started = self.started[:n], self.started[n:]
        progress = _cut(self.progress, n, self.max_bytes, True)
        self.progress = self.progress[len(progress) :]
        room = self.max_bytes - sum(_size(x) for x in progress)
        cut = _cut(self.results, n, room, not progress)
        rest = self.results[len(cut) :]
        waiting = {p.attempt_id for p in self.progress}
        results = [r for r in cut if r.attempt_id not in waiting]
        self.results = [r for r in cut if r.attempt_id in waiting] + rest
        self._bytes = sum(_size(x) for x in self.results) + sum(_size(x) for x in self.progress)
        return agent_pb2.ConnectRequest(started=started, progress=progress, results=results)

    def acknowledge(self, attempt_id: str, index: int) -> None:
        """The server stored the attempt's progress up to ``index``: forget it."""
        kept = self.unacked.get(attempt_id)
        if kept is None:
            return
        while kept and kept[0].index <= index:
            kept.popleft()
        if not kept:
            del self.unacked[attempt_id]

    def resend(self, stored: Mapping[str, int]) -> None:
        """Queue again, first, the progress of these attempts past what the server says
        it stored (``stored``: attempt id -> index); the rest of it is forgotten."""
        again: list[agent_pb2.StepProgress] = []
        for attempt_id, index in stored.items():
            self.acknowledge(attempt_id, index)
            again.extend(self.unacked.get(attempt_id, ()))
        if not again:
            return
        ids = {p.attempt_id for p in again}
        self.progress = again + [p for p in self.progress if p.attempt_id not in ids]
        self._bytes = sum(_size(x) for x in self.results) + sum(_size(x) for x in self.progress)
        self._flushed.clear()
        self._ready.set()

    def result_ids(self) -> list[str]:
        """Attempt ids of results not yet sent."""
        return [r.attempt_id for r in self.results]

    def discard(self, attempt_ids: set[str]) -> None:
        """Drop queued progress and results of attempts the server no longer expects."""
        self.results = [r for r in self.results if r.attempt_id not in attempt_ids]
        self.progress = [p for p in self.progress if p.attempt_id not in attempt_ids]
        for attempt_id in attempt_ids:
            self.unacked.pop(attempt_id, None)
            self._counts.pop(attempt_id, None)

    def welcomed(self, resumed: list[str], stored: Mapping[str, int]) -> None:
        """A new session resumed these attempts: send their progress past ``stored``
        again; progress kept for any other attempt is not wanted any more."""
        self.resend({attempt_id: stored.get(attempt_id, 0) for attempt_id in resumed})
        for attempt_id in [a for a in self.unacked if a not in stored and a not in resumed]:
            del self.unacked[attempt_id]
        self._bytes = sum(_size(x) for x in self.results) + sum(_size(x) for x in self.progress)

    def restore(self, msg: agent_pb2.ConnectRequest) -> None:
        """Put back a message whose write failed, ahead of anything newer.

        Started ids are dropped: a new session re-learns running attempts from
        Hello's ``held_attempt_ids``.
        """
        self.progress[:0] = list(msg.progress)
        self.results[:0] = list(msg.results)
        self._bytes += sum(_size(x) for x in msg.results) + sum(_size(x) for x in msg.progress)
        if self.progress or self.results:
            self._ready.set()


def _size(item: agent_pb2.StepResult | agent_pb2.StepProgress) -> int:
    if isinstance(item, agent_pb2.StepResult):
        return len(item.output.data) + len(item.error.message)
    return len(item.content) + len(item.data.data)


def _cut(items: list, limit: int, max_bytes: int, at_least_one: bool) -> list:
    """The longest head of ``items`` within ``limit`` items and ``max_bytes`` bytes;
    with ``at_least_one``, the first item even when it alone is larger."""
    total = 0
    for i, item in enumerate(items[:limit]):
        total += _size(item)
        if total > max_bytes and (i > 0 or not at_least_one):
            return items[:i]
    return items[:limit]
