"""PruneWorkflows on a running server (real gRPC, real SQLite): only ended workflows go,
with every row they own; live ones and their events stay; pruned ids are NOT_FOUND."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from dwe.agent_sdk import Agent, NonRetryableError, Task
from dwe.clients.errors import NotFoundError, ValidationError
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.server.app import DweServer
from dwe.v1 import enums_pb2
from dwe.v1 import request_response_pb2 as rr
from tests.support import db

from ..conftest import MakeServer
from .helpers import serving

TABLES = ("workflows", "steps", "events", "pipe_records")
S = enums_pb2


def rows_of(server: DweServer, workflow_id: str) -> dict[str, int]:
    return {
        t: db.count(
            server.config.db_path,
            t,
            f"{'id' if t == 'workflows' else 'workflow_id'}=?",
            (workflow_id,),
        )
        for t in TABLES
    }


def agent() -> Agent:
    a = Agent("pruner-peer", capabilities=["work", "fail"], max_concurrent_tasks=4)

    @a.handler("work")
    async def work(task: Task) -> dict[str, Any]:
        return {"step": task.step_id}

    @a.handler("fail")
    async def fail(task: Task) -> dict[str, Any]:
        raise NonRetryableError("boom")

    return a


async def run_to_end(client: DweClient, capability: str, stream: bool = False) -> str:
    mode = "pipeline" if stream else "parallel"
    steps = [
        {"step_id": "a", "agent_capability": capability},
        {"step_id": "b", "agent_capability": capability, "dependencies": ["a"]},
    ]
    created = await client.create_workflow(build_workflow_spec("w", steps, execution_mode=mode))
    async for _ in client.execute_workflow(created.workflow_id):
        pass
    return created.workflow_id


async def state(client: DweClient, workflow_id: str) -> int:
    return (await client.get_workflow_status(workflow_id)).state


async def test_prune_removes_only_ended_workflows_with_their_rows(
    make_server: MakeServer,
) -> None:
    server = await make_server(max_concurrent_workflows=1)
    async with DweClient(server.address) as client:
        async with serving(server.address, agent()):
            completed = await run_to_end(client, "work")
            piped = await run_to_end(client, "work", stream=True)
            failed = await run_to_end(client, "fail")
        spec = build_workflow_spec("live", [{"step_id": "a", "agent_capability": "nobody"}])
        cancelled = (await client.create_workflow(spec)).workflow_id
        await client.cancel_workflow(cancelled)
        running = (await client.create_workflow(spec, "req-running")).workflow_id
        await client.start_workflow(running)
        queued = (await client.create_workflow(spec)).workflow_id
        await client.start_workflow(queued)
        pending = (await client.create_workflow(spec)).workflow_id
        ended = {completed: S.WORKFLOW_STATE_COMPLETED, piped: S.WORKFLOW_STATE_COMPLETED}
        ended |= {failed: S.WORKFLOW_STATE_FAILED, cancelled: S.WORKFLOW_STATE_CANCELLED}
        live = {running: S.WORKFLOW_STATE_RUNNING, queued: S.WORKFLOW_STATE_QUEUED}
        live[pending] = S.WORKFLOW_STATE_PENDING
        for workflow_id, want in (ended | live).items():
            assert await state(client, workflow_id) == want
        before = {w: rows_of(server, w) for w in ended | live}
        assert before[piped]["pipe_records"] > 0
        events = sum(before[w]["events"] for w in ended)

        nothing = await client.prune_workflows(3600.0)  # all of them ended just now
        dry = await client.prune_workflows(0.0, dry_run=True)
        assert (nothing.workflows, nothing.events) == (0, 0)
        assert (dry.workflows, dry.events) == (len(ended), events)
        assert {w: rows_of(server, w) for w in ended | live} == before  # nothing deleted

        pruned = await client.prune_workflows(0.0)

        assert (pruned.workflows, pruned.events) == (len(ended), events)
        for workflow_id in ended:
            assert rows_of(server, workflow_id) == dict.fromkeys(TABLES, 0)
            with pytest.raises(NotFoundError):
                await client.get_workflow_status(workflow_id)
            with pytest.raises(NotFoundError):
                async for _ in client.watch_workflow(workflow_id):
                    pass
        for workflow_id, want in live.items():
            assert rows_of(server, workflow_id) == before[workflow_id]
            assert await state(client, workflow_id) == want
        listed = {w.workflow_id for w in (await client.list_workflows()).workflows}
        assert listed == set(live)
        assert (await client.create_workflow(spec, "req-running")).workflow_id == running
        again = await client.prune_workflows(0.0)
        assert (again.workflows, again.events) == (0, 0)


async def test_the_live_workflows_go_on_after_a_prune(server: DweServer, client: DweClient) -> None:
    spec = build_workflow_spec("w", [{"step_id": "a", "agent_capability": "work"}])
    running = (await client.create_workflow(spec)).workflow_id
    await client.start_workflow(running)
    assert (await client.prune_workflows(0.0)).workflows == 0
    async with serving(server.address, agent()):
        async for event in client.watch_workflow(running):
            last = event
    assert last.type == S.EVENT_TYPE_WORKFLOW_COMPLETED
    assert (await client.prune_workflows(0.0)).workflows == 1


@pytest.mark.parametrize(
    ("seconds", "fragment"),
    [
        (-1.0, "older_than must not be negative"),
        (200 * 365 * 86400.0, "older_than of 6307200000 s exceeds the maximum"),
    ],
)
async def test_a_bad_older_than_is_invalid_argument(
    client: DweClient, seconds: float, fragment: str
) -> None:
    with pytest.raises(ValidationError, match=fragment):
        await client.prune_workflows(seconds)


async def test_older_than_is_required(server: DweServer) -> None:
    async with grpc.aio.insecure_channel(server.address) as channel:
        call = channel.unary_unary(
            "/dwe.v1.EngineService/PruneWorkflows",
            request_serializer=rr.PruneWorkflowsRequest.SerializeToString,
            response_deserializer=rr.PruneWorkflowsResponse.FromString,
        )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(rr.PruneWorkflowsRequest(dry_run=True))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "older_than is required" in (err.value.details() or "")
