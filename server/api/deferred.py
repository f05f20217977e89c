"""A method handler with a check run inside the call, before the method's own code.

The auth guard decides most calls from their metadata alone, before the request is
decoded. A caller known by its client certificate can only be told apart inside the
call (the TLS peer is in the servicer context), so for those the guard wraps the
handler: ``check`` runs first and aborts the call when it is refused; ``done`` runs
when the call ends, however it ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

Check = Callable[[grpc.aio.ServicerContext], Awaitable[Callable[[], None] | None]]


def checked(handler: grpc.RpcMethodHandler, check: Check) -> grpc.RpcMethodHandler:
    """``handler`` with ``check`` in front; ``check`` may return a callback for the end."""
    if handler.unary_unary is not None:
        inner_uu = handler.unary_unary

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            done = await check(context)
            try:
                return await inner_uu(request, context)
            finally:
                if done is not None:
                    done()

        return grpc.unary_unary_rpc_method_handler(
            unary, handler.request_deserializer, handler.response_serializer
        )
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            _streaming(handler.unary_stream, check),
            handler.request_deserializer,
            handler.response_serializer,
        )
    return grpc.stream_stream_rpc_method_handler(
        _streaming(handler.stream_stream, check),
        handler.request_deserializer,
        handler.response_serializer,
    )


def _streaming(inner: Any, check: Check) -> Any:
    """A streaming behaviour (one request or a request iterator first) with ``check``."""

    async def behaviour(first: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        done = await check(context)
        try:
            async for item in inner(first, context):
                yield item
        finally:
            if done is not None:
                done()

    return behaviour
