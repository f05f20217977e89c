"""Every number is bounded at the edge (issue 7, fault 2): values that used to pass
validation and then broke the server are refused, or ignored where they are only a hint."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import orjson
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message

from dwe.clients.typed import DweClient
from dwe.server.app import DweServer
from dwe.v1 import agent_pb2, common_pb2, enums_pb2, service_pb2_grpc, workflow_pb2
from dwe.v1 import request_response_pb2 as rr

from ..conftest import WAIT
from .helpers import connect_raw_agent
from .raw import call_raw, healthy, row_counts

S = workflow_pb2.StepSpec
YEAR = 365 * 24 * 3600
STEP_DURATIONS = [
    "timeout",
    "retry_delay",
    "max_retry_delay",
    "estimated_duration",
    "schedule_to_start_timeout",
]
BAD_DURATIONS = [
    pytest.param(Duration(seconds=300_000_000_000), "exceeds the maximum", id="3e11s"),
    pytest.param(Duration(seconds=YEAR + 1), "exceeds the maximum", id="year+1s"),
    pytest.param(Duration(seconds=-1), "must not be negative", id="negative"),
    pytest.param(Duration(seconds=1, nanos=-5), "not a valid Duration", id="mixed-signs"),
    pytest.param(Duration(seconds=0, nanos=2_000_000_000), "not a valid Duration", id="nanos"),
    pytest.param(Duration(seconds=2**63 - 1), "exceeds the maximum", id="int64-max"),
]


async def _refused(server: DweServer, spec: workflow_pb2.WorkflowSpec, *fragments: str) -> None:
    before = row_counts(server.config.db_path)
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = service_pb2_grpc.WorkflowServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.CreateWorkflow(rr.CreateWorkflowRequest(spec=spec))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
        for fragment in fragments:
            assert fragment in (info.value.details() or ""), info.value.details()
        assert await healthy(channel)
    assert row_counts(server.config.db_path) == before


@pytest.mark.parametrize(("value", "message"), BAD_DURATIONS)
@pytest.mark.parametrize("field", STEP_DURATIONS)
async def test_step_durations_are_bounded(
    server: DweServer, field: str, value: Duration, message: str
) -> None:
    step = S(step_id="analyze", capability="analysis")
    getattr(step, field).CopyFrom(value)
    spec = workflow_pb2.WorkflowSpec(name="wf", steps=[step])
    await _refused(server, spec, f"steps[0] ('analyze'): {field}", message)


@pytest.mark.parametrize(("value", "message"), BAD_DURATIONS)
async def test_workflow_default_timeout_is_bounded(
    server: DweServer, value: Duration, message: str
) -> None:
    spec = workflow_pb2.WorkflowSpec(name="wf", steps=[S(step_id="a", capability="x")])
    spec.default_timeout.CopyFrom(value)
    await _refused(server, spec, "spec.default_timeout", message)


async def test_a_year_is_accepted(client: DweClient) -> None:
    step = S(step_id="a", capability="x")
    for field in STEP_DURATIONS:
        getattr(step, field).CopyFrom(Duration(seconds=YEAR))
    spec = workflow_pb2.WorkflowSpec(name="wf", steps=[step])
    spec.default_timeout.CopyFrom(Duration(seconds=YEAR))
    assert (await client.create_workflow(spec)).created


@pytest.mark.parametrize(
    ("step", "fragment"),
    [
        (S(step_id="a", capability="x", retry_count=-1), "retry_count -1 must not be negative"),
        (S(step_id="a", capability="x", pipeline_batch_size=-1), "pipeline_batch_size"),
        (S(step_id="a", capability="x", pipeline_batch_size=2**31 - 1), "pipeline_batch_size"),
        (S(step_id="a", capability="x", backoff_coefficient=float("nan")), "backoff_coefficient"),
        (S(step_id="a", capability="x", backoff_coefficient=float("inf")), "backoff_coefficient"),
        (S(step_id="a", capability="x", backoff_coefficient=1e300), "backoff_coefficient"),
        (S(step_id="a", capability="x", backoff_coefficient=0.5), "backoff_coefficient"),
    ],
    ids=["retries<0", "batch<0", "batch-huge", "coef-nan", "coef-inf", "coef-huge", "coef<1"],
)
async def test_step_counts_are_bounded(
    server: DweServer, step: workflow_pb2.StepSpec, fragment: str
) -> None:
    await _refused(server, workflow_pb2.WorkflowSpec(name="wf", steps=[step]), "steps[0]", fragment)


@pytest.mark.parametrize("value", [-1, 2**31 - 1])
async def test_max_parallel_steps_is_bounded(server: DweServer, value: int) -> None:
    spec = workflow_pb2.WorkflowSpec(
        name="wf", steps=[S(step_id="a", capability="x")], max_parallel_steps=value
    )
    await _refused(server, spec, "spec.max_parallel_steps")


async def _all(stream: Any) -> list[Any]:
    return [item async for item in stream]


async def _run_one_step(
    server: DweServer, result: agent_pb2.StepResult
) -> workflow_pb2.WorkflowStatus:
    """One step answered by a raw agent with ``result`` (its attempt id filled in)."""
    spec = workflow_pb2.WorkflowSpec(name="wf", steps=[S(step_id="a", capability="analysis")])
    async with (
        DweClient(server.address) as client,
        grpc.aio.insecure_channel(server.address) as channel,
    ):
        call, _ = await connect_raw_agent(channel, "raw")
        created = await client.create_workflow(spec)
        await client.start_workflow(created.workflow_id)
        (assignment,) = (await asyncio.wait_for(call.read(), WAIT)).assignments
        result.attempt_id = assignment.attempt_id
        await call.write(agent_pb2.ConnectRequest(results=[result]))
        events = await asyncio.wait_for(_all(client.watch_workflow(created.workflow_id)), WAIT)
        assert events[-1].type == enums_pb2.EVENT_TYPE_WORKFLOW_COMPLETED
        call.cancel()
        return await client.get_workflow_status(created.workflow_id)


@pytest.mark.parametrize(
    "duration",
    [
        Duration(seconds=2**63 - 1),
        Duration(seconds=300_000_000_000),
        Duration(seconds=-(2**63)),
        Duration(seconds=-5),
        Duration(seconds=5, nanos=-1),
    ],
    ids=["int64-max", "3e11", "int64-min", "negative", "mixed-signs"],
)
async def test_absurd_result_duration_is_ignored(server: DweServer, duration: Duration) -> None:
    output = common_pb2.Payload(encoding="json/plain", data=b'{"ok": true}')
    status = await _run_one_step(server, agent_pb2.StepResult(output=output, duration=duration))
    (step,) = status.steps
    assert step.state == enums_pb2.STEP_STATE_COMPLETED
    # Measured by the server from the assignment instead: a test's worth of time.
    assert 0 <= step.execution_time.ToTimedelta().total_seconds() < 3600


async def test_plausible_result_duration_is_kept(server: DweServer) -> None:
    output = common_pb2.Payload(encoding="json/plain", data=b"{}")
    result = agent_pb2.StepResult(output=output, duration=Duration(seconds=7200))
    status = await _run_one_step(server, result)
    assert status.steps[0].execution_time.ToTimedelta().total_seconds() >= 7200


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def _deep_inputs(depth: int) -> dict[str, tuple[str, Message]]:
    """Every request that carries a JSON object the server decodes: method, request."""
    deep = common_pb2.Payload(encoding="json/plain", data=_nested(depth))
    criteria = b'{"criteria":{"f":{"equals":' + _nested(depth - 3) + b"}}}"
    params = common_pb2.Payload(encoding="json/plain", data=criteria)
    step = S(
        step_id="a",
        capability="x",
        data_transformations=[workflow_pb2.DataTransformation(type="filter", params=params)],
    )
    return {
        "spec.context": (
            "CreateWorkflow",
            rr.CreateWorkflowRequest(
                spec=workflow_pb2.WorkflowSpec(
                    name="wf", steps=[S(step_id="a", capability="x")], context=deep
                )
            ),
        ),
        "data_transformations[0]": (
            "CreateWorkflow",
            rr.CreateWorkflowRequest(spec=workflow_pb2.WorkflowSpec(name="wf", steps=[step])),
        ),
        "context": ("StartWorkflow", rr.StartWorkflowRequest(workflow_id="w", context=deep)),
        "config": (
            "RegisterAgent",
            rr.RegisterAgentRequest(
                agent=agent_pb2.AgentInfo(agent_id="r", capabilities=["x"], config=deep)
            ),
        ),
    }


@pytest.mark.parametrize("where", list(_deep_inputs(1)))
async def test_json_nested_too_deep_is_refused(server: DweServer, where: str) -> None:
    """orjson reads 1,024 levels but writes 254: a context of 300 levels used to be
    accepted and then failed the commit that stored it (UNAVAILABLE, for good)."""
    method, request = _deep_inputs(300)[where]
    before = row_counts(server.config.db_path)
    async with grpc.aio.insecure_channel(server.address) as channel:
        service = "EngineService" if method == "RegisterAgent" else "WorkflowService"
        err = await call_raw(channel, service, method, request.SerializeToString())
        assert err is not None and err.code() == grpc.StatusCode.INVALID_ARGUMENT, err
        assert where in (err.details() or "") and "nested deeper than 64" in (err.details() or "")
        assert await healthy(channel)
    assert row_counts(server.config.db_path) == before


async def test_json_at_the_depth_limit_runs(server: DweServer) -> None:
    context = common_pb2.Payload(encoding="json/plain", data=_nested(64))
    spec = workflow_pb2.WorkflowSpec(
        name="wf", steps=[S(step_id="a", capability="analysis")], context=context
    )
    async with DweClient(server.address) as client:
        created = await client.create_workflow(spec)
        await client.start_workflow(created.workflow_id, {"extra": orjson.loads(_nested(63))})
        status = await client.get_workflow_status(created.workflow_id)
    assert status.state == enums_pb2.WORKFLOW_STATE_RUNNING
