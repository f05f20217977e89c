"""Raw-bytes calls to every dwe.v1 method over a real channel, and store row counts."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from dwe.server.app import DweServer
from dwe.v1 import service_pb2
from tests.support import db

from ..conftest import WAIT

#: (service, method) for each of the 14 methods of the three dwe services.
METHODS = [
    (service.name, method.name)
    for service in service_pb2.DESCRIPTOR.services_by_name.values()
    for method in service.methods
]


def path_of(service: str, method: str) -> str:
    return f"/dwe.v1.{service}/{method}"


def method_descriptor(service: str, method: str):  # type: ignore[no-untyped-def]
    return service_pb2.DESCRIPTOR.services_by_name[service].methods_by_name[method]


def _identity(data: bytes) -> bytes:
    return data


async def call_raw(
    channel: grpc.aio.Channel, service: str, method: str, data: bytes
) -> grpc.aio.AioRpcError | None:
    """Send ``data`` undecoded as the (first) request; the error it ends with, or None.

    Streams are read to their end; Connect sends ``data`` as its only message and
    then half-closes.
    """
    m = method_descriptor(service, method)
    path = path_of(service, method)
    try:
        if m.client_streaming:
            call = channel.stream_stream(path, _identity, _identity)(timeout=WAIT)
            await call.write(data)
            await call.done_writing()
            async for _ in call:
                pass
        elif m.server_streaming:
            async for _ in channel.unary_stream(path, _identity, _identity)(data, timeout=WAIT):
                pass
        else:
            await channel.unary_unary(path, _identity, _identity)(data, timeout=WAIT)
    except grpc.aio.AioRpcError as exc:
        return exc
    return None


async def healthy(channel: grpc.aio.Channel) -> bool:
    reply = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=""), timeout=WAIT
    )
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


TABLES = ("workflows", "steps", "events", "agents")


async def writer_idle(server: DweServer) -> None:
    """Wait for the commit in progress, if any: a no-op queued on the store's writer thread
    runs after it. Call it after a round trip, so that a commit the input asked for has
    been handed to the writer."""
    writer_thread = server.coordinator._commit._writer
    await asyncio.get_running_loop().run_in_executor(writer_thread, lambda: None)


def row_counts(db_path: str) -> dict[str, int]:
    """Rows per table, read through a read-only connection to the test's database."""
    return {t: db.count(db_path, t) for t in TABLES}
