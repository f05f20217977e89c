"""Domain exceptions -> gRPC status codes, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

import grpc

from dwe.clients.intents import IntentError

from ..engine.scheduler import SchedulerError, UnknownWorkflow
from .validation import ValidationError

T = TypeVar("T")


class NotFound(LookupError):
    pass


class Precondition(RuntimeError):
    pass


def status_for(exc: BaseException) -> tuple[grpc.StatusCode, str] | None:
    if isinstance(exc, ValidationError):
        return grpc.StatusCode.INVALID_ARGUMENT, str(exc)
    if isinstance(exc, UnknownWorkflow | NotFound):
        return grpc.StatusCode.NOT_FOUND, f"workflow {exc.args[0]!r} not found"
    if isinstance(exc, SchedulerError | Precondition | IntentError):
        return grpc.StatusCode.FAILED_PRECONDITION, str(exc)
    return None


def unary(fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Wrap a unary servicer method so domain errors abort with their status."""

    @wraps(fn)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> T:
        try:
            return await fn(self, request, context)
        except Exception as exc:
            mapped = status_for(exc)
            if mapped is None:
                raise
            await context.abort(*mapped)
            raise  # unreachable: abort raises

    return wrapper


def streaming(fn: Callable[..., AsyncIterator[T]]) -> Callable[..., AsyncIterator[T]]:
    """The same for server-streaming methods."""

    @wraps(fn)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            async for item in fn(self, request, context):
                yield item
        except Exception as exc:
            mapped = status_for(exc)
            if mapped is None:
                raise
            await context.abort(*mapped)

    return wrapper
