"""GET /api/v1/events: WatchEvents as Server-Sent Events.

Each event is one SSE message whose id is the event's position, so a browser's
EventSource that reconnects sends Last-Event-ID and the stream resumes from the
store with no gap and no repeat. The watch is accepted or refused (with the HTTP
status of its gRPC error) before the response starts; an error later in the stream
is sent as an ``error`` event, after which the stream ends.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Callable, Iterator

import grpc
import orjson
from aiohttp import web

from dwe.v1 import request_response_pb2 as rr
from dwe.v1 import workflow_pb2

from .gateway import error, metadata, rpc_error, status_error, to_json
from .params import BadParam, watch_request

#: A comment line this often keeps proxies from closing an idle stream.
KEEPALIVE_SECONDS = 15.0
_PATH = "/dwe.v1.WorkflowService/WatchEvents"


def _events(response: bytes) -> Iterator[bytes]:
    """The encoded WorkflowEvents of an encoded WatchEventsResponse (its field 1)."""
    i, end = 0, len(response)
    while i < end:
        if response[i] != 0x0A:
            raise ValueError("not a WatchEventsResponse")
        i += 1
        size = shift = 0
        while True:
            byte = response[i]
            i += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        yield response[i : i + size]
        i += size


def _json(raw: bytes) -> tuple[int, bytes]:
    event = workflow_pb2.WorkflowEvent.FromString(raw)
    return event.position, orjson.dumps(to_json(event))


class JsonCache:
    """The JSON of recent events by their bytes: dashboards that watch the same events
    convert each one once (proto3 JSON is slow to make in Python)."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._made: dict[bytes, tuple[int, bytes]] = {}

    def __call__(self, raw: bytes) -> tuple[int, bytes]:
        made = self._made.get(raw)
        if made is None:
            made = self._made[raw] = _json(raw)
            if len(self._made) > self._size:  # the oldest goes (dicts keep their order)
                del self._made[next(iter(self._made))]
        return made


def _proto(raw: bytes) -> tuple[int, bytes]:
    """The committed bytes themselves, base64: nothing to convert, for the dashboard."""
    return workflow_pb2.WorkflowEvent.FromString(raw).position, base64.b64encode(raw)


def _message(response: bytes, encode: Callable[[bytes], tuple[int, bytes]]) -> bytes:
    out = bytearray()
    for raw in _events(response):
        position, data = encode(raw)
        out += b"id: %d\ndata: %s\n\n" % (position, data)
    return bytes(out)


class EventStream:
    """The SSE route over a channel to this server's own handlers."""

    def __init__(self, channel: grpc.aio.Channel, closing: asyncio.Event) -> None:
        self._channel = channel
        self._closing = closing
        self._encoders: dict[str, Callable[[bytes], tuple[int, bytes]]] = {
            "json": JsonCache(),
            "proto": _proto,
        }

    def route(self) -> web.RouteDef:
        return web.get("/api/v1/events", self.handle)

    async def handle(self, http: web.Request) -> web.StreamResponse:
        try:
            request = watch_request(http.query, http.headers)
            sent = metadata(http)
        except BadParam as exc:
            return error("INVALID_ARGUMENT", str(exc), 400)
        encode = self._encoders.get(http.query.get("format", "json"))
        if encode is None:
            return error("INVALID_ARGUMENT", "format: json or proto", 400)
        call = self._channel.unary_stream(
            _PATH, request_serializer=rr.WatchEventsRequest.SerializeToString
        )(request, metadata=sent)
        try:
            headers = await call.initial_metadata()  # sent once the server accepted the watch
            if call.done() and (code := await call.code()) != grpc.StatusCode.OK:
                return status_error(code, await call.details() or "")
        except grpc.aio.AioRpcError as exc:
            return rpc_error(exc)
        # Live only: tell the browser where live events begin, so that a reconnect before
        # the first event still resumes with no gap (an SSE id with no data sets it).
        start = b""
        if not request.HasField("after_position"):
            position = dict(headers or ()).get("dwe-position", "")
            start = b"id: %s\n\n" % position.encode() if position.isdigit() else b""
        return await self._pump(http, call, encode, start)

    async def _pump(
        self,
        http: web.Request,
        call: grpc.aio.UnaryStreamCall,
        encode: Callable[[bytes], tuple[int, bytes]],
        start: bytes,
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",  # nginx: do not hold events back
            }
        )
        await response.prepare(http)
        try:
            await response.write(b"retry: 1000\n\n" + start)
            await self._forward(call, response, encode)
        except grpc.aio.AioRpcError as exc:
            body = orjson.dumps({"code": exc.code().name, "message": exc.details() or ""})
            with contextlib.suppress(ConnectionError):
                await response.write(b"event: error\ndata: %s\n\n" % body)
        except ConnectionError:
            pass  # the browser went away
        finally:
            call.cancel()
        return response

    async def _forward(
        self,
        call: grpc.aio.UnaryStreamCall,
        response: web.StreamResponse,
        encode: Callable[[bytes], tuple[int, bytes]],
    ) -> None:
        """Events as they come, a keepalive comment when there are none, until the call
        ends or the server closes."""
        closing = asyncio.ensure_future(self._closing.wait())
        reading: asyncio.Future[object] | None = None
        try:
            while True:
                # One read stays pending across keepalives: cancelling it would end the call.
                reading = reading or asyncio.ensure_future(call.read())
                done, _ = await asyncio.wait(
                    (reading, closing),
                    timeout=KEEPALIVE_SECONDS,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if closing in done:
                    return
                if reading not in done:
                    await response.write(b": keepalive\n\n")
                    continue
                message, reading = reading.result(), None
                if message is grpc.aio.EOF:
                    return
                assert isinstance(message, bytes)
                await response.write(_message(message, encode))
        finally:
            closing.cancel()
            if reading is not None:
                reading.cancel()
