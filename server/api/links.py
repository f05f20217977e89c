"""The outbound side of one agent stream: batches what piled up into one message."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc

from dwe.v1 import agent_pb2

from ..engine.model import Dispatch
from .convert import assignment_size_bound, fill_assignment
from .limits import DEFAULT_MAX_MESSAGE

#: Called with a dispatch that does not fit in one message, and its size.
Reject = Callable[[Dispatch, int], None]
# A repeated entry's tag and length prefix, at most.
_ENTRY = 6


class StreamLink:
    """Implements ``runtime.directory.AgentLink`` for one ``Connect`` stream.

    One writer takes what is pending as one ConnectResponse per wake-up, at most
    ``max_message`` bytes: what does not fit waits for the next message, and an
    assignment too large for any message goes to ``too_large`` instead. After
    ``drain`` it sends Drain once and nothing more, and waits for the agent to
    half-close (the reader then calls ``close``).
    """

    __slots__ = (
        "_acks",
        "_budget",
        "_cancels",
        "_closed",
        "_dispatches",
        "_drain",
        "_drain_sent",
        "_rejections",
        "_wake",
        "code",
        "last_seen",
        "reason",
        "too_large",
    )

    def __init__(self, max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        self._budget = max_message - 1024
        self.too_large: Reject | None = None
        self._dispatches: list[Dispatch] = []
        self._acks: dict[str, tuple[int, bool]] = {}
        self._rejections: list[tuple[str, str, str]] = []
        self._cancels: list[tuple[str, str]] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._drain = ""
        self._drain_sent = False
        self.reason = ""
        # The status the stream ends with when the server closed it; None ends it OK.
        self.code: grpc.StatusCode | None = None
        # Loop time of the agent's latest message, for the heartbeat watchdog.
        self.last_seen = asyncio.get_running_loop().time()

    @property
    def closed(self) -> bool:
        return self._closed

    def deliver(self, dispatches: list[Dispatch], cancels: list[tuple[str, str]]) -> None:
        if self._closed or self._drain:
            return
        self._dispatches.extend(dispatches)
        self._cancels.extend(cancels)
        self._wake.set()

    def acknowledge(self, acks: list[tuple[str, int, bool]]) -> None:
        if self._closed:
            return
        pending = self._acks
        for attempt_id, index, resend in acks:
            earlier = pending.get(attempt_id)
            if earlier is not None:  # stored indexes only grow; a resend request stays
                index, resend = max(index, earlier[0]), resend or earlier[1]
            pending[attempt_id] = (index, resend)
        self._wake.set()

    def reject(self, items: list[tuple[str, str, str]]) -> None:
        if not self._closed:
            self._rejections.extend(items)
            self._wake.set()

    def drain(self, reason: str) -> None:
        if not self._closed and not self._drain:
            self._drain = reason or "server shutting down"
            self._wake.set()

    def close(self, reason: str, code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE) -> None:
        """The server ends the stream: it ends with ``code`` and ``reason``, never a bare OK.

        The first close (or ``ended``) decides how the stream ends.
        """
        self._end(reason, code)

    def ended(self) -> None:
        """The agent half-closed (or went away): the stream ends OK."""
        self._end("", None)

    def _end(self, reason: str, code: grpc.StatusCode | None) -> None:
        if self._closed:
            return
        self._closed = True
        self.reason = reason
        self.code = code
        self._wake.set()

    async def next_message(self) -> agent_pb2.ConnectResponse | None:
        """The next batch to send, or None once closed."""
        while True:
            while not (self._dispatches or self._cancels or self._acks or self._rejections):
                if self._closed:
                    return None
                if self._drain and not self._drain_sent:
                    self._drain_sent = True
                    return agent_pb2.ConnectResponse(drain=agent_pb2.Drain(reason=self._drain))
                self._wake.clear()
                await self._wake.wait()
            msg = agent_pb2.ConnectResponse()
            if self._acks:  # small: attempt ids and numbers
                acks, self._acks = self._acks, {}
                for attempt_id, (index, resend) in acks.items():
                    msg.progress_acks.add(attempt_id=attempt_id, index=index, resend=resend)
            if self._rejections:  # small and rare: ids, a kind and a fixed reason
                rejections, self._rejections = self._rejections[:1000], self._rejections[1000:]
                for attempt_id, kind, reason in rejections:
                    msg.rejections.add(attempt_id=attempt_id, kind=kind, reason=reason)
            small = msg.progress_acks or msg.rejections
            room = self._budget - msg.ByteSize() if small else self._budget
            self._take_dispatches(msg, self._take_cancels(msg, room))
            if self._dispatches or self._cancels or self._rejections:
                self._wake.set()  # the rest goes in the next message
            if msg.assignments or msg.cancels or msg.progress_acks or msg.rejections:
                return msg

    def _take_cancels(self, msg: agent_pb2.ConnectResponse, room: int) -> int:
        cancels, self._cancels = self._cancels, []
        for i, (attempt_id, reason) in enumerate(cancels):
            entry = msg.cancels.add(attempt_id=attempt_id, reason=reason)
            size = entry.ByteSize() + _ENTRY
            if size > room:
                del msg.cancels[-1]
                self._cancels[:0] = cancels[i:]
                break
            room -= size
        return room

    def _take_dispatches(self, msg: agent_pb2.ConnectResponse, room: int) -> None:
        dispatches, self._dispatches = self._dispatches, []
        too_large: list[tuple[Dispatch, int]] = []
        add = msg.assignments.add
        for i, d in enumerate(dispatches):
            bound = assignment_size_bound(d)
            if bound <= room:  # the common case: no need to measure
                fill_assignment(add(), d)
                room -= bound
                continue
            entry = add()
            fill_assignment(entry, d)
            size = entry.ByteSize() + _ENTRY
            if size <= room:
                room -= size
                continue
            del msg.assignments[-1]
            if size > self._budget:
                too_large.append((d, size))
                continue
            self._dispatches[:0] = dispatches[i:]
            break
        for d, size in too_large:
            if self.too_large is not None:
                self.too_large(d, size)
