"""A standby replica's side of every dwe.v1 call: forwarded, bytes as they are, to the
replica that owns the workflows.

Clients and agents may use any replica. A standby answers its calls by opening the
same method on the owner with the caller's metadata (its token, its trace context)
and relaying messages both ways, undecoded; the owner checks and answers them as its
own. When no owner is known, or it cannot be reached, the call gets UNAVAILABLE and
the caller retries, as after any failover.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc

from .guard import KINDS
from .workflow_service import POSITION_HEADER

#: Call metadata that belongs to this hop, not the caller's request.
_HOP = ("user-agent", "content-type", "te")
#: Marks a forwarded call: a replica that is not the owner either does not forward it
#: again (right after a failover, a new standby may listen where the dead owner did).
FORWARDED = "dwe-forwarded"
#: The owner's initial metadata a standby passes on (WatchEvents' position).
_PASSED = (POSITION_HEADER,)
_NO_OWNER = "this replica is a standby and knows no owner yet; call again shortly"


def _metadata(context: grpc.aio.ServicerContext) -> tuple[tuple[str, Any], ...]:
    kept = tuple(
        (k, v)
        for k, v in context.invocation_metadata() or ()
        if not k.startswith((":", "grpc-")) and k not in _HOP
    )
    return (*kept, (FORWARDED, "1"))


def _forwarded(context: grpc.aio.ServicerContext) -> bool:
    return any(k == FORWARDED for k, _ in context.invocation_metadata() or ())


async def _relay(call: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    """The owner's replies of a stream, its error as this call's, the call ended after."""
    try:
        sent = await call.initial_metadata()  # passed on at once, as the owner sent them
        if sent is not None and not call.done():
            await context.send_initial_metadata(tuple((k, v) for k, v in sent if k in _PASSED))
        async for reply in call:
            yield reply
    except grpc.aio.AioRpcError as exc:
        await context.abort(exc.code(), exc.details() or "")
    finally:
        call.cancel()


class Forwarder(grpc.GenericRpcHandler):  # type: ignore[misc]
    """Forwards dwe.v1 methods to ``owner()`` (an address, or '' when unknown)."""

    def __init__(
        self,
        owner: Callable[[], str],
        max_message_bytes: int,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        self._owner = owner
        self._credentials = credentials  # TLS to the owner; None: plaintext
        self._limit = max_message_bytes + 64 * 1024
        self._channels: dict[str, grpc.aio.Channel] = {}

    def _channel(self) -> grpc.aio.Channel | None:
        address = self._owner()
        if not address:
            return None
        channel = self._channels.get(address)
        if channel is None:
            options = [
                ("grpc.max_send_message_length", self._limit),
                ("grpc.max_receive_message_length", self._limit),
            ]
            if self._credentials is None:
                channel = grpc.aio.insecure_channel(address, options)
            else:
                channel = grpc.aio.secure_channel(address, self._credentials, options)
            self._channels[address] = channel
        return channel

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        service, _, name = details.method.rpartition("/")
        kinds = KINDS.get(name)
        if not service.startswith("/dwe.v1.") or kinds is None:
            return None
        path = details.method
        if kinds == (True, True):
            return grpc.stream_stream_rpc_method_handler(self._bidi(path))
        if kinds[1]:
            return grpc.unary_stream_rpc_method_handler(self._server_stream(path))
        return grpc.unary_unary_rpc_method_handler(self._unary(path))

    async def _open(self, context: grpc.aio.ServicerContext) -> grpc.aio.Channel:
        channel = None if _forwarded(context) else self._channel()
        if channel is None:
            await context.abort(grpc.StatusCode.UNAVAILABLE, _NO_OWNER)
            raise AssertionError("unreachable: abort raises")
        return channel

    def _unary(self, path: str) -> Callable[[bytes, grpc.aio.ServicerContext], Any]:
        async def unary(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            channel = await self._open(context)
            try:
                reply: bytes = await channel.unary_unary(path)(
                    request, metadata=_metadata(context), timeout=context.time_remaining()
                )
            except grpc.aio.AioRpcError as exc:
                await context.abort(exc.code(), exc.details() or "")
                raise  # unreachable: abort raises
            return reply

        return unary

    def _server_stream(self, path: str) -> Callable[..., AsyncIterator[bytes]]:
        async def server_stream(
            request: bytes, context: grpc.aio.ServicerContext
        ) -> AsyncIterator[bytes]:
            channel = await self._open(context)
            call = channel.unary_stream(path)(
                request, metadata=_metadata(context), timeout=context.time_remaining()
            )
            async for reply in _relay(call, context):
                yield reply

        return server_stream

    def _bidi(self, path: str) -> Callable[..., AsyncIterator[bytes]]:
        async def bidi(
            requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext
        ) -> AsyncIterator[bytes]:
            channel = await self._open(context)
            call = channel.stream_stream(path)(metadata=_metadata(context))

            async def pump() -> None:
                with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
                    async for request in requests:
                        await call.write(request)
                    await call.done_writing()

            pumping = asyncio.create_task(pump())
            try:
                async for reply in _relay(call, context):
                    yield reply
            finally:
                pumping.cancel()

        return bidi

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()


class Router(grpc.GenericRpcHandler):  # type: ignore[misc]
    """The server's own handlers once it owns the workflows; until then, ``forward``."""

    def __init__(self, forward: grpc.GenericRpcHandler | None = None) -> None:
        self.local: tuple[grpc.GenericRpcHandler, ...] = ()
        self.forward = forward

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        for handler in self.local:
            found = handler.service(details)
            if found is not None:
                return found
        return self.forward.service(details) if self.forward is not None else None
