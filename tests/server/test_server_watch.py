"""Watchers over real gRPC: one that falls too far behind is cut off with a clear status."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from dwe.agent_sdk import Agent, Task
from dwe.clients import FailedPreconditionError
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.server.app import DweServer
from dwe.v1 import request_response_pb2 as rr
from dwe.v1 import service_pb2_grpc

from ..conftest import WAIT, MakeServer, wait_for
from .helpers import name_of, serving

STEPS = [{"step_id": f"s{i}", "agent_capability": "analysis"} for i in range(5)]


async def test_watcher_past_its_backlog_gets_failed_precondition_and_can_resume(
    server: DweServer, client: DweClient
) -> None:
    """Starting five steps on a five-slot agent is one commit of six events
    (workflow_started and five agent_started), published at once: a subscription
    allowed two falls behind within that one publish, whatever its reader does."""
    hub = server.coordinator._hub
    usual, hub._backlog = hub._backlog, 2  # subscriptions from here on hold at most 2 events
    gate = asyncio.Event()
    agent = Agent("five", capabilities=["analysis"], max_concurrent_tasks=5)

    @agent.handler("analysis")
    async def hold(task: Task) -> dict:
        await gate.wait()
        return {}

    created = await client.create_workflow(build_workflow_spec("burst", STEPS))
    async with serving(server.address, agent):
        received = []

        async def watch() -> None:
            async for event in client.watch_events():
                received.append(event)

        watcher = asyncio.create_task(watch())
        await wait_for(lambda: server.coordinator.subscribers() == 1, what="watcher subscribed")
        await client.start_workflow(created.workflow_id)
        with pytest.raises(FailedPreconditionError) as cut:
            await asyncio.wait_for(watcher, WAIT)
        assert cut.value.details == "subscriber fell too far behind; watch again with after_seq"
        assert received == []
        # As the message says: watching again (with the usual backlog) misses nothing.
        hub._backlog = usual
        gate.set()
        events = [e async for e in client.watch_workflow(created.workflow_id, after_seq=0)]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [name_of(e) for e in events[:6]] == ["workflow_started"] + ["agent_started"] * 5
    assert name_of(events[-1]) == "workflow_completed"


async def test_a_watch_ended_by_shutdown_says_so_with_unavailable(make_server: MakeServer) -> None:
    """A stream the server ends while the run goes on is UNAVAILABLE with the reason, not
    a bare OK end that a client could take for the end of the run."""
    server = await make_server()
    async with DweClient(server.address) as client:
        spec = build_workflow_spec("held", [{"step_id": "a", "agent_capability": "nobody"}])
        created = await client.create_workflow(spec)
        await client.start_workflow(created.workflow_id)
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = service_pb2_grpc.WorkflowServiceStub(channel)
            call = stub.WatchWorkflow(rr.WatchWorkflowRequest(workflow_id=created.workflow_id))
            first = await asyncio.wait_for(call.read(), WAIT)  # the replay: subscribed
            assert first.events
            await server.stop(0.5)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                while await asyncio.wait_for(call.read(), WAIT) is not grpc.aio.EOF:
                    pass
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "server shutting down; watch again with after_seq" in (info.value.details() or "")
