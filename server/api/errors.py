"""Domain exceptions -> gRPC status codes, in one place."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

import grpc

from dwe.common.errors import ValidationError as SpecError
from dwe.common.intents import IntentError

from ..engine.config import ContextTooLarge, SchedulerError, UnknownWorkflow
from ..runtime.admission import Admission
from ..runtime.commit import StoreUnavailable
from ..runtime.hub import StreamEnded
from .handlers import Undecodable
from .limits import bounded, quote
from .scope import BadNamespace, NamespaceDenied
from .validation import TooLarge, ValidationError

T = TypeVar("T")

log = logging.getLogger("dwe.server.api")


#: The answer to a call that arrives while the server stops.
SHUTTING_DOWN = "server shutting down; call again (another server, or this one once it is back)"


class Precondition(RuntimeError):
    """The request is well-formed but the server's state does not allow it."""


def status_for(exc: BaseException) -> tuple[grpc.StatusCode, str] | None:
    """The status code and message of a domain error; None for anything else.

    The message is cut to what a trailer can carry (``limits.bounded``).
    """
    mapped = _status_for(exc)
    return None if mapped is None else (mapped[0], bounded(mapped[1]))


def _status_for(exc: BaseException) -> tuple[grpc.StatusCode, str] | None:
    if isinstance(exc, TooLarge | ContextTooLarge):
        return grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc)
    if isinstance(exc, NamespaceDenied):
        return grpc.StatusCode.PERMISSION_DENIED, str(exc)
    if isinstance(exc, ValidationError | SpecError | BadNamespace):
        return grpc.StatusCode.INVALID_ARGUMENT, str(exc)
    if isinstance(exc, UnknownWorkflow):
        return grpc.StatusCode.NOT_FOUND, f"workflow {quote(str(exc.args[0]))} not found"
    if isinstance(exc, SchedulerError | Precondition | IntentError):
        return grpc.StatusCode.FAILED_PRECONDITION, str(exc)
    if isinstance(exc, StoreUnavailable | StreamEnded):
        return grpc.StatusCode.UNAVAILABLE, str(exc)
    return None


def unary(fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Wrap a unary servicer method so domain errors abort with their status."""

    @wraps(fn)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> T:
        if isinstance(request, Undecodable):
            await refuse_undecodable(fn.__name__, request, context)
        admission: Admission = self.admission
        if admission.refusing:
            admission.refused()
            await context.abort(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN)
        admission.active += 1
        try:
            return await fn(self, request, context)
        except Exception as exc:
            mapped = status_for(exc)
            if mapped is None:
                raise
            await context.abort(*mapped)
            raise  # unreachable: abort raises
        finally:
            admission.active -= 1

    return wrapper


def streaming(fn: Callable[..., AsyncIterator[T]]) -> Callable[..., AsyncIterator[T]]:
    """The same for server-streaming methods."""

    @wraps(fn)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        if isinstance(request, Undecodable):
            await refuse_undecodable(fn.__name__, request, context)
        admission: Admission = self.admission
        if admission.refusing:
            admission.refused()
            await context.abort(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN)
        try:
            async for item in fn(self, request, context):
                yield item
        except Exception as exc:
            mapped = status_for(exc)
            if mapped is None:
                raise
            await context.abort(*mapped)

    return wrapper


async def refuse_undecodable(
    method: str, request: Undecodable, context: grpc.aio.ServicerContext
) -> None:
    """One log line, then INVALID_ARGUMENT (``abort`` raises)."""
    log.warning("%s from %s: %s", method, context.peer(), request.message)
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.message)
