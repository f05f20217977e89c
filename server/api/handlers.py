"""gRPC method handlers for our services, with pre-encoded event streams.

Event streams (ExecuteWorkflow, WatchWorkflow, WatchEvents) yield ready-made
bytes: each event is serialised once, framed as field 1 of the response
(``repeated WorkflowEvent events = 1``), and the frames of a batch are joined.
A response built with ``Response(events=[...])`` would copy every event
message per subscriber; with many streams that copy is a visible share of the
server's time. The wire format is unchanged, so clients and reflection see the
ordinary messages.

Requests are decoded by :func:`decoder`, which never raises: bytes that are not
a valid request (garbage, truncated, invalid UTF-8 in a string) become an
:class:`Undecodable` marker, which the wrappers in ``errors.py`` and the agent
stream answer with INVALID_ARGUMENT and one log line. Left to gRPC, a decoding
error would be UNKNOWN with a traceback per request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import grpc
from google.protobuf import message, message_factory

from dwe.v1 import service_pb2

EVENT_STREAMS = frozenset({"ExecuteWorkflow", "ExecuteWorkflows", "WatchWorkflow", "WatchEvents"})


def _raw(data: bytes) -> bytes:
    return data


class Undecodable:
    """Stands in for a request whose bytes did not decode."""

    __slots__ = ("reason", "type_name")

    def __init__(self, type_name: str, reason: str) -> None:
        self.type_name = type_name
        self.reason = reason

    @property
    def message(self) -> str:
        return f"request is not a valid {self.type_name}: {self.reason}"


def decoder(cls: Any) -> Callable[[bytes], Any]:
    """``cls.FromString`` that returns an :class:`Undecodable` instead of raising."""
    name = cls.DESCRIPTOR.full_name
    from_string = cls.FromString

    def decode(data: bytes) -> Any:
        try:
            return from_string(data)
        except message.DecodeError as exc:
            # "Error parsing message with type 'X': Wire format was corrupt" -> the cause.
            reason = str(exc).rpartition("': ")[2] or "cannot be decoded"
            return Undecodable(name, reason[:1].lower() + reason[1:])

    return decode


def generic_handler(service_name: str, servicer: Any) -> grpc.GenericRpcHandler:
    """A handler for every method of ``service_name`` implemented by ``servicer``."""
    service = service_pb2.DESCRIPTOR.services_by_name[service_name]
    handlers = {}
    for method in service.methods:
        request = message_factory.GetMessageClass(method.input_type)
        response = message_factory.GetMessageClass(method.output_type)
        fn = getattr(servicer, method.name)
        serialize = _raw if method.name in EVENT_STREAMS else response.SerializeToString
        if method.client_streaming and method.server_streaming:
            make = grpc.stream_stream_rpc_method_handler
        elif method.server_streaming:
            make = grpc.unary_stream_rpc_method_handler
        elif method.client_streaming:
            make = grpc.stream_unary_rpc_method_handler
        else:
            make = grpc.unary_unary_rpc_method_handler
        handlers[method.name] = make(
            fn, request_deserializer=decoder(request), response_serializer=serialize
        )
    return grpc.method_handlers_generic_handler(service.full_name, handlers)


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def frame(encoded_event: bytes) -> bytes:
    """One ``events`` entry (field 1, length-delimited) of a stream response."""
    return b"\x0a" + _varint(len(encoded_event)) + encoded_event


def joined(frames: Iterable[bytes], budget: int) -> Iterator[bytes]:
    """Frames joined into responses of at most ``budget`` bytes each, in order.

    A frame over the budget on its own (only an event stored before the limits
    existed) is sent alone.
    """
    if not isinstance(frames, list):
        frames = list(frames)
    if sum(map(len, frames)) <= budget:  # the common case: one response
        yield b"".join(frames)
        return
    batch: list[bytes] = []
    size = 0
    for f in frames:
        if batch and size + len(f) > budget:
            yield b"".join(batch)
            batch, size = [], 0
        batch.append(f)
        size += len(f)
    if batch:
        yield b"".join(batch)
