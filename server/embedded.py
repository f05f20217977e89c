"""A server on its own thread and event loop, for ``DynamicWorkflowEngine()`` without a target.

The caller's loop never answers RPCs, so synchronous client calls made from
inside it (the guide's ``get_workflow_status``) cannot deadlock.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from .app import DweServer, create_server
from .config import ServerConfig

_SHARED: dict[str, EmbeddedServer] = {}
_SHARED_LOCK = threading.Lock()


class EmbeddedServer:
    """One server on its own thread. ``shared`` hands out one per SQLite file."""

    @classmethod
    def shared(cls, db_path: str = "./dwe.db", **settings: Any) -> EmbeddedServer:
        """The running embedded server of this process for ``db_path``, started if needed.

        Two servers on one SQLite file would compete for it, so engines created
        on the same file share one server; the settings of the first one apply.
        Each call must be matched by ``release``.
        """
        key = os.path.realpath(db_path)
        with _SHARED_LOCK:
            server = _SHARED.get(key)
            if server is None or server.stopped:
                server = cls(db_path=db_path, **settings).start()
                _SHARED[key] = server
            server.acquire()
            return server

    @property
    def stopped(self) -> bool:
        """True once ``stop`` was called."""
        return self._stopped

    def acquire(self) -> None:
        """One more user of a shared server (call with the shared lock held)."""
        self._users += 1

    def release(self) -> None:
        """Drop one user of a shared server; the last one stops it."""
        with _SHARED_LOCK:
            self._users -= 1
            last = self._users <= 0
            if last:
                key = os.path.realpath(self.config.db_path)
                if _SHARED.get(key) is self:
                    del _SHARED[key]
        if last:
            self.stop()

    def __init__(self, db_path: str = "./dwe.db", port: int = 0, **settings: Any) -> None:
        self.config = ServerConfig.from_env(
            db_path=db_path, port=port, host="127.0.0.1", **settings
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: DweServer | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._users = 0
        self._stopped = False

    @property
    def address(self) -> str:
        if self._server is None:
            raise RuntimeError("embedded server is not started")
        return self._server.address

    @property
    def server(self) -> DweServer:
        if self._server is None:
            raise RuntimeError("embedded server is not started")
        return self._server

    def start(self, timeout: float = 30.0) -> EmbeddedServer:
        """Start the thread and block until the server is serving."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="dwe-embedded", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("embedded dwe server did not start")
        if self._error is not None:
            raise RuntimeError("embedded dwe server failed to start") from self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(create_server(self.config))
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def add_rule(self, rule: Any) -> None:
        """Add an adaptation rule to the scheduler, on the server's own loop."""
        assert self._loop is not None and self._server is not None
        self._loop.call_soon_threadsafe(self._server.coordinator.add_rule, rule)

    def call(self, coro: Any, timeout: float | None = 30.0) -> Any:
        """Run a coroutine on the server's loop from another thread."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self, grace: float = 1.0) -> None:
        """Stop the server and its thread; safe to call twice."""
        self._stopped = True
        if self._loop is None or self._server is None or not self._loop.is_running():
            return
        self.call(self._server.stop(grace))
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
