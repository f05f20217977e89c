"""One Connect stream: hello/welcome, a batching writer, a reader, heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
from google.protobuf import timestamp_pb2

from dwe.agent_sdk import codec
from dwe.agent_sdk.executor import Executor
from dwe.agent_sdk.outbox import Outbox
from dwe.agent_sdk.running import RunningRegistry
from dwe.v1 import agent_pb2, service_pb2_grpc

logger = logging.getLogger("dwe.agent_sdk")

DEFAULT_HEARTBEAT_INTERVAL = 5.0
#: How long to wait for the server to end the stream after we stop writing.
CLOSE_TIMEOUT = 5.0


class SessionEnd(enum.Enum):
    """Why a session ended without an error."""

    STOPPED = "stopped"  # we were asked to stop and closed the stream
    DRAINED = "drained"  # the server sent Drain (it is stopping): results sent, reconnect
    CLOSED = "closed"  # the server ended the stream unasked: reconnect


class SessionLost(ConnectionError):
    """The stream broke or the server ended it before Welcome."""


@dataclass(slots=True)
class SessionInfo:
    """What the server told us in Welcome."""

    session_id: str = ""
    namespace: str = ""
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL
    resumed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


class Session:
    """Runs one ``AgentService.Connect`` stream until it ends.

    The writer is the only coroutine that writes: it sleeps on the outbox, and
    when woken takes everything pending as one ConnectRequest. While a write is in
    flight new items pile up and go out together in the next message, so the
    batch size adapts to load and an idle agent sends at once.
    """

    def __init__(
        self,
        channel: grpc.aio.Channel,
        hello: agent_pb2.Hello,
        *,
        executor: Executor,
        outbox: Outbox,
        registry: RunningRegistry,
        stop: asyncio.Event,
        on_welcome: Callable[[SessionInfo], None],
        metadata: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self._stub = service_pb2_grpc.AgentServiceStub(channel)
        self._metadata = metadata  # the bearer token, when auth is on
        self._hello = hello
        self._executor = executor
        self._outbox = outbox
        self._registry = registry
        self._stop = stop
        self._on_welcome = on_welcome
        self._drain = asyncio.Event()
        self._write_done = asyncio.Event()
        self._writing = False
        self._heartbeat_due = False
        self._last_sent = 0.0
        self.info = SessionInfo()

    async def run(self) -> SessionEnd:
        """Open the stream and serve it; returns how it ended.

        Raises:
            grpc.aio.AioRpcError: When the RPC fails (e.g. UNAVAILABLE).
            SessionLost: When the server closes the stream before Welcome.
        """
        loop = asyncio.get_running_loop()
        call = self._stub.Connect(metadata=self._metadata or None)
        tasks: list[asyncio.Task[None]] = []
        try:
            await call.write(agent_pb2.ConnectRequest(hello=self._hello))
            first = await call.read()
            if first is grpc.aio.EOF or not first.HasField("welcome"):
                raise SessionLost("stream ended before Welcome")
            self._welcome(first.welcome)
            self._last_sent = loop.time()
            self._handle(first)
            reader = loop.create_task(self._read_loop(call))
            writer = loop.create_task(self._write_loop(call))
            beat = loop.create_task(self._heartbeat_loop())
            stopping = loop.create_task(self._wait_stop())
            tasks = [reader, writer, beat, stopping]
            await asyncio.wait([reader, writer, stopping], return_when=asyncio.FIRST_COMPLETED)
            for t in (reader, writer):
                if t.done() and t.exception() is not None:
                    raise t.exception()  # type: ignore[misc]
            if not stopping.done():
                return SessionEnd.CLOSED  # server ended the stream without Drain
            # Stopping or drained: no new work; in-flight handlers finish (their results
            # go out as they end) while the reader still takes cancels; everything is
            # flushed, heartbeats stop, then we half-close. A server whose grace period
            # runs out first ends the stream: what still runs goes to the next session.
            drained = self._drain.is_set() and not self._stop.is_set()
            self._executor.accepting = False
            try:
                await self._until(self._registry.wait_idle(), reader, writer)
            finally:
                self._executor.accepting = drained  # a drained agent serves the next server
            await self._until(self._flush(), reader, writer)
            beat.cancel()
            if not reader.done():
                await call.done_writing()
            # Everything was written; how the server ends the call no longer matters.
            with contextlib.suppress(TimeoutError, grpc.aio.AioRpcError):
                await asyncio.wait_for(asyncio.shield(reader), CLOSE_TIMEOUT)
            return SessionEnd.DRAINED if drained else SessionEnd.STOPPED
        finally:
            for t in tasks:
                t.cancel()
            # gather, not "suppress(CancelledError): await t": a cancel of serve() itself
            # arriving here must propagate, not be swallowed with the children's.
            await asyncio.gather(*tasks, return_exceptions=True)
            call.cancel()

    async def _until(self, aw: Awaitable[object], *tasks: asyncio.Task[None]) -> None:
        """Await ``aw`` but fail fast if the reader or writer ends meanwhile."""
        job = asyncio.ensure_future(aw)
        watch = [t for t in tasks if not t.done()]
        try:
            await asyncio.wait([job, *watch], return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not job.done():
                job.cancel()
        if job.done() and not job.cancelled():
            return
        for t in watch:
            if t.done() and not t.cancelled() and t.exception() is not None:
                raise t.exception()  # type: ignore[misc]
        raise SessionLost("stream ended while draining")

    async def _wait_stop(self) -> None:
        stop_wait = asyncio.ensure_future(self._stop.wait())
        drain_wait = asyncio.ensure_future(self._drain.wait())
        try:
            await asyncio.wait([stop_wait, drain_wait], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_wait.cancel()
            drain_wait.cancel()

    def _welcome(self, welcome: agent_pb2.Welcome) -> None:
        info = self.info
        info.session_id = welcome.session_id
        info.namespace = welcome.namespace
        if welcome.HasField("heartbeat_interval"):
            seconds = welcome.heartbeat_interval.ToTimedelta().total_seconds()
            if seconds > 0:
                info.heartbeat_interval = seconds
        info.resumed = list(welcome.resumed_attempt_ids)
        info.dropped = list(welcome.dropped_attempt_ids)
        self._outbox.limit(welcome.max_message_bytes, welcome.max_payload_bytes)
        self._outbox.welcomed(info.resumed, welcome.resumed_progress)
        config = codec.decode(welcome.config, {})
        self._executor.config = config if isinstance(config, dict) else {"value": config}
        if info.dropped:
            logger.info(
                "server dropped %d held attempt(s) (session %s)", len(info.dropped), info.session_id
            )
            for attempt_id in info.dropped:
                self._registry.cancel(attempt_id, "dropped by server")
            self._outbox.discard(set(info.dropped))
        self._on_welcome(info)

    def _handle(self, msg: agent_pb2.ConnectResponse) -> None:
        if msg.assignments:
            dispatch = self._executor.dispatch
            for assignment in msg.assignments:
                dispatch(assignment)
        for r in msg.rejections:
            logger.warning("server rejected %s of attempt %s: %s", r.kind, r.attempt_id, r.reason)
        for ack in msg.progress_acks:
            if ack.resend:
                self._outbox.resend({ack.attempt_id: ack.index})
            else:
                self._outbox.acknowledge(ack.attempt_id, ack.index)
        for cancel in msg.cancels:
            if self._registry.cancel(cancel.attempt_id, cancel.reason):
                logger.debug("cancel attempt %s: %s", cancel.attempt_id, cancel.reason)
        if msg.HasField("drain"):
            logger.info(
                "server drains session %s (%s): sending results, then reconnecting",
                self.info.session_id,
                msg.drain.reason,
            )
            self._drain.set()

    async def _read_loop(self, call: grpc.aio.StreamStreamCall) -> None:
        while True:
            msg = await call.read()
            if msg is grpc.aio.EOF:
                return
            self._handle(msg)

    async def _write_loop(self, call: grpc.aio.StreamStreamCall) -> None:
        outbox = self._outbox
        loop = asyncio.get_running_loop()
        while True:
            await outbox.wait_ready()
            msg = outbox.take()
            if msg is None:
                if not self._heartbeat_due:
                    self._write_done.set()
                    continue
                msg = agent_pb2.ConnectRequest(heartbeat=_heartbeat())
            self._heartbeat_due = False
            self._writing = True
            try:
                await call.write(msg)
            except BaseException:
                outbox.restore(msg)
                raise
            finally:
                self._writing = False
            self._last_sent = loop.time()
            self._write_done.set()

    async def _flush(self) -> None:
        """Return once the outbox is empty and no write is in flight."""
        while len(self._outbox) or self._writing:
            self._write_done.clear()
            self._outbox.poke()
            await self._write_done.wait()

    async def _heartbeat_loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.info.heartbeat_interval
        # Beat a little early so scheduling delays never exceed the interval.
        due_after = interval * 0.8
        while True:
            wait = self._last_sent + due_after - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            self._heartbeat_due = True
            self._outbox.poke()
            await asyncio.sleep(due_after)


def _heartbeat() -> agent_pb2.Heartbeat:
    now = timestamp_pb2.Timestamp()
    now.GetCurrentTime()
    return agent_pb2.Heartbeat(time=now)
