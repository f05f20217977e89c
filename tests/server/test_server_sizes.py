"""Message and payload sizes are bounded (issue 7, fault 3): payloads over the limit are
refused with RESOURCE_EXHAUSTED, and nothing the server sends is larger than its
advertised message limit, so clients on gRPC's 4 MiB default can read every answer."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from dwe.agent_sdk import Agent, Task
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.server.app import DweServer
from dwe.v1 import agent_pb2, common_pb2, enums_pb2, service_pb2_grpc
from dwe.v1 import request_response_pb2 as rr

from ..conftest import WAIT, MakeServer, wait_for
from .helpers import connect_raw_agent, name_of, serving
from .raw import row_counts, writer_idle

MIB = 1024 * 1024
#: gRPC's default receive limit: the clients below accept no more than this.
DEFAULT_RECEIVE = [("grpc.max_receive_message_length", 4 * MIB)]
CAP = "sizes"


def _blob(n: int) -> str:
    return "x" * n


def _agent(handle: Any, agent_id: str = "sizer", slots: int = 1) -> Agent:
    agent = Agent(
        agent_id, capabilities=[CAP], max_concurrent_tasks=slots, channel_options=DEFAULT_RECEIVE
    )
    agent.handler(CAP)(handle)
    return agent


async def _run(client: DweClient, steps: list[dict[str, Any]], **kw: Any) -> list[Any]:
    created = await client.create_workflow(build_workflow_spec("sizes", steps, **kw))
    return [e async for e in client.execute_workflow(created.workflow_id)]


def _step(step_id: str, *deps: str, **extra: Any) -> dict[str, Any]:
    return {"step_id": step_id, "agent_capability": CAP, "dependencies": list(deps), **extra}


async def test_context_over_the_payload_limit_is_refused_and_stores_nothing(
    server: DweServer,
) -> None:
    before = row_counts(server.config.db_path)
    spec = build_workflow_spec("big", [_step("a")], context={"blob": _blob(3 * MIB)})
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = service_pb2_grpc.WorkflowServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.CreateWorkflow(rr.CreateWorkflowRequest(spec=spec), timeout=WAIT)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    details = info.value.details() or ""
    assert "spec.context is 3.0 MiB" in details
    assert "over the payload limit of 2.0 MiB" in details and "--max-payload-bytes" in details
    await writer_idle(server)
    assert row_counts(server.config.db_path) == before


async def test_a_fifty_megabyte_context_is_refused_by_the_message_limit(
    server: DweServer, client: DweClient
) -> None:
    before = row_counts(server.config.db_path)
    spec = build_workflow_spec("huge", [_step("a")], context={"blob": _blob(50 * 1000 * 1000)})
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = service_pb2_grpc.WorkflowServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.CreateWorkflow(rr.CreateWorkflowRequest(spec=spec), timeout=WAIT)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, info.value.details()
    # The server is alive and stored nothing.
    created = await client.create_workflow(build_workflow_spec("small", [_step("a")]))
    assert created.created
    await writer_idle(server)
    after = row_counts(server.config.db_path)
    assert after["workflows"] == before["workflows"] + 1


async def test_a_start_context_that_makes_the_context_too_large_is_refused(
    server: DweServer, client: DweClient
) -> None:
    spec = build_workflow_spec("merge", [_step("a")], context={"one": _blob(MIB + MIB // 2)})
    created = await client.create_workflow(spec)
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = service_pb2_grpc.WorkflowServiceStub(channel)
        extra = common_pb2.Payload(encoding="json/plain", data=b'{"two": "%s"}' % (b"y" * MIB))
        request = rr.StartWorkflowRequest(workflow_id=created.workflow_id, context=extra)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.StartWorkflow(request, timeout=WAIT)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "merged in is" in (info.value.details() or "")
    status = await client.get_workflow_status(created.workflow_id)
    assert status.state == enums_pb2.WORKFLOW_STATE_PENDING  # unchanged, still startable


async def test_ready_steps_are_sent_in_messages_a_default_agent_can_read(
    server: DweServer, client: DweClient
) -> None:
    """Three ready steps with a 1.9 MiB context each: over 4 MiB together, so the server
    sends them in several messages, and an agent on gRPC's default limit reads them all."""
    spec = build_workflow_spec(
        "wide", [_step("a"), _step("b"), _step("c")], context={"blob": _blob(MIB * 19 // 10)}
    )
    async with grpc.aio.insecure_channel(server.address) as channel:  # 4 MiB by default
        call = service_pb2_grpc.AgentServiceStub(channel).Connect()
        hello = agent_pb2.Hello(agent_id="three", capabilities=[CAP], max_concurrent_tasks=3)
        await call.write(agent_pb2.ConnectRequest(hello=hello))
        assert (await asyncio.wait_for(call.read(), WAIT)).HasField("welcome")
        created = await client.create_workflow(spec)
        await client.start_workflow(created.workflow_id)
        got: list[agent_pb2.Assignment] = []
        messages = 0
        while len(got) < 3:
            got.extend((await asyncio.wait_for(call.read(), WAIT)).assignments)
            messages += 1
        assert messages >= 2
        output = common_pb2.Payload(encoding="json/plain", data=b"{}")
        results = [agent_pb2.StepResult(attempt_id=a.attempt_id, output=output) for a in got]
        await call.write(agent_pb2.ConnectRequest(results=results))
        events = [e async for e in client.watch_workflow(created.workflow_id)]
        await call.done_writing()
    assert name_of(events[-1]) == "workflow_completed"


async def test_an_assignment_larger_than_any_message_fails_its_step_without_retry(
    server: DweServer,
) -> None:
    async def handle(task: Task) -> str:
        return _blob(MIB + MIB // 2) if task.step_id != "join" else "joined"

    steps = [_step("a"), _step("b"), _step("join", "a", "b", retry_count=3)]
    async with serving(server.address, _agent(handle)), DweClient(server.address) as client:
        events = await _run(client, steps, context={"blob": _blob(MIB + MIB // 2)})
        # The agent's session survived: it still runs other work.
        after = await _run(client, [_step("small")])
    failed = [e for e in events if name_of(e) == "agent_error" and e.step_id == "join"]
    assert len(failed) == 1  # not retried
    error = failed[0].step_attempt_failed.error
    assert error.type == "PayloadTooLarge" and not error.retryable
    assert "the assignment (context and inputs) is 4.5 MiB" in error.message
    assert "--max-message-bytes" in error.message
    assert name_of(events[-1]) == "workflow_failed"
    assert name_of(after[-1]) == "workflow_completed"


async def test_an_output_over_the_payload_limit_fails_the_attempt_in_the_sdk(
    server: DweServer,
) -> None:
    async def handle(task: Task) -> str:
        return _blob(3 * MIB)

    async with serving(server.address, _agent(handle)), DweClient(server.address) as client:
        events = await _run(client, [_step("a", retry_count=3)])
    (failed,) = [e for e in events if name_of(e) == "agent_error"]
    error = failed.step_attempt_failed.error
    assert error.type == "PayloadTooLarge" and not error.retryable
    assert "the handler's output is 3145730 bytes" in error.message
    assert "payload limit of 2097152 bytes" in error.message
    assert name_of(events[-1]) == "workflow_failed"


async def test_a_raw_agent_output_over_the_limit_fails_the_attempt_on_the_server(
    server: DweServer, client: DweClient
) -> None:
    async with grpc.aio.insecure_channel(server.address) as channel:
        call, welcome = await connect_raw_agent(channel, "raw-big", [CAP])
        assert welcome.max_payload_bytes == 2 * MIB
        created = await client.create_workflow(build_workflow_spec("raw", [_step("a")]))
        await client.start_workflow(created.workflow_id)
        (assignment,) = (await asyncio.wait_for(call.read(), WAIT)).assignments
        output = common_pb2.Payload(encoding="json/plain", data=b'"' + b"z" * 3 * MIB + b'"')
        result = agent_pb2.StepResult(attempt_id=assignment.attempt_id, output=output)
        await call.write(agent_pb2.ConnectRequest(results=[result]))

        async def failed() -> bool:
            status = await client.get_workflow_status(created.workflow_id)
            return status.state == enums_pb2.WORKFLOW_STATE_FAILED

        await wait_for(failed, what="the run to fail")
        await call.done_writing()
    status = await client.get_workflow_status(created.workflow_id)
    assert status.steps[0].error.type == "PayloadTooLarge"
    assert "over the limit of 2097152 bytes (--max-payload-bytes)" in status.steps[0].error.message


async def test_progress_over_the_limit_raises_in_the_handler(server: DweServer) -> None:
    async def handle(task: Task) -> str:
        await task.stream("big", {"blob": _blob(3 * MIB)})
        return "unreachable"

    async with serving(server.address, _agent(handle)), DweClient(server.address) as client:
        events = await _run(client, [_step("a", retry_count=2)])
    (failed,) = [e for e in events if name_of(e) == "agent_error"]
    assert failed.step_attempt_failed.error.type == "PayloadTooLarge"
    assert not failed.step_attempt_failed.error.retryable


async def test_large_events_reach_a_watcher_with_the_default_limit(server: DweServer) -> None:
    """Three 1.9 MiB progress events: one replay batch would be 5.7 MiB; live and
    replayed, they come in messages a 4 MiB client reads."""

    async def handle(task: Task) -> str:
        for i in range(3):
            await task.stream(f"part {i}", {"blob": _blob(MIB * 19 // 10)})
        return "done"

    async with (
        serving(server.address, _agent(handle)),
        DweClient(server.address, options=DEFAULT_RECEIVE) as client,
    ):
        live = await _run(client, [_step("a")])
        wid = live[0].workflow_id
        replayed = [e async for e in client.watch_workflow(wid, after_seq=0)]
    assert [e.seq for e in replayed] == [e.seq for e in live]
    assert [e.seq for e in live] == list(range(1, len(live) + 1))
    streamed = [e for e in replayed if name_of(e) == "agent_stream"]
    assert [e.step_streamed.content for e in streamed] == ["part 0", "part 1", "part 2"]


async def test_a_status_too_large_for_one_message_leaves_the_last_steps_out(
    server: DweServer,
) -> None:
    """10,000 steps with 200-character ids: the status would be 4.2 MB; CreateWorkflow
    and GetWorkflowStatus answer within 4 MiB and say how many steps they left out."""
    steps = [{"step_id": f"{i:05d}" + "s" * 195, "agent_capability": CAP} for i in range(10_000)]
    async with DweClient(server.address, options=DEFAULT_RECEIVE) as client:
        created = await client.create_workflow(build_workflow_spec("wide", steps))
        assert created.created
        head = created.status
        assert head.omitted_steps > 0
        assert len(head.steps) + head.omitted_steps == 10_000
        assert [s.step_id for s in head.steps] == [s["step_id"] for s in steps[: len(head.steps)]]
        status = await client.get_workflow_status(created.workflow_id)
        assert len(status.steps) + status.omitted_steps == 10_000
        tail = [s["step_id"] for s in steps[-3:]]
        named = await client.get_workflow_status(created.workflow_id, step_ids=tail)
    assert [s.step_id for s in named.steps] == tail and named.omitted_steps == 0


async def test_outputs_are_left_out_of_a_status_before_steps_are(server: DweServer) -> None:
    async def handle(task: Task) -> str:
        return _blob(MIB + MIB // 2)

    steps = [_step("a"), _step("b"), _step("c")]
    async with (
        serving(server.address, _agent(handle)),
        DweClient(server.address, options=DEFAULT_RECEIVE) as client,
    ):
        events = await _run(client, steps)
        wid = events[0].workflow_id
        status = await client.get_workflow_status(wid)
        assert len(status.steps) == 3 and status.omitted_steps == 0
        omitted = [s.step_id for s in status.steps if s.output_omitted]
        assert omitted and all(not s.HasField("output") for s in status.steps if s.output_omitted)
        (alone,) = (await client.get_workflow_status(wid, step_ids=omitted[:1])).steps
    assert len(alone.output.data) == MIB + MIB // 2 + 2 and not alone.output_omitted


async def test_an_unknown_step_id_in_a_status_request_is_invalid(
    client: DweClient, server: DweServer
) -> None:
    created = await client.create_workflow(build_workflow_spec("one", [_step("a")]))
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = service_pb2_grpc.WorkflowServiceStub(channel)
        request = rr.GetWorkflowStatusRequest(workflow_id=created.workflow_id, step_ids=["zz"])
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.GetWorkflowStatus(request, timeout=WAIT)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "step_ids[0]: workflow" in (info.value.details() or "")
    assert "has no step 'zz'" in (info.value.details() or "")


async def test_the_server_advertises_its_limits(make_server: MakeServer) -> None:
    server = await make_server(max_message_bytes=8 * MIB, max_payload_bytes=5 * MIB)
    async with DweClient(server.address) as client:
        info = await client.get_server_info()
    assert (info.max_message_bytes, info.max_payload_bytes) == (8 * MIB, 5 * MIB)
    assert info.heartbeat_interval.ToTimedelta().total_seconds() == server.config.heartbeat_interval
    async with grpc.aio.insecure_channel(server.address) as channel:
        call, welcome = await connect_raw_agent(channel, "told", [CAP])
        await call.done_writing()
    assert (welcome.max_message_bytes, welcome.max_payload_bytes) == (8 * MIB, 5 * MIB)


async def test_list_agents_leaves_configs_out_before_entries(server: DweServer) -> None:
    async with DweClient(server.address, options=DEFAULT_RECEIVE) as client:
        for i in range(3):
            config = common_pb2.Payload(
                encoding="json/plain", data=b'{"blob": "%s"}' % (b"c" * (MIB * 19 // 10))
            )
            agent = agent_pb2.AgentInfo(agent_id=f"reg-{i}", capabilities=[CAP], config=config)
            await client.register_agent(agent)
        agents = await client.list_agents()
    assert [a.agent_id for a in agents] == ["reg-0", "reg-1", "reg-2"]
    assert any(a.config_omitted for a in agents)
    assert all(a.HasField("config") != a.config_omitted for a in agents)
