"""Health checking and reflection (both standard versions) are on, for every dwe service."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

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

    assert {
        "dwe.v1.WorkflowService",
        "dwe.v1.AgentService",
        "dwe.v1.EngineService",
        "grpc.health.v1.Health",
    } <= await _reflect(server, "grpc.reflection.v1alpha.ServerReflection", "list_services")


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
async def test_both_reflection_services_answer(server: DweServer, version: str) -> None:
    service = f"grpc.reflection.{version}.ServerReflection"
    names = await _reflect(server, service, "list_services")
    assert {"dwe.v1.WorkflowService", "grpc.reflection.v1.ServerReflection"} <= names
    assert "grpc.reflection.v1alpha.ServerReflection" in names
    files = await _reflect(server, service, "file_containing_symbol")
    assert "dwe/v1/service.proto" in files


async def _reflect(server: DweServer, service: str, ask_for: str) -> set[str]:
    """Ask one reflection service for the service list or the file of WorkflowService.

    v1 and v1alpha share their messages field for field, so the v1alpha classes
    encode requests to either; only the method path differs.
    """
    request = (
        reflection_pb2.ServerReflectionRequest(list_services="")
        if ask_for == "list_services"
        else reflection_pb2.ServerReflectionRequest(file_containing_symbol="dwe.v1.WorkflowService")
    )

    async def ask() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
        yield request

    async with grpc.aio.insecure_channel(server.address) as channel:
        call = channel.stream_stream(
            f"/{service}/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        async for response in call(ask()):
            if ask_for == "list_services":
                return {s.name for s in response.list_services_response.service}
            return {
                descriptor_pb2.FileDescriptorProto.FromString(raw).name
                for raw in response.file_descriptor_response.file_descriptor_proto
            }
    return set()
