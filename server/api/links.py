"""The outbound side of one agent stream: batches what piled up into one message."""

from __future__ import annotations

import asyncio

import grpc

from dwe.v1 import agent_pb2

from ..engine.model import Dispatch
from .convert import fill_assignment


class StreamLink:
    """Implements ``runtime.directory.AgentLink`` for one ``Connect`` stream.

    One writer takes everything pending as one ConnectResponse per wake-up. After
    ``drain`` it sends Drain once and nothing more, and waits for the agent to
    half-close (the reader then calls ``close``).
    """

    __slots__ = (
        "_cancels",
        "_closed",
        "_dispatches",
        "_drain",
        "_drain_sent",
        "_wake",
        "code",
        "last_seen",
        "reason",
    )

    def __init__(self) -> None:
        self._dispatches: list[Dispatch] = []
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
        while not self._dispatches and not self._cancels:
            if self._closed:
                return None
            if self._drain and not self._drain_sent:
                self._drain_sent = True
                return agent_pb2.ConnectResponse(drain=agent_pb2.Drain(reason=self._drain))
            self._wake.clear()
            await self._wake.wait()
        dispatches, self._dispatches = self._dispatches, []
        cancels, self._cancels = self._cancels, []
        msg = agent_pb2.ConnectResponse()
        add = msg.assignments.add
        for d in dispatches:
            fill_assignment(add(), d)
        for attempt_id, reason in cancels:
            msg.cancels.add(attempt_id=attempt_id, reason=reason)
        return msg
