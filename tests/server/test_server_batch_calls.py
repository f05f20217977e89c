"""CreateWorkflows and ExecuteWorkflows: each item as its single call, over one call.

Real server, real gRPC; the agent runs in-process through the Python SDK.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import grpc
import pytest

from dwe.clients import DynamicWorkflowEngine
from dwe.clients._common import create_request, execute_request
from dwe.clients.errors import NotFoundError, ValidationError
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.server.app import DweServer
from dwe.v1 import enums_pb2, workflow_pb2

from ..conftest import WAIT, wait_for
from ..support.specs import DIAMOND
from .helpers import name_of, recording_agent, serving

CYCLE = [
    {"step_id": "a", "agent_capability": "analysis", "dependencies": ["b"]},
    {"step_id": "b", "agent_capability": "analysis", "dependencies": ["a"]},
]
CAPS = ["data_fetch", "analysis", "memory", "recommendation"]


def diamond(name: str = "batch") -> workflow_pb2.WorkflowSpec:
    return build_workflow_spec(name, DIAMOND)


async def test_create_workflows_answers_each_item_in_order(client: DweClient) -> None:
    first = create_request(diamond("one"), "key-1")
    bad = create_request(build_workflow_spec("bad", CYCLE), None)
    again = create_request(diamond("one again"), "key-1")
    third = create_request(diamond("three"), None)
    created, failed, repeated, last = await client.create_workflows([first, bad, again, third])
    assert not isinstance(created, Exception) and created.created
    assert created.status.state == enums_pb2.WORKFLOW_STATE_PENDING
    assert len(created.status.steps) == 4
    # The bad item fails alone, with CreateWorkflow's own error and message.
    assert isinstance(failed, ValidationError)
    with pytest.raises(ValidationError) as single:
        await client.create_workflow(build_workflow_spec("bad", CYCLE))
    assert str(failed) == str(single.value) and "a -> b -> a" in str(failed)
    assert not isinstance(repeated, Exception) and not repeated.created
    assert repeated.workflow_id == created.workflow_id
    assert not isinstance(last, Exception) and last.created
    listed = await client.list_workflows(page_size=50)
    assert sorted(w.name for w in listed.workflows) == ["one", "three"]  # nothing of "bad"


@pytest.mark.parametrize("count", [0, 1001])
async def test_a_batch_outside_1_to_1000_is_invalid_argument(client: DweClient, count: int) -> None:
    requests = [create_request(diamond(), None)] * count
    with pytest.raises(ValidationError, match="requests: "):
        await client.create_workflows(requests)
    with pytest.raises(ValidationError, match="workflows: "):
        async for _ in client.execute_workflows([execute_request("x", None, None)] * count):
            pass


async def test_execute_workflows_streams_each_workflow_to_its_end(
    server: DweServer, client: DweClient
) -> None:
    made = await client.create_workflows([create_request(diamond(), None) for _ in range(6)])
    ids = [r.workflow_id for r in made if not isinstance(r, Exception)]
    requests = [execute_request(wid, {"n": i}, f"s{i}") for i, wid in enumerate(ids)]
    requests.insert(2, execute_request("no-such-workflow", None, None))
    events: dict[str, list[Any]] = collections.defaultdict(list)
    errors = []
    agent = recording_agent([], capabilities=CAPS, max_concurrent_tasks=8)
    async with serving(server.address, agent):
        async for response in client.execute_workflows(requests):
            assert not (response.errors and events), "errors come before any event"
            errors.extend(response.errors)
            for event in response.events:
                events[event.workflow_id].append(event)
    assert [(e.workflow_id, e.code) for e in errors] == [
        ("no-such-workflow", grpc.StatusCode.NOT_FOUND.value[0])
    ]
    assert errors[0].message == "workflow 'no-such-workflow' not found"
    assert sorted(events) == sorted(ids)
    for i, wid in enumerate(ids):
        seen = events[wid]
        assert [e.seq for e in seen] == list(range(1, len(seen) + 1))
        assert name_of(seen[-1]) == "workflow_completed"
        assert seen[0].workflow_started.session_id == f"s{i}"


async def test_a_workflow_started_elsewhere_is_its_items_error_and_not_followed(
    server: DweServer, client: DweClient
) -> None:
    made = await client.create_workflows([create_request(diamond(), None) for _ in range(2)])
    running, mine = (r.workflow_id for r in made if not isinstance(r, Exception))
    await client.start_workflow(running)
    seen: set[str] = set()
    errors = []
    agent = recording_agent([], capabilities=CAPS, max_concurrent_tasks=8)
    async with serving(server.address, agent):
        stream = client.execute_workflows(
            [execute_request(running, None, None), execute_request(mine, None, None)]
        )
        async for response in stream:
            errors.extend(response.errors)
            seen.update(e.workflow_id for e in response.events)
    assert [e.workflow_id for e in errors] == [running]
    assert errors[0].code == grpc.StatusCode.FAILED_PRECONDITION.value[0]
    assert seen == {mine}


async def test_a_workflow_id_twice_in_one_call_is_invalid_argument(client: DweClient) -> None:
    made = await client.create_workflow(diamond())
    twice = [execute_request(made.workflow_id, None, None)] * 2
    with pytest.raises(ValidationError, match=r"workflows\[1\]\.workflow_id .* is given twice"):
        async for _ in client.execute_workflows(twice):
            pass
    status = await client.get_workflow_status(made.workflow_id)
    assert status.state == enums_pb2.WORKFLOW_STATE_PENDING  # nothing was started


async def test_the_guide_api_batches_concurrent_calls_and_keeps_each_callers_result(
    server: DweServer,
) -> None:
    engine = DynamicWorkflowEngine(server.address)
    client = engine._client()
    calls: collections.Counter[str] = collections.Counter()
    for name in ("create_workflow", "create_workflows", "execute_workflow", "execute_workflows"):
        method = getattr(client, name)
        setattr(client, name, _counted(calls, name, method))

    async def one(i: int) -> list[str]:
        workflow = await engine.create_workflow(f"guide {i}", steps=DIAMOND)
        return [e["event"] async for e in engine.execute_workflow(workflow)]

    agent = recording_agent([], capabilities=CAPS, max_concurrent_tasks=16)
    try:
        async with serving(server.address, agent):
            runs = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(40))), WAIT)
            alone = await one(99)  # a lone caller uses the single calls
            with pytest.raises(ValidationError) as bad:
                await asyncio.gather(
                    engine.create_workflow("ok", steps=DIAMOND),
                    engine.create_workflow("cyclic", steps=CYCLE),
                )
            with pytest.raises(NotFoundError):
                async for _ in engine.execute_workflow("no-such-workflow"):
                    pass
            # Two callers executing one workflow: as with two single calls, one runs it.
            pending = await engine.create_workflow("twice", steps=DIAMOND)
            twice = await asyncio.gather(
                _drain(engine, pending), _drain(engine, pending.workflow_id), return_exceptions=True
            )
    finally:
        await engine.aclose()
    for events in [*runs, alone]:
        assert events[0] == "workflow_started" and events[-1] == "workflow_completed"
        assert len(events) == 10
    assert "a -> b -> a" in str(bad.value)
    assert sorted(type(r).__name__ for r in twice) == ["FailedPreconditionError", "NoneType"]
    # The 40 together made a handful of batch calls; the lone ones, single calls.
    assert 1 <= calls["create_workflows"] <= 4 and 1 <= calls["execute_workflows"] <= 4
    assert 1 <= calls["create_workflow"] <= 4 and 1 <= calls["execute_workflow"] <= 4


async def _drain(engine: DynamicWorkflowEngine, workflow: Any) -> None:
    async for _ in engine.execute_workflow(workflow):
        pass


def _counted(calls: collections.Counter[str], name: str, method: Any) -> Any:
    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return method(*args, **kwargs)

    return counted


async def test_callers_that_stop_following_close_the_shared_stream(server: DweServer) -> None:
    """With no agent the runs never end; once every caller has left, the stream closes."""
    engine = DynamicWorkflowEngine(server.address)

    async def first_event_only(i: int) -> str:
        workflow = await engine.create_workflow(f"left {i}", steps=DIAMOND)
        async for event in engine.execute_workflow(workflow):
            assert event["event"] == "workflow_started"
            break
        return workflow.workflow_id

    try:
        ids = await asyncio.gather(*(first_event_only(i) for i in range(3)))
        c = server.coordinator
        await wait_for(lambda: all(c.subscribers(w) == 0 for w in ids), what="stream closed")
        for wid in ids:  # leaving a stream leaves the workflow running
            status = await engine.get_workflow_status_async(wid)
            assert status is not None and status["state"] == "running"
    finally:
        await engine.aclose()
