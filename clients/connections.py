"""The engine's two ways to the server: blocking calls and async calls on the caller's loop."""

from __future__ import annotations

import asyncio
from typing import Any

from dwe.clients.sync import SyncDweClient
from dwe.clients.typed import ChannelOptions, DweClient
from dwe.common.namespaces import default as default_namespace
from dwe.common.tls import TlsFiles

__all__ = ["Connections"]


class Connections:
    """A :class:`SyncDweClient` (its own loop thread) and one :class:`DweClient` per caller loop.

    A ``grpc.aio`` channel belongs to the loop it was opened on, so the async
    client is replaced when it is asked for from another loop.

    Args:
        target: ``host:port`` of the server.
        options: gRPC channel options.
        rpc_timeout: Deadline in seconds of each unary call.
        trace_context: Send the caller's OpenTelemetry context with each call.
        tls: TLS to the server, as for :class:`DweClient`.
        namespace: The clients' default namespace (None: DWE_NAMESPACE).
    """

    def __init__(
        self,
        target: str,
        *,
        options: ChannelOptions | None,
        rpc_timeout: float | None,
        trace_context: bool,
        tls: TlsFiles | bool | None = None,
        namespace: str | None = None,
    ) -> None:
        self.target = target
        self._settings: dict[str, Any] = {
            "options": options,
            "rpc_timeout": rpc_timeout,
            "trace_context": trace_context,
            "tls": tls,
            "namespace": default_namespace(namespace),  # DWE_NAMESPACE read once
        }
        self.blocking = SyncDweClient(target, **self._settings)
        self._client: DweClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Task[None] | None = None
        self.closed = False

    def current(self) -> DweClient:
        """The async client of the running loop.

        Raises:
            RuntimeError: Closed, or no running loop.
        """
        if self.closed:
            raise RuntimeError("DynamicWorkflowEngine is closed")
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = DweClient(self.target, **self._settings)
            self._loop = loop
        return self._client

    def close(self) -> None:
        """Closes both clients; the async one only when called on its own loop. Idempotent."""
        self.closed = True
        client, self._client = self._client, None
        if client is not None:
            try:
                loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None and loop is self._loop:
                self._closing = loop.create_task(client.close())  # keep a reference
        self.blocking.close()

    async def aclose(self) -> None:
        """Closes both clients, awaiting the async one; the blocking one off the loop."""
        self.closed = True
        client, self._client = self._client, None
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.close()
        await asyncio.to_thread(self.blocking.close)
