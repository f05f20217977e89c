"""The agent protocol's rules (issue 8), with a bare Connect stream: reports the server
does not accept are rejected on the stream, an unacknowledged assignment is taken back,
an unanswered Cancel frees its slot after a grace period, json/plain outputs are JSON."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from dwe.agent_sdk import Agent, Task
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.v1 import agent_pb2, common_pb2, enums_pb2

from ..conftest import WAIT, MakeServer, wait_for
from .helpers import connect_raw_agent, name_of, serving

CAP = "rules"
ONE = [{"step_id": "a", "agent_capability": CAP}]


async def _next(call: Any) -> agent_pb2.ConnectResponse:
    msg: agent_pb2.ConnectResponse = await asyncio.wait_for(call.read(), WAIT)
    return msg


async def _assigned(client: DweClient, call: Any, name: str = "rules") -> tuple[str, str]:
    created = await client.create_workflow(build_workflow_spec(name, ONE))
    await client.start_workflow(created.workflow_id)
    (assignment,) = (await _next(call)).assignments
    return created.workflow_id, assignment.attempt_id


def _json(data: bytes) -> common_pb2.Payload:
    return common_pb2.Payload(encoding="json/plain", data=data)


async def test_reports_about_attempts_the_session_does_not_hold_are_rejected(
    make_server: MakeServer,
) -> None:
    server = await make_server()
    async with (
        grpc.aio.insecure_channel(server.address) as channel,
        DweClient(server.address) as client,
    ):
        call, _ = await connect_raw_agent(channel, "rules", [CAP])
        wid, aid = await _assigned(client, call)
        await call.write(
            agent_pb2.ConnectRequest(
                started=["nope.0.1"],
                progress=[agent_pb2.StepProgress(attempt_id="nope.0.1", content="x")],
                results=[agent_pb2.StepResult(attempt_id="nope.0.1", output=_json(b"1"))],
            )
        )
        msg = await _next(call)
        assert [(r.attempt_id, r.kind) for r in msg.rejections] == [
            ("nope.0.1", "started"),
            ("nope.0.1", "progress"),
            ("nope.0.1", "result"),
        ]
        assert "not an attempt this session holds" in msg.rejections[0].reason
        # The stream stays open: the real attempt still completes, once; a repeat is refused.
        done = agent_pb2.StepResult(attempt_id=aid, output=_json(b'"ok"'))
        await call.write(agent_pb2.ConnectRequest(results=[done]))
        events = [e async for e in client.watch_workflow(wid)]
        await call.write(agent_pb2.ConnectRequest(results=[done]))
        again = await _next(call)
        assert [(r.attempt_id, r.kind) for r in again.rejections] == [(aid, "result")]
        await call.done_writing()
    assert name_of(events[-1]) == "workflow_completed"


async def test_an_unacknowledged_assignment_goes_to_another_agent(
    make_server: MakeServer,
) -> None:
    server = await make_server(ack_timeout=0.3)
    helper = Agent("helper", capabilities=[CAP])

    @helper.handler(CAP)
    async def work(task: Task) -> str:
        return f"done by {task.agent_id}"

    async with (
        grpc.aio.insecure_channel(server.address) as channel,
        DweClient(server.address) as client,
    ):
        call, _ = await connect_raw_agent(channel, "silent", [CAP])  # never acknowledges
        wid, aid = await _assigned(client, call)
        cancel = (await _next(call)).cancels[0]
        assert cancel.attempt_id == aid
        assert "acknowledged the assignment neither with started nor" in cancel.reason
        async with serving(server.address, helper):
            events = [e async for e in client.watch_workflow(wid)]
        await call.done_writing()
    assert name_of(events[-1]) == "workflow_completed"
    retried = [e for e in events if name_of(e) == "agent_retrying"]
    assert len(retried) == 1 and "within 0.3s" in retried[0].step_retrying.reason
    assert [e.agent_id for e in events if name_of(e) == "agent_completed"] == ["helper"]


async def test_an_unanswered_cancel_frees_the_slot_after_the_grace(
    make_server: MakeServer,
) -> None:
    server = await make_server(cancel_grace=0.3)
    async with (
        grpc.aio.insecure_channel(server.address) as channel,
        DweClient(server.address) as client,
    ):
        call, _ = await connect_raw_agent(channel, "one-slot", [CAP])
        first, aid = await _assigned(client, call, "first")
        await call.write(agent_pb2.ConnectRequest(started=[aid]))
        await client.cancel_workflow(first, "enough")
        assert (await _next(call)).cancels[0].attempt_id == aid  # not answered on purpose
        second, next_aid = await _assigned(client, call, "second")  # the slot came back
        assert next_aid.startswith(second)
        metrics = await client.get_engine_metrics()
        assert metrics.cancels_unanswered == 1
        call.cancel()


async def test_an_output_that_is_not_json_fails_the_attempt(make_server: MakeServer) -> None:
    server = await make_server()
    async with (
        grpc.aio.insecure_channel(server.address) as channel,
        DweClient(server.address) as client,
    ):
        call, _ = await connect_raw_agent(channel, "broken", [CAP])
        wid, aid = await _assigned(client, call)
        bad = agent_pb2.StepResult(attempt_id=aid, output=_json(b"{not json"))
        await call.write(agent_pb2.ConnectRequest(results=[bad]))

        async def failed() -> bool:
            status = await client.get_workflow_status(wid)
            return status.state == enums_pb2.WORKFLOW_STATE_FAILED

        await wait_for(failed, what="the run to fail")
        status = await client.get_workflow_status(wid)
        await call.done_writing()
    error = status.steps[0].error
    assert error.type == "InvalidPayload" and not error.retryable
    assert error.message.startswith("the output is not valid JSON (encoding json/plain): ")
