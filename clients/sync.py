"""Blocking typed client: a :class:`~dwe.clients.typed.DweClient` on a loop thread of its own.

Each method is the async one run on that private loop, so a call never waits
on the caller's event loop: it works from plain code, from any thread, and
from inside a running loop (which it pauses for the duration of the call).
Server streams become plain iterators; closing one early (``close()``, or
dropping it, as breaking out of a ``for`` over it does) cancels the stream on
the server.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import inspect
import queue
import threading
import weakref
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar

from dwe.clients import _common as c
from dwe.clients.errors import RpcCancelledError
from dwe.clients.typed import ChannelOptions, DweClient
from dwe.common.tls import TlsFiles

__all__ = ["SyncDweClient"]

P = ParamSpec("P")
T = TypeVar("T")

#: Seconds close() waits for the loop thread to close the channel and stop.
_CLOSE_TIMEOUT = 10.0


def _blocking(
    method: Callable[Concatenate[DweClient, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[SyncDweClient, P], T]:
    """The blocking twin of an async :class:`DweClient` method."""

    def call(self: SyncDweClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.run(lambda client: method(client, *args, **kwargs))

    return _described(call, method, iterator=False)


def _iterating(
    method: Callable[Concatenate[DweClient, P], AsyncGenerator[T, None]],
) -> Callable[Concatenate[SyncDweClient, P], Iterator[T]]:
    """The iterator twin of a server-streaming :class:`DweClient` method."""

    def call(self: SyncDweClient, /, *args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        # Called here so bad arguments raise at once; the stream opens on first next().
        return self._iterate(method(self._client, *args, **kwargs))

    return _described(call, method, iterator=True)


def _described(call: Any, method: Callable[..., Any], iterator: bool) -> Any:
    """Gives ``call`` the async method's name, docs and signature (for help() and IDEs)."""
    functools.update_wrapper(call, method, assigned=("__module__", "__name__", "__doc__"))
    call.__qualname__ = f"SyncDweClient.{method.__name__}"
    signature = inspect.signature(method)
    if iterator:  # "AsyncGenerator[X, None]" (a string: annotations are postponed) -> "Iterator[X]"
        item = str(signature.return_annotation).removeprefix("AsyncGenerator[")
        signature = signature.replace(return_annotation=f"Iterator[{item.removesuffix(', None]')}]")
    call.__signature__ = signature
    return call


class SyncDweClient:
    """Blocking client for a dwe server, usable with ``with``; thread-safe.

    Same methods, arguments and results as :class:`DweClient`, without
    ``await``; errors are the same :class:`~dwe.clients.errors.DweError`
    subclasses. The loop thread starts on the first call. ``close()`` is safe
    to call twice; calls after it raise ``RuntimeError``.

    Args:
        target: ``host:port`` of the server.
        options: gRPC channel options.
        rpc_timeout: Deadline in seconds of each unary call; None for none.
        wait_for_ready: Queue calls while the server is unreachable instead of
            failing at once with UnavailableError (bounded by ``rpc_timeout``).
        trace_context: Send the caller's OpenTelemetry context with each call.
        tls, token, namespace: As for :class:`DweClient` (None takes DWE_TLS_*,
            DWE_TOKEN and DWE_NAMESPACE).
    """

    def __init__(
        self,
        target: str = c.DEFAULT_TARGET,
        *,
        options: ChannelOptions | None = None,
        rpc_timeout: float | None = c.DEFAULT_RPC_TIMEOUT,
        wait_for_ready: bool = False,
        trace_context: bool = True,
        tls: TlsFiles | bool | None = None,
        token: str | None = None,
        namespace: str | None = None,
    ) -> None:
        self.target = target
        self._client = DweClient(
            target,
            options=options,
            rpc_timeout=rpc_timeout,
            wait_for_ready=wait_for_ready,
            trace_context=trace_context,
            tls=tls,
            token=token,
            namespace=namespace,
        )
        # Guards starting, submitting and closing: nothing is submitted after close().
        self._lock = threading.Lock()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._shutdown: weakref.finalize[Any, Any] | None = None

    @property
    def namespace(self) -> str:
        """The default namespace of creates ("": the caller's), as on :class:`DweClient`."""
        return self._client.namespace

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the channel (cancelling open streams) and stops the loop thread.

        Safe to call twice, and from any thread but the client's own loop.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            shutdown = self._shutdown
        if shutdown is not None:
            shutdown()

    def run(self, operation: Callable[[DweClient], Coroutine[Any, Any, T]]) -> T:
        """Runs ``await operation(client)`` on the loop thread and returns its result.

        ``client`` is this client's :class:`DweClient`: several calls made in one
        operation cost one hop between threads. Every method of this class is
        such an operation of one call.

        Raises:
            DweError: What the operation raised (any exception passes through).
            RuntimeError: The client is closed.
        """
        future = self._submit(operation(self._client))
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise RpcCancelledError("call cancelled: the client was closed") from None
        except BaseException:
            future.cancel()  # e.g. KeyboardInterrupt while waiting: the RPC stops too
            raise

    # WorkflowService
    create_workflow = _blocking(DweClient.create_workflow)
    create_workflows = _blocking(DweClient.create_workflows)
    start_workflow = _blocking(DweClient.start_workflow)
    execute_workflow = _iterating(DweClient.execute_workflow)
    execute_workflows = _iterating(DweClient.execute_workflows)
    watch_workflow = _iterating(DweClient.watch_workflow)
    watch_events = _iterating(DweClient.watch_events)
    get_workflow_status = _blocking(DweClient.get_workflow_status)
    list_workflows = _blocking(DweClient.list_workflows)
    cancel_workflow = _blocking(DweClient.cancel_workflow)
    analyze_intent = _blocking(DweClient.analyze_intent)
    start_intent = _blocking(DweClient.start_intent)

    # EngineService
    register_agent = _blocking(DweClient.register_agent)
    list_agents = _blocking(DweClient.list_agents)
    get_engine_metrics = _blocking(DweClient.get_engine_metrics)
    prune_workflows = _blocking(DweClient.prune_workflows)
    get_server_info = _blocking(DweClient.get_server_info)

    # the loop thread

    def _submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedules ``coro`` on the loop thread, starting the thread on first use."""
        with self._lock:
            if self._closed:
                coro.close()
                raise RuntimeError("SyncDweClient is closed")
            if self._loop is None:
                self._start()
            assert self._loop is not None and self._thread is not None
            if threading.current_thread() is self._thread:
                coro.close()
                raise RuntimeError("SyncDweClient called from its own loop thread")
            return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=_serve_loop, args=(loop,), name="dwe-sync-client", daemon=True
        )
        thread.start()
        self._loop, self._thread = loop, thread
        # A function of plain values, not of self: the finalizer must not keep self alive.
        self._shutdown = weakref.finalize(self, _stop_loop, loop, thread, self._client)

    def _iterate(self, stream: AsyncGenerator[T, None]) -> Iterator[T]:
        """Pumps ``stream`` from the loop thread; the RPC starts on the first ``next()``."""
        pump: _Pump[T] = _Pump()
        future = self._submit(pump.run(stream))
        assert self._loop is not None
        try:
            yield from pump.items(self._loop)
        finally:
            future.cancel()
            if threading.current_thread() is not self._thread:
                pump.wait_closed(_CLOSE_TIMEOUT)


@dataclass(frozen=True, slots=True)
class _End:
    """The last entry of a pumped stream: how it ended (None: normally)."""

    error: BaseException | None = None


class _Pump(Generic[T]):
    """Hands the items of a stream iterated on the loop thread to one consumer thread.

    At most ``window`` items wait in between; past that the stream pauses until
    the consumer has taken half, so a slow reader holds the stream back instead
    of buffering it here.
    """

    def __init__(self, window: int = 256) -> None:
        self._window = window
        self._queue: queue.SimpleQueue[T | _End] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending = 0
        self._paused = False
        self._resume = asyncio.Event()
        self._started = False
        self._closed = threading.Event()

    async def run(self, stream: AsyncGenerator[T, None]) -> None:
        """Iterates ``stream`` on the loop; the last queued entry says how it ended."""
        self._started = True
        try:
            async for item in stream:
                with self._lock:
                    self._pending += 1
                    pause = self._paused = self._pending >= self._window
                    if pause:
                        self._resume.clear()
                self._queue.put(item)
                if pause:
                    await self._resume.wait()
            self._queue.put(_End())
        except Exception as err:
            self._queue.put(_End(err))
        except BaseException:
            # Cancelled (the consumer left, or the client closed): wake a waiting consumer.
            self._queue.put(_End(RpcCancelledError("stream cancelled: the client was closed")))
            raise
        finally:
            await stream.aclose()
            self._closed.set()

    def items(self, loop: asyncio.AbstractEventLoop) -> Iterator[T]:
        """The consumer's side: items until the stream ends; its error is raised here."""
        while True:
            value = self._queue.get()
            if isinstance(value, _End):
                if value.error is not None:
                    raise value.error
                return
            with self._lock:
                self._pending -= 1
                resume = self._paused and self._pending <= self._window // 2
                if resume:
                    self._paused = False
            if resume:
                loop.call_soon_threadsafe(self._resume.set)
            yield value

    def wait_closed(self, timeout: float) -> None:
        """After a cancel: wait until the stream was closed (if it ever started)."""
        if self._started:
            self._closed.wait(timeout)


def _serve_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
        # Calls still running when the client closed end cancelled, never left waiting.
        leftover = asyncio.all_tasks(loop)
        for task in leftover:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()


def _stop_loop(
    loop: asyncio.AbstractEventLoop, thread: threading.Thread, client: DweClient
) -> None:
    """Closes the channel on the loop, then stops the loop and joins its thread."""
    if thread is threading.current_thread():  # collected on its own loop: just stop it
        loop.stop()
        return
    if not loop.is_closed():
        closing = asyncio.run_coroutine_threadsafe(client.close(), loop)
        with contextlib.suppress(
            concurrent.futures.TimeoutError, concurrent.futures.CancelledError
        ):
            closing.result(_CLOSE_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
    thread.join(_CLOSE_TIMEOUT)
