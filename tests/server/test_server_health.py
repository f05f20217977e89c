"""Health checking and reflection are on, for every dwe service."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from dwe.server.app import DweServer


async def test_health_and_reflection(server: DweServer) -> None:
    async with grpc.aio.insecure_channel(server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in (
            "",
            "dwe.v1.WorkflowService",
            "dwe.v1.AgentService",
            "dwe.v1.EngineService",
        ):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING

        async def ask() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        async for response in stub.ServerReflectionInfo(ask()):
            names = {s.name for s in response.list_services_response.service}
            break
    assert {
        "dwe.v1.WorkflowService",
        "dwe.v1.AgentService",
        "dwe.v1.EngineService",
        "grpc.health.v1.Health",
    } <= names
