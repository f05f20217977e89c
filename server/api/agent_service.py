"""AgentService.Connect: one bidirectional stream per agent session."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import grpc

from dwe.v1 import agent_pb2, service_pb2_grpc

from ..coordinator import Coordinator, Result
from ..engine.model import Blob, Dispatch, ErrorInfo
from .convert import fill_assignment, json_payload

log = logging.getLogger("dwe.server.agents")


class StreamLink:
    """Outbound side of one session: batches whatever piled up into one message."""

    __slots__ = ("_cancels", "_closed", "_dispatches", "_wake", "last_seen", "reason")

    def __init__(self) -> None:
        self._dispatches: list[Dispatch] = []
        self._cancels: list[tuple[str, str]] = []
        self._wake = asyncio.Event()
        self._closed = False
        self.reason = ""
        # Loop time of the agent's latest message, for the heartbeat watchdog.
        self.last_seen = asyncio.get_running_loop().time()

    @property
    def closed(self) -> bool:
        return self._closed

    def deliver(self, dispatches: list[Dispatch], cancels: list[tuple[str, str]]) -> None:
        if self._closed:
            return
        self._dispatches.extend(dispatches)
        self._cancels.extend(cancels)
        self._wake.set()

    def close(self, reason: str) -> None:
        self._closed = True
        self.reason = reason
        self._wake.set()

    async def next_message(self) -> agent_pb2.ServerMessage | None:
        """The next batch to send, or None once closed."""
        while not self._dispatches and not self._cancels:
            if self._closed:
                return None
            self._wake.clear()
            await self._wake.wait()
        dispatches, self._dispatches = self._dispatches, []
        cancels, self._cancels = self._cancels, []
        msg = agent_pb2.ServerMessage()
        add = msg.assignments.add
        for d in dispatches:
            fill_assignment(add(), d)
        for attempt_id, reason in cancels:
            msg.cancels.add(attempt_id=attempt_id, reason=reason)
        return msg


def _results(msg: agent_pb2.AgentMessage) -> list[Result]:
    out: list[Result] = []
    for r in msg.results:
        d = r.duration
        seconds = d.seconds + d.nanos / 1e9
        if r.HasField("error"):
            e = r.error
            error = ErrorInfo(e.message, e.type or "Error", e.retryable)
            out.append((r.attempt_id, None, error, seconds))
        else:
            o = r.output
            out.append((r.attempt_id, Blob(o.encoding or "json/plain", o.data), None, seconds))
    return out


class AgentServicer(service_pb2_grpc.AgentServiceServicer):
    def __init__(self, coordinator: Coordinator, heartbeat_interval: float = 5.0) -> None:
        self._c = coordinator
        self._heartbeat = heartbeat_interval

    async def Connect(
        self,
        request_iterator: AsyncIterator[agent_pb2.AgentMessage],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[agent_pb2.ServerMessage]:
        try:
            first = await anext(aiter(request_iterator))
        except StopAsyncIteration:
            return
        hello = first.hello
        if not first.HasField("hello") or not hello.agent_id:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "the first message must carry hello.agent_id"
            )
        registered = self._c.registry.get(hello.agent_id)
        if not hello.capabilities and registered is None:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"agent {hello.agent_id!r}: hello.capabilities is empty and no registry entry",
            )
        link = StreamLink()
        session, resumed, dropped = self._c.connect_agent(
            link,
            hello.agent_id,
            hello.agent_type,
            list(hello.capabilities),
            hello.max_concurrent_tasks,
            dict(hello.labels),
            list(hello.held_attempt_ids),
        )
        sid = session.session_id
        welcome = agent_pb2.Welcome(
            session_id=sid,
            resumed_attempt_ids=resumed,
            dropped_attempt_ids=dropped,
        )
        welcome.heartbeat_interval.FromNanoseconds(int(self._heartbeat * 1e9))
        if registered is not None and registered.config:
            welcome.config.CopyFrom(json_payload(registered.config))
        reader = asyncio.create_task(self._read(request_iterator, sid, link))
        watchdog = asyncio.create_task(self._watch(sid, link))
        try:
            yield agent_pb2.ServerMessage(welcome=welcome)
            while True:
                msg = await link.next_message()
                if msg is None:
                    break
                yield msg
            # Closing (server shutdown, session replaced) just ends the stream: the
            # agent reconnects with backoff. Drain is kept for removing an agent.
        finally:
            reader.cancel()
            watchdog.cancel()
            self._c.disconnect_agent(sid)

    async def _watch(self, session_id: str, link: StreamLink) -> None:
        """Close a session whose agent sent nothing (not even a heartbeat) for 3 intervals.

        A hung agent keeps its TCP connection open; without this its attempts
        would never be re-queued.
        """
        loop = asyncio.get_running_loop()
        limit = 3 * self._heartbeat
        while not link.closed:
            await asyncio.sleep(self._heartbeat)
            silent = loop.time() - link.last_seen
            if silent > limit:
                log.warning(
                    "agent session %s sent nothing for %.1fs (limit %.1fs); closing it",
                    session_id,
                    silent,
                    limit,
                )
                link.close("no heartbeat")
                return

    async def _read(
        self,
        request_iterator: AsyncIterator[agent_pb2.AgentMessage],
        session_id: str,
        link: StreamLink,
    ) -> None:
        report = self._c.agent_report
        loop = asyncio.get_running_loop()
        try:
            async for msg in request_iterator:
                link.last_seen = loop.time()
                if msg.results or msg.started or msg.progress:
                    report(
                        session_id,
                        list(msg.started),
                        [
                            (
                                p.attempt_id,
                                p.content,
                                Blob(p.data.encoding or "json/plain", p.data.data)
                                if p.HasField("data")
                                else None,
                            )
                            for p in msg.progress
                        ],
                        _results(msg),
                    )
        except (asyncio.CancelledError, grpc.aio.AioRpcError):
            pass
        except Exception:
            log.exception("agent session %s: bad message", session_id)
        finally:
            link.close("")
