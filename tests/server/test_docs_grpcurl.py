"""Every grpcurl line in docs/protocol.md, run as grpcurl would run it: the method and the
message types come from the server's reflection service (no generated stubs), the JSON
is proto3 JSON, and every call must succeed."""

from __future__ import annotations

import asyncio
import re
import shlex
from typing import Any

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.message import Message
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from dwe.agent_sdk import Agent, Task
from dwe.server.app import DweServer

from ..conftest import ROOT, WAIT
from .helpers import serving

DOC = ROOT / "docs" / "protocol.md"


def doc_commands() -> list[list[str]]:
    """The grpcurl command lines of the doc, as argument lists."""
    lines = [line for line in DOC.read_text().splitlines() if line.startswith("grpcurl ")]
    return [shlex.split(line) for line in lines]


class ReflectionClient:
    """Resolves ``package.Service/Method`` through server reflection, like grpcurl."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._db = ProtoReflectionDescriptorDatabase(channel)
        self._pool = descriptor_pool.DescriptorPool(self._db)

    def services(self) -> list[str]:
        return sorted(self._db.get_services())

    def method(self, full: str) -> tuple[Any, type[Message], type[Message]]:
        service, name = full.split("/")
        method = self._pool.FindServiceByName(service).methods_by_name[name]
        request = message_factory.GetMessageClass(method.input_type)
        response = message_factory.GetMessageClass(method.output_type)
        return method, request, response


def _options(args: list[str]) -> tuple[str, float | None, str]:
    """(the -d JSON, the -max-time seconds, the method) of one grpcurl command."""
    data, max_time = "", None
    i = 1
    while i < len(args) - 2:
        if args[i] == "-d":
            data, i = args[i + 1], i + 2
        elif args[i] == "-max-time":
            max_time, i = float(args[i + 1]), i + 2
        else:
            i += 1
    return data, max_time, args[-1]


def _call(
    channel: grpc.Channel,
    reflection: ReflectionClient,
    data: str,
    max_time: float | None,
    full: str,
) -> list[dict[str, Any]]:
    """One call, in grpcurl's way; the responses as JSON dicts."""
    method, req_cls, resp_cls = reflection.method(full)
    request = json_format.Parse(data or "{}", req_cls())
    path = f"/{full}"
    kw = {
        "request_serializer": req_cls.SerializeToString,
        "response_deserializer": resp_cls.FromString,
    }
    timeout = max_time or WAIT
    out: list[Message] = []
    try:
        if method.client_streaming:
            out = list(channel.stream_stream(path, **kw)(iter([request]), timeout=timeout))
        elif method.server_streaming:
            out = list(channel.unary_stream(path, **kw)(request, timeout=timeout))
        else:
            out = [channel.unary_unary(path, **kw)(request, timeout=timeout)]
    except grpc.RpcError as exc:
        if max_time is None or exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
            raise AssertionError(f"{full} {data}: {exc.code()} {exc.details()}") from exc
    return [json_format.MessageToDict(m) for m in out]


def _run_all(address: str) -> list[tuple[str, list[dict[str, Any]]]]:
    done: list[tuple[str, list[dict[str, Any]]]] = []
    with grpc.insecure_channel(address) as channel:
        reflection = ReflectionClient(channel)
        workflow_id = ""
        for args in doc_commands():
            assert args[:2] == ["grpcurl", "-plaintext"], args
            if args[-1] == "list":
                done.append(("list", [{"services": reflection.services()}]))
                continue
            data, max_time, full = _options(args)
            data = data.replace("WORKFLOW_ID", workflow_id)
            replies = _call(channel, reflection, data, max_time, full)
            if full.endswith("/CreateWorkflow"):
                workflow_id = replies[0]["workflowId"]
            elif full.endswith("/CreateWorkflows"):
                workflow_id = replies[0]["results"][0]["created"]["workflowId"]
            done.append((full, replies))
    return done


async def test_every_grpcurl_example_in_the_protocol_doc_works(server: DweServer) -> None:
    agent = Agent("docs-analysis", capabilities=["analysis"], max_concurrent_tasks=4)

    @agent.handler("analysis")
    async def analyse(task: Task) -> dict[str, Any]:
        return {"step": task.step_id, "context": task.context}

    async with serving(server.address, agent):
        done = await asyncio.to_thread(_run_all, server.address)
    methods = {name.rsplit("/", 1)[-1] for name, _ in done}
    contract = set()
    for service in ("WorkflowService", "AgentService", "EngineService"):
        # Off the event loop: the server under test answers on it.
        found = await asyncio.to_thread(reflection_methods, server.address, f"dwe.v1.{service}")
        contract |= {m.name for m in found}
    assert contract <= methods, f"no example for {sorted(contract - methods)}"
    replies = dict(done)
    assert "grpc.reflection.v1.ServerReflection" in replies["list"][0]["services"]
    batch = replies["dwe.v1.WorkflowService/ExecuteWorkflows"]
    kinds = [e["type"] for message in batch for e in message.get("events", [])]
    assert kinds[-1] == "EVENT_TYPE_WORKFLOW_COMPLETED"
    watched = replies["dwe.v1.WorkflowService/WatchWorkflow"]
    kinds = [e["type"] for batch in watched for e in batch["events"]]
    assert kinds[-1] == "EVENT_TYPE_WORKFLOW_COMPLETED"
    executed = replies["dwe.v1.WorkflowService/ExecuteWorkflow"]
    assert [e for b in executed for e in b["events"]][-1]["type"] == "EVENT_TYPE_WORKFLOW_COMPLETED"
    (welcome,) = replies["dwe.v1.AgentService/Connect"]
    assert welcome["welcome"]["maxPayloadBytes"] == str(2 * 1024 * 1024)
    assert re.fullmatch(r"[0-9a-f]{32}", welcome["welcome"]["sessionId"])


def reflection_methods(address: str, service: str) -> list[Any]:
    with grpc.insecure_channel(address) as channel:
        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        return list(pool.FindServiceByName(service).methods)
