"""The Agent: handler registry, serve loop with reconnect, graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc

from dwe.agent_sdk.errors import AgentConfigError
from dwe.agent_sdk.executor import Executor, Handler
from dwe.agent_sdk.outbox import Outbox
from dwe.agent_sdk.reconnect import DEFAULT_BASE, DEFAULT_CAP, FATAL_CODES, ConnectionState
from dwe.agent_sdk.running import RunningRegistry
from dwe.agent_sdk.session import Session, SessionEnd, SessionInfo, SessionLost
from dwe.common.namespaces import default as default_namespace
from dwe.common.tls import TlsFiles, bearer, open_channel
from dwe.common.tls import resolve as resolve_tls
from dwe.v1 import agent_pb2

logger = logging.getLogger("dwe.agent_sdk")

SDK_NAME = "dwe-python/0.1.0"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(slots=True)
class _Serving:
    """What one :meth:`Agent.serve` call owns, from start to stop."""

    stop: asyncio.Event
    outbox: Outbox
    registry: RunningRegistry
    executor: Executor
    pool: ThreadPoolExecutor | None
    watchers: list[asyncio.Task[None]]
    state: ConnectionState = field(default_factory=ConnectionState)


class Agent:
    """A process that runs workflow steps for a dwe server.

    Example:
        >>> agent = Agent("risk_analyzer", agent_type="RiskAnalyzer", max_concurrent_tasks=2)
        >>> @agent.handler("analysis")
        ... async def analyze(task):
        ...     return {"risk": 0.42}
        >>> agent.run("localhost:50051")  # doctest: +SKIP

    Args:
        agent_id: Stable identity across reconnects; the registry key.
        agent_type: Matched against a step's ``agent_type`` for routing preference.
        capabilities: Capabilities announced in Hello; None means those with handlers.
        max_concurrent_tasks: Attempts run at once (also the sync thread-pool size).
        labels: Free-form labels announced in Hello.
        graceful_timeout: Seconds :meth:`stop` waits for in-flight handlers before
            cancelling them; None waits forever.
        reconnect_base: First reconnect delay in seconds.
        reconnect_cap: Largest reconnect delay in seconds.
        channel_options: Extra gRPC channel options.
        tls: TLS files (``dwe.common.tls.TlsFiles``); None takes DWE_TLS_CA,
            DWE_TLS_CERT and DWE_TLS_KEY when any is set, else plaintext.
        token: Bearer token (an agent token from ``dwe token create``); None
            takes DWE_TOKEN when set.
        namespace: The namespace whose steps the agent takes, sent in Hello; None
            takes DWE_NAMESPACE when set; empty: the server picks (the agent's
            registry entry's namespace, else the token's first, else "default").

    Attributes:
        connected: Set while a session is established (after Welcome).
        session_id: Id of the current (or last) session, None before the first.
        served_namespace: The namespace the current (or last) session serves, from
            Welcome; None before the first.
        on_connected: Called on every Welcome with (target, session info, True on a
            reconnect), on the serving loop; e.g. ``dwe agent`` prints a line.
    """

    def __init__(
        self,
        agent_id: str,
        agent_type: str = "",
        capabilities: Iterable[str] | None = None,
        max_concurrent_tasks: int = 1,
        labels: Mapping[str, str] | None = None,
        *,
        graceful_timeout: float | None = 30.0,
        reconnect_base: float = DEFAULT_BASE,
        reconnect_cap: float = DEFAULT_CAP,
        channel_options: Sequence[tuple[str, Any]] = (),
        tls: TlsFiles | bool | None = None,
        token: str | None = None,
        namespace: str | None = None,
    ) -> None:
        if not agent_id:
            raise AgentConfigError("agent_id must not be empty")
        if max_concurrent_tasks < 1:
            raise AgentConfigError("max_concurrent_tasks must be at least 1")
        self.agent_id = agent_id
        self.agent_type = agent_type
        self.max_concurrent_tasks = max_concurrent_tasks
        self.labels = dict(labels or {})
        self.graceful_timeout = graceful_timeout
        self.reconnect_base = reconnect_base
        self.reconnect_cap = reconnect_cap
        self.channel_options = list(channel_options)
        # TLS files; None: DWE_TLS_CA/DWE_TLS_CERT/DWE_TLS_KEY when set, else plaintext.
        self.tls = tls
        # Bearer token for a server with auth on; None: DWE_TOKEN when set.
        self.token = token
        # Namespace asked for in Hello; None: DWE_NAMESPACE when set, else the server's choice.
        self.namespace = namespace
        self._declared = list(capabilities) if capabilities is not None else None
        self._handlers: dict[str, Handler] = {}
        self.connected = asyncio.Event()
        self.session_id: str | None = None
        self.served_namespace: str | None = None
        self.on_connected: Callable[[str, SessionInfo, bool], None] | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._executor: Executor | None = None
        self._registry: RunningRegistry | None = None

    # -- handlers -----------------------------------------------------------

    def handler(self, capability: str) -> Callable[[F], F]:
        """Register the function that runs steps needing ``capability``.

        The function takes a :class:`~dwe.agent_sdk.Task` and returns a JSON-able
        value. Coroutine functions run on the event loop; plain functions run in
        a thread pool of ``max_concurrent_tasks`` threads.

        Raises:
            AgentConfigError: If the capability already has a handler.
        """

        def register(fn: F) -> F:
            if capability in self._handlers:
                raise AgentConfigError(f"capability {capability!r} already has a handler")
            self._handlers[capability] = Handler(fn, inspect.iscoroutinefunction(fn))
            return fn

        return register

    @property
    def capabilities(self) -> list[str]:
        """Capabilities announced in Hello."""
        if self._declared is not None:
            return list(self._declared)
        return list(self._handlers)

    def _check(self) -> list[str]:
        caps = self.capabilities
        if not caps:
            raise AgentConfigError(f"agent {self.agent_id} has no capabilities and no handlers")
        missing = [c for c in caps if c not in self._handlers]
        if missing:
            raise AgentConfigError(f"agent {self.agent_id}: no handler for {missing}")
        return caps

    # -- lifecycle ------------------------------------------------------------

    def run(self, target: str) -> None:
        """Serve until stopped, in a new event loop (blocking).

        SIGINT/SIGTERM stop gracefully; a second signal cancels running handlers.
        """

        async def main() -> None:
            loop = asyncio.get_running_loop()
            me = asyncio.current_task()
            assert me is not None

            def on_signal() -> None:
                if self._stop is not None and self._stop.is_set():
                    logger.warning("agent %s: second signal, aborting", self.agent_id)
                    me.cancel()
                else:
                    logger.info("agent %s: signal received, stopping", self.agent_id)
                    self.stop()

            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, on_signal)
            await self.serve(target)

        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(main())

    def stop(self) -> None:
        """Ask :meth:`serve` to stop gracefully; safe from any thread, and twice.

        New assignments are no longer started, in-flight handlers finish (up to
        ``graceful_timeout``) and their results are sent, then the stream closes.
        """
        loop = self._loop
        if loop is None or self._stop is None:
            return
        if threading.get_ident() == self._loop_thread:
            self._request_stop()
        else:
            loop.call_soon_threadsafe(self._request_stop)

    def _request_stop(self) -> None:
        if self._stop is None or self._stop.is_set():
            return
        if self._executor is not None:
            self._executor.accepting = False
        self._stop.set()

    async def serve(self, target: str, stop_event: asyncio.Event | None = None) -> None:
        """Connect to ``target`` and run assignments until stopped.

        Reconnects with jittered capped backoff when the stream fails; handlers
        keep running meanwhile and their results go out on the next stream.

        Args:
            target: Server address, e.g. ``"localhost:50051"``.
            stop_event: Optional event; setting it has the effect of :meth:`stop`.

        Raises:
            AgentConfigError: If capabilities or handlers are inconsistent.
            grpc.aio.AioRpcError: For errors no reconnect can fix (see FATAL_CODES).
            RuntimeError: If this agent is already serving.
        """
        if self._stop is not None:
            raise RuntimeError(f"agent {self.agent_id} is already serving")
        capabilities = self._check()
        run = self._start_serving(stop_event)
        logger.info(
            "agent %s serving %s (capabilities=%s, max_concurrent_tasks=%d)",
            self.agent_id,
            target,
            capabilities,
            self.max_concurrent_tasks,
        )
        try:
            await self._serve_sessions(target, capabilities, run)
        finally:
            self._finish_serving(run)

    def _start_serving(self, stop_event: asyncio.Event | None) -> _Serving:
        """Set up what one :meth:`serve` call owns: stop flag, executor, watchdogs."""
        loop = asyncio.get_running_loop()
        self._loop, self._loop_thread = loop, threading.get_ident()
        if getattr(self.connected, "_loop", None) not in (None, loop):
            # A previous serve() ran in another event loop (e.g. one per test).
            self.connected = asyncio.Event()
        self._stop = stop = asyncio.Event()
        need_pool = any(not h.is_async for h in self._handlers.values())
        pool = (
            ThreadPoolExecutor(self.max_concurrent_tasks, thread_name_prefix=f"dwe-{self.agent_id}")
            if need_pool
            else None
        )
        outbox, registry = Outbox(), RunningRegistry()
        executor = Executor(
            agent_id=self.agent_id,
            handlers=dict(self._handlers),
            outbox=outbox,
            registry=registry,
            pool=pool,
        )
        self._executor, self._registry = executor, registry
        watchers = [loop.create_task(self._grace_watchdog(stop, registry))]
        if stop_event is not None:
            watchers.append(loop.create_task(_forward(stop_event, self.stop)))
        return _Serving(stop, outbox, registry, executor, pool, watchers)

    async def _serve_sessions(self, target: str, capabilities: list[str], run: _Serving) -> None:
        """Run sessions one after another, backing off between failed ones, until stopped."""
        while not (run.stop.is_set() and not len(run.registry) and not len(run.outbox)):
            end = await self._one_session(target, capabilities, run)
            if end is SessionEnd.STOPPED or self._gave_up(run):
                return
            await self._wait_before_reconnect(run)

    def _gave_up(self, run: _Serving) -> bool:
        """While stopping without a server: True once nothing is pending or time is up."""
        pending = len(run.registry) + len(run.outbox.results)
        now = asyncio.get_running_loop().time()
        if not run.stop.is_set() or not run.state.give_up(
            now, pending, self.graceful_timeout, self.reconnect_cap
        ):
            return False
        if pending:
            logger.warning(
                "agent %s stopping without a server: %d result(s) undelivered",
                self.agent_id,
                len(run.outbox.results),
            )
        return True

    async def _wait_before_reconnect(self, run: _Serving) -> None:
        """Sleep the backoff delay; a stop request cuts it short (unless already stopping)."""
        now = asyncio.get_running_loop().time()
        delay = run.state.next_delay(now, self.reconnect_base, self.reconnect_cap)
        logger.log(
            logging.INFO if run.state.failures <= 1 else logging.DEBUG,
            "agent %s reconnecting in %.2fs (attempt %d)",
            self.agent_id,
            delay,
            run.state.failures,
        )
        # While stopping, keep waiting the delay out: the stop flag is already set.
        waiter = run.stop if not run.stop.is_set() else asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.wait(), delay)

    def _finish_serving(self, run: _Serving) -> None:
        """Abort what still runs, release the pool and forget the serve state."""
        for w in run.watchers:
            w.cancel()
        for entry in run.registry:
            entry.abort()
        if run.pool is not None:
            run.pool.shutdown(wait=False, cancel_futures=True)
        self.connected.clear()
        self._stop = self._executor = self._registry = None
        self._loop = None
        logger.info("agent %s stopped", self.agent_id)

    async def _one_session(
        self, target: str, capabilities: list[str], run: _Serving
    ) -> SessionEnd | None:
        """Run one session; None when it failed and a reconnect is due."""
        hello = self._hello(capabilities, run)
        channel = open_channel(target, resolve_tls(self.tls), self._channel_options())
        session = Session(
            channel,
            hello,
            executor=run.executor,
            outbox=run.outbox,
            registry=run.registry,
            stop=run.stop,
            on_welcome=self._welcomed(target, hello, run.state),
            metadata=bearer(self.token),
        )
        try:
            end = await session.run()
        except grpc.aio.AioRpcError as exc:
            if exc.code() in FATAL_CODES:
                logger.error(
                    "agent %s rejected by server: %s %s", self.agent_id, exc.code(), exc.details()
                )
                raise
            self._log_failure(run.state, target, f"{exc.code().name} {exc.details()}")
            return None
        except (SessionLost, OSError) as exc:
            self._log_failure(run.state, target, str(exc))
            return None
        finally:
            self.connected.clear()
            await channel.close()
        if end is SessionEnd.CLOSED:
            logger.warning("agent %s: server closed the stream; reconnecting", self.agent_id)
        elif end is SessionEnd.DRAINED:
            logger.info("agent %s: drained by a stopping server; reconnecting", self.agent_id)
        return end

    def _hello(self, capabilities: list[str], run: _Serving) -> agent_pb2.Hello:
        """The Hello of a new session, listing the attempts this agent still holds."""
        return agent_pb2.Hello(
            agent_id=self.agent_id,
            agent_type=self.agent_type,
            capabilities=capabilities,
            max_concurrent_tasks=self.max_concurrent_tasks,
            labels=self.labels,
            held_attempt_ids=list(dict.fromkeys(run.registry.ids() + run.outbox.result_ids())),
            sdk=SDK_NAME,
            namespace=default_namespace(self.namespace),
        )

    def _channel_options(self) -> list[tuple[str, Any]]:
        options = list(self.channel_options)
        if not any(name == "grpc.max_receive_message_length" for name, _ in options):
            # Unbounded unless set: the server bounds what it sends by the limit it
            # advertises in Welcome, which may be above gRPC's 4 MiB default.
            options.append(("grpc.max_receive_message_length", -1))
        return options

    def _welcomed(
        self, target: str, hello: agent_pb2.Hello, state: ConnectionState
    ) -> Callable[[SessionInfo], None]:
        """The session's Welcome callback: marks the agent connected and logs the resume."""
        loop = asyncio.get_running_loop()

        def on_welcome(info: SessionInfo) -> None:
            state.on_connected(loop.time())
            self.session_id = info.session_id
            self.served_namespace = info.namespace
            self.connected.set()
            logger.info(
                "agent %s connected to %s (session %s, namespace %s, held=%d, resumed=%d,"
                " dropped=%d)",
                self.agent_id,
                target,
                info.session_id,
                info.namespace or "default",
                len(hello.held_attempt_ids),
                len(info.resumed),
                len(info.dropped),
            )
            if self.on_connected is not None:
                self.on_connected(target, info, state.sessions > 1)

        return on_welcome

    def _log_failure(self, state: ConnectionState, target: str, why: str) -> None:
        # Warn on the first failure in a row; later retries only at DEBUG.
        first = state.failures == 0 or state.connected_at is not None
        level = logging.WARNING if first else logging.DEBUG
        logger.log(level, "agent %s stream to %s failed: %s", self.agent_id, target, why)

    async def _grace_watchdog(self, stop: asyncio.Event, registry: RunningRegistry) -> None:
        """After stop(), cancel handlers still running past ``graceful_timeout``."""
        await stop.wait()
        if self.graceful_timeout is None:
            return
        try:
            await asyncio.wait_for(registry.wait_idle(), self.graceful_timeout)
        except TimeoutError:
            logger.warning(
                "agent %s: %d handler(s) still running after %.1fs, cancelling",
                self.agent_id,
                len(registry),
                self.graceful_timeout,
            )
            for entry in registry:
                entry.abort()


async def _forward(event: asyncio.Event, action: Callable[[], None]) -> None:
    await event.wait()
    action()
