"""Bad input is refused with INVALID_ARGUMENT, a message that says where, and nothing stored."""

from __future__ import annotations

import grpc
import pytest

from dwe.server.app import DweServer
from dwe.v1 import common_pb2, service_pb2_grpc, workflow_pb2
from dwe.v1 import request_response_pb2 as rr
from tests.support import db

S = workflow_pb2.StepSpec


def spec(*steps: workflow_pb2.StepSpec, **kw: object) -> workflow_pb2.WorkflowSpec:
    return workflow_pb2.WorkflowSpec(name=kw.pop("name", "wf"), steps=list(steps), **kw)  # type: ignore[arg-type]


CASES = [
    pytest.param(spec(), "workflow has no steps", id="empty"),
    pytest.param(spec(S(step_id="a", capability="x"), name=""), "spec.name is empty", id="no-name"),
    pytest.param(
        spec(S(step_id="a", capability="x"), S(step_id="a", capability="x")),
        "steps[1]: duplicate step_id 'a' (first at steps[0])",
        id="duplicate",
    ),
    pytest.param(
        spec(S(step_id="a", capability="x", dependencies=["ghost"])),
        "step 'a': unknown dependency 'ghost'",
        id="unknown-dependency",
    ),
    pytest.param(
        spec(
            S(step_id="A", capability="x", dependencies=["C"]),
            S(step_id="B", capability="x", dependencies=["A"]),
            S(step_id="C", capability="x", dependencies=["B"]),
        ),
        "dependency cycle: A -> B -> C -> A",
        id="cycle",
    ),
    pytest.param(spec(S(step_id="", capability="x")), "steps[0]: step_id is empty", id="empty-id"),
    pytest.param(
        spec(S(step_id="a")), "steps[0] ('a'): agent_capability is empty", id="no-capability"
    ),
    pytest.param(
        spec(S(step_id="a", capability="x"), priority=42),
        "spec.priority: unknown WorkflowPriority value 42",
        id="bad-priority",
    ),
    pytest.param(
        spec(S(step_id="a", capability="x"), execution_mode=9),
        "spec.execution_mode: unknown ExecutionMode value 9",
        id="bad-mode",
    ),
    pytest.param(
        spec(
            S(step_id="a", capability="x"),
            context=common_pb2.Payload(encoding="json/plain", data=b"{not json"),
        ),
        "spec.context: not valid JSON",
        id="bad-context-json",
    ),
    pytest.param(
        spec(
            S(step_id="a", capability="x"),
            context=common_pb2.Payload(encoding="application/x-rot13", data=b"{}"),
        ),
        "spec.context: encoding 'application/x-rot13' is not supported",
        id="bad-context-encoding",
    ),
    pytest.param(
        spec(
            S(
                step_id="a",
                capability="x",
                data_transformations=[
                    workflow_pb2.DataTransformation(
                        type="explode", params=common_pb2.Payload(data=b"{}")
                    )
                ],
            )
        ),
        "steps[0] ('a'): data_transformations[0]: unknown transformation type 'explode'",
        id="bad-transformation",
    ),
    pytest.param(
        spec(
            S(
                step_id="a",
                capability="x",
                data_transformations=[
                    workflow_pb2.DataTransformation(
                        type="filter",
                        params=common_pb2.Payload(data=b'{"criteria": {"s": {"roughly": 1}}}'),
                    )
                ],
            )
        ),
        "data_transformations[0]: unknown operator 'roughly' for field 's'",
        id="bad-operator",
    ),
    pytest.param(
        spec(S(step_id="a", capability="x", retry_count=1000)),
        "retry_count 1000 exceeds 100",
        id="too-many-retries",
    ),
]


@pytest.mark.parametrize(("bad_spec", "message"), CASES)
async def test_invalid_workflow_is_rejected_and_nothing_stored(
    server: DweServer, bad_spec: workflow_pb2.WorkflowSpec, message: str
) -> None:
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = service_pb2_grpc.WorkflowServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.CreateWorkflow(rr.CreateWorkflowRequest(spec=bad_spec, request_id="r1"))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in info.value.details()
        listed = await stub.ListWorkflows(rr.ListWorkflowsRequest())
        assert list(listed.workflows) == []
    assert db.count(server.config.db_path, "workflows") == 0
    assert db.count(server.config.db_path, "steps") == 0


async def test_missing_spec_and_unknown_ids(server: DweServer) -> None:
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = service_pb2_grpc.WorkflowServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.CreateWorkflow(rr.CreateWorkflowRequest())
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "spec is required" in info.value.details()
        for call, request in [
            (stub.GetWorkflowStatus, rr.GetWorkflowStatusRequest(workflow_id="nope")),
            (stub.StartWorkflow, rr.StartWorkflowRequest(workflow_id="nope")),
            (stub.CancelWorkflow, rr.CancelWorkflowRequest(workflow_id="nope")),
        ]:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call(request)
            assert info.value.code() == grpc.StatusCode.NOT_FOUND
            assert "'nope' not found" in info.value.details()


async def test_bad_start_context_is_rejected_and_workflow_stays_pending(server: DweServer) -> None:
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = service_pb2_grpc.WorkflowServiceStub(channel)
        created = await stub.CreateWorkflow(
            rr.CreateWorkflowRequest(spec=spec(S(step_id="a", capability="x")))
        )
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.StartWorkflow(
                rr.StartWorkflowRequest(
                    workflow_id=created.workflow_id,
                    context=common_pb2.Payload(data=b"[1, 2]"),
                )
            )
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "context: must be a JSON object, got list" in info.value.details()
        status = await stub.GetWorkflowStatus(
            rr.GetWorkflowStatusRequest(workflow_id=created.workflow_id)
        )
        assert status.status.state == 1  # PENDING
