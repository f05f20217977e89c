"""Per-token limits with auth on: a token bucket for creates, and a cap on open streams.

Each token subject has a bucket of ``create_burst`` creates refilled at ``create_rate``
per second (CreateWorkflow and StartIntent take one each, CreateWorkflows one per
item), and may hold at most ``max_streams`` streams open at once (ExecuteWorkflow,
ExecuteWorkflows, WatchWorkflow, WatchEvents, Connect). Past either:
RESOURCE_EXHAUSTED naming the limit and its setting.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import grpc

CREATES = frozenset({"CreateWorkflow", "CreateWorkflows", "StartIntent"})
STREAMS = frozenset(
    {"ExecuteWorkflow", "ExecuteWorkflows", "WatchWorkflow", "WatchEvents", "Connect"}
)
#: The subject of a caller known by its certificate, set by the guard's in-call check.
CALLER: ContextVar[str] = ContextVar("dwe_caller", default="")


@dataclass(frozen=True, slots=True)
class TokenLimits:
    """Limits per token subject; 0 turns one off."""

    create_rate: float = 0.0
    create_burst: int = 0
    max_streams: int = 0


class Bucket:
    """A token bucket: ``burst`` tokens at most, refilled at ``rate`` per second."""

    __slots__ = ("_at", "_level", "burst", "rate")

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate, self.burst = rate, burst
        self._level = float(burst)
        self._at = clock()

    def take(self, now: float, count: int = 1) -> bool:
        self._level = min(self.burst, self._level + (now - self._at) * self.rate)
        self._at = now
        if self._level < count:
            return False
        self._level -= count
        return True


class Quotas:
    """The buckets and open-stream counts of every token subject seen."""

    def __init__(self, limits: TokenLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._buckets: dict[str, Bucket] = {}
        self._streams: dict[str, int] = {}
        self.exhausted = 0  # calls refused for a limit (metrics)

    def admit(self, subject: str, method: str) -> str:
        """'' when the call may go on, else why not (its stream, if any, is counted)."""
        limits = self.limits
        if method in CREATES and limits.create_rate > 0:
            bucket = self._buckets.get(subject)
            if bucket is None:
                burst = limits.create_burst or max(1, int(limits.create_rate))
                bucket = self._buckets[subject] = Bucket(limits.create_rate, burst, self._clock)
            if not bucket.take(self._clock()):
                self.exhausted += 1
                return (
                    f"create rate of {subject!r} over its limit of {limits.create_rate:g}/s"
                    f" (burst {bucket.burst}; --token-create-rate)"
                )
        if method in STREAMS and limits.max_streams > 0:
            open_now = self._streams.get(subject, 0)
            if open_now >= limits.max_streams:
                self.exhausted += 1
                return (
                    f"{subject!r} already has {open_now} streams open, the limit"
                    " (--token-max-streams)"
                )
            self._streams[subject] = open_now + 1
        return ""

    def per_item(self, handler: grpc.RpcMethodHandler, subject: str) -> grpc.RpcMethodHandler:
        """CreateWorkflows taking one create per item: admission took the first, this the
        rest, once the request is decoded (``subject`` empty: the certificate caller's)."""
        quotas, inner = self, handler.unary_unary

        async def unary(request: Any, context: Any) -> Any:
            more = len(getattr(request, "requests", ())) - 1
            if more > 0 and not quotas.take(subject or CALLER.get(), more):
                why = (
                    f"create rate of {subject or CALLER.get()!r} over its limit of"
                    f" {quotas.limits.create_rate:g}/s for {more + 1} workflows"
                    " (--token-create-rate)"
                )
                await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, why)
            return await inner(request, context)

        return grpc.unary_unary_rpc_method_handler(
            unary, handler.request_deserializer, handler.response_serializer
        )

    def take(self, subject: str, count: int) -> bool:
        """Takes ``count`` creates from the subject's bucket, or none of them."""
        bucket = self._buckets.get(subject)
        if bucket is None or bucket.take(self._clock(), count):
            return True
        self.exhausted += 1
        return False

    def closed(self, subject: str) -> None:
        left = self._streams.get(subject, 1) - 1
        if left > 0:
            self._streams[subject] = left
        else:
            self._streams.pop(subject, None)

    def counted(self, handler: grpc.RpcMethodHandler, subject: str) -> grpc.RpcMethodHandler:
        """``handler`` (a stream) with its end uncounted from ``subject``'s streams."""
        quotas = self
        if handler.stream_stream is not None:
            inner = handler.stream_stream

            async def bidi(requests: Any, context: Any) -> AsyncIterator[Any]:
                try:
                    async for item in inner(requests, context):
                        yield item
                finally:
                    quotas.closed(subject)

            return grpc.stream_stream_rpc_method_handler(
                bidi, handler.request_deserializer, handler.response_serializer
            )
        inner_us = handler.unary_stream

        async def server_stream(request: Any, context: Any) -> AsyncIterator[Any]:
            try:
                async for item in inner_us(request, context):
                    yield item
            finally:
                quotas.closed(subject)

        return grpc.unary_stream_rpc_method_handler(
            server_stream, handler.request_deserializer, handler.response_serializer
        )
