"""Namespaces (issue 9): every RPC x every role x {no token, expired, wrong namespace,
right}; workflows, events, agents, registry entries and idempotency keys stay in their
namespace; an agent only ever receives steps of its own namespace, under load."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from dwe.clients.spec import build_workflow_spec
from dwe.server.auth import TokenKeys
from dwe.v1 import agent_pb2, enums_pb2, service_pb2_grpc, workflow_pb2
from dwe.v1 import request_response_pb2 as rr

from ..conftest import WAIT, AgentProcess, MakeServer, wait_for
from ..support.specs import DIAMOND
from .test_server_auth import ALLOWED, _key_file, token

AUTH = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}
NF, PD = grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED


@pytest.fixture
def key_file(tmp_path: Path) -> str:
    return _key_file(tmp_path)


@pytest.fixture
def keys(key_file: str) -> TokenKeys:
    return TokenKeys(key_file)


def _spec(name: str = "ns", cap: str = "work") -> workflow_pb2.WorkflowSpec:
    return build_workflow_spec(name, [{"step_id": "a", "agent_capability": cap}])


def _table(wid: str) -> dict[str, tuple[str, Any, grpc.StatusCode | None]]:
    """method -> (service, request about namespace 'default', code for a token of
    another namespace; None where the method has no namespace to get wrong)."""
    day = rr.PruneWorkflowsRequest(dry_run=True, namespaces=["default"])
    day.older_than.FromSeconds(86400)
    info = agent_pb2.AgentInfo(agent_id="reg", capabilities=["x"], namespace="default")
    W, E = "WorkflowService", "EngineService"
    return {
        "CreateWorkflow": (W, rr.CreateWorkflowRequest(spec=_spec(), namespace="default"), PD),
        "StartWorkflow": (W, rr.StartWorkflowRequest(workflow_id=wid), NF),
        "ExecuteWorkflow": (W, rr.ExecuteWorkflowRequest(workflow_id=wid), NF),
        "WatchWorkflow": (W, rr.WatchWorkflowRequest(workflow_id=wid), NF),
        "WatchEvents": (W, rr.WatchEventsRequest(namespaces=["default"]), PD),
        "GetWorkflowStatus": (W, rr.GetWorkflowStatusRequest(workflow_id=wid), NF),
        "ListWorkflows": (W, rr.ListWorkflowsRequest(namespaces=["default"]), PD),
        "CancelWorkflow": (W, rr.CancelWorkflowRequest(workflow_id=wid), NF),
        "AnalyzeIntent": (W, rr.AnalyzeIntentRequest(message="analyze account A"), None),
        "StartIntent": (
            W,
            rr.StartIntentRequest(message="analyze account ACC-1", namespace="default"),
            PD,
        ),
        "RegisterAgent": (E, rr.RegisterAgentRequest(agent=info), PD),
        "ListAgents": (E, rr.ListAgentsRequest(namespaces=["default"]), PD),
        "GetEngineMetrics": (E, rr.GetEngineMetricsRequest(namespaces=["default"]), PD),
        "GetServerInfo": (E, rr.GetServerInfoRequest(), None),
        "PruneWorkflows": (E, day, PD),
        "Connect": ("AgentService", None, PD),
    }


async def _code(
    channel: grpc.aio.Channel, service: str, method: str, request: Any, auth: str
) -> grpc.StatusCode:
    """How one call ends: OK, or its error code. Streams that stay open end OK after a
    moment (DEADLINE_EXCEEDED is not an answer about auth)."""
    metadata = (("authorization", auth),) if auth else None
    stub = getattr(service_pb2_grpc, f"{service}Stub")(channel)
    try:
        if request is None:  # Connect: a hello for the default namespace
            call = stub.Connect(metadata=metadata, timeout=WAIT)
            hello = agent_pb2.Hello(agent_id="a", capabilities=["x"], namespace="default")
            await call.write(agent_pb2.ConnectRequest(hello=hello))
            await call.read()
            call.cancel()
            return grpc.StatusCode.OK
        rpc = getattr(stub, method)
        if method in {"ExecuteWorkflow", "WatchWorkflow", "WatchEvents"}:
            call = rpc(request, metadata=metadata, timeout=1.0)
            async for _ in call:
                pass
        else:
            await rpc(request, metadata=metadata, timeout=WAIT)
    except grpc.aio.AioRpcError as exc:
        if exc.code() is grpc.StatusCode.DEADLINE_EXCEEDED:
            return grpc.StatusCode.OK
        return exc.code()
    return grpc.StatusCode.OK


def _expected(
    state: str, method: str, wrong: grpc.StatusCode | None
) -> Callable[[grpc.StatusCode], bool]:
    if state in ("none", "expired"):
        return lambda code: code is grpc.StatusCode.UNAUTHENTICATED
    role, where = state.split("@")
    if method not in ALLOWED[role]:
        return lambda code: code is PD
    if where == "other" and wrong is not None:
        return lambda code: code is wrong
    return lambda code: code not in AUTH and code is not NF


async def test_every_rpc_by_every_role_token_state_and_namespace(
    make_server: MakeServer,
    key_file: str,
    keys: TokenKeys,
) -> None:
    server = await make_server(auth_key=key_file)
    owner = token(keys, "admin", namespaces=("*",))
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = service_pb2_grpc.WorkflowServiceStub(channel)
        created = await stub.CreateWorkflow(
            rr.CreateWorkflowRequest(spec=_spec()),
            metadata=(("authorization", f"Bearer {owner}"),),
        )
        assert created.status.namespace == "default"
        states = {"none": "", "expired": "Bearer " + token(keys, "admin", ttl=-10)}
        for role in ALLOWED:
            for where in ("default", "other"):
                minted = token(keys, role, agent_id="a", namespaces=(where,))
                states[f"{role}@{where}"] = f"Bearer {minted}"
        failures = []
        for method, (service, request, wrong) in _table(created.workflow_id).items():
            for state, auth in states.items():
                code = await _code(channel, service, method, request, auth)
                if not _expected(state, method, wrong)(code):
                    failures.append((method, state, code.name))
    assert not failures, failures


async def test_workflows_events_and_keys_stay_in_their_namespace(
    make_server: MakeServer,
    key_file: str,
    keys: TokenKeys,
) -> None:
    server = await make_server(auth_key=key_file)
    a = (("authorization", "Bearer " + token(keys, "operator", namespaces=("team-a",))),)
    b = (("authorization", "Bearer " + token(keys, "operator", namespaces=("team-b",))),)
    async with grpc.aio.insecure_channel(server.address) as channel:
        wf = service_pb2_grpc.WorkflowServiceStub(channel)
        watch_b = wf.WatchEvents(rr.WatchEventsRequest(), metadata=b)
        await wait_for(lambda: server.coordinator.subscribers() == 1, what="watcher of b")
        first = await wf.CreateWorkflow(
            rr.CreateWorkflowRequest(spec=_spec(), request_id="same"), metadata=a
        )
        again = await wf.CreateWorkflow(
            rr.CreateWorkflowRequest(spec=_spec(), request_id="same"), metadata=a
        )
        other = await wf.CreateWorkflow(
            rr.CreateWorkflowRequest(spec=_spec(), request_id="same"), metadata=b
        )
        assert first.workflow_id == again.workflow_id and not again.created
        assert other.created and other.workflow_id != first.workflow_id
        assert (first.status.namespace, other.status.namespace) == ("team-a", "team-b")

        with pytest.raises(grpc.aio.AioRpcError) as seen:
            await wf.GetWorkflowStatus(
                rr.GetWorkflowStatusRequest(workflow_id=first.workflow_id), metadata=b
            )
        assert seen.value.code() is NF and first.workflow_id in seen.value.details()
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await wf.CreateWorkflow(
                rr.CreateWorkflowRequest(spec=_spec(), namespace="team-b"), metadata=a
            )
        assert denied.value.code() is PD
        assert "may not use namespace 'team-b' (it may use: team-a)" in denied.value.details()
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await wf.CreateWorkflow(
                rr.CreateWorkflowRequest(spec=_spec(), namespace="Team B!"), metadata=a
            )
        assert bad.value.code() is grpc.StatusCode.INVALID_ARGUMENT

        listed = await wf.ListWorkflows(rr.ListWorkflowsRequest(), metadata=a)
        assert [(w.workflow_id, w.namespace) for w in listed.workflows] == [
            (first.workflow_id, "team-a")
        ]
        await wf.StartWorkflow(rr.StartWorkflowRequest(workflow_id=first.workflow_id), metadata=a)
        await wf.CancelWorkflow(rr.CancelWorkflowRequest(workflow_id=first.workflow_id), metadata=a)
        await wf.StartWorkflow(rr.StartWorkflowRequest(workflow_id=other.workflow_id), metadata=b)
        await wf.CancelWorkflow(rr.CancelWorkflowRequest(workflow_id=other.workflow_id), metadata=b)
        seen_ids: list[str] = []
        async for response in watch_b:
            seen_ids.extend(e.workflow_id for e in response.events)
            if any(e.HasField("workflow_cancelled") for e in response.events):
                break
        watch_b.cancel()
    assert seen_ids and set(seen_ids) == {other.workflow_id}


async def test_agents_registry_and_metrics_are_scoped(
    make_server: MakeServer,
    key_file: str,
    keys: TokenKeys,
) -> None:
    server = await make_server(auth_key=key_file)
    admin_a = (("authorization", "Bearer " + token(keys, "admin", namespaces=("team-a",))),)
    admin_all = (("authorization", "Bearer " + token(keys, "admin", namespaces=("*",))),)
    async with grpc.aio.insecure_channel(server.address) as channel:
        engine = service_pb2_grpc.EngineServiceStub(channel)
        for agent_id, ns in (("reg-a", "team-a"), ("reg-b", "team-b")):
            info = agent_pb2.AgentInfo(agent_id=agent_id, capabilities=["x"], namespace=ns)
            await engine.RegisterAgent(rr.RegisterAgentRequest(agent=info), metadata=admin_all)
        with pytest.raises(grpc.aio.AioRpcError) as taken:
            info = agent_pb2.AgentInfo(agent_id="reg-b", capabilities=["x"])
            await engine.RegisterAgent(rr.RegisterAgentRequest(agent=info), metadata=admin_a)
        assert taken.value.code() is PD
        mine = await engine.ListAgents(rr.ListAgentsRequest(), metadata=admin_a)
        every = await engine.ListAgents(rr.ListAgentsRequest(), metadata=admin_all)
        assert [(x.agent_id, x.namespace) for x in mine.agents] == [("reg-a", "team-a")]
        assert {x.agent_id for x in every.agents} == {"reg-a", "reg-b"}
        wf = service_pb2_grpc.WorkflowServiceStub(channel)
        created = await wf.CreateWorkflow(
            rr.CreateWorkflowRequest(spec=_spec(), namespace="team-b"), metadata=admin_all
        )
        await wf.StartWorkflow(
            rr.StartWorkflowRequest(workflow_id=created.workflow_id), metadata=admin_all
        )
        scoped = (
            await engine.GetEngineMetrics(rr.GetEngineMetricsRequest(), metadata=admin_a)
        ).metrics
        whole = (
            await engine.GetEngineMetrics(rr.GetEngineMetricsRequest(), metadata=admin_all)
        ).metrics
        assert (scoped.active_workflows, whole.active_workflows) == (0, 1)
        info = await engine.GetServerInfo(rr.GetServerInfoRequest(), metadata=admin_a)
        assert (info.namespace, list(info.namespaces), info.role) == ("team-a", ["team-a"], "admin")


async def test_with_auth_off_everything_is_in_default(make_server: MakeServer) -> None:
    server = await make_server()
    async with grpc.aio.insecure_channel(server.address) as channel:
        wf = service_pb2_grpc.WorkflowServiceStub(channel)
        created = await wf.CreateWorkflow(rr.CreateWorkflowRequest(spec=_spec()))
        info = await service_pb2_grpc.EngineServiceStub(channel).GetServerInfo(
            rr.GetServerInfoRequest()
        )
    assert created.status.namespace == "default"
    assert (info.namespace, list(info.namespaces), info.subject) == ("default", ["*"], "")


async def test_an_agent_only_receives_steps_of_its_namespace_under_load(
    make_server: MakeServer,
    key_file: str,
    keys: TokenKeys,
    spawn_agent: Callable[..., AgentProcess],
) -> None:
    """Two namespaces with the same capabilities, two agent processes each, 120 diamonds
    in each at once: every step ran on an agent of its own namespace."""
    server = await make_server(auth_key=key_file)
    caps = ",".join(sorted({s["agent_capability"] for s in DIAMOND}))
    agents = {ns: [f"{ns}-agent-{i}" for i in range(2)] for ns in ("team-a", "team-b")}
    for ns, ids in agents.items():
        for agent_id in ids:
            grant = token(keys, "agent", agent_id=agent_id, namespaces=(ns,))
            spawn_agent(
                server.address,
                DWE_TEST_AGENT_ID=agent_id,
                DWE_TEST_CAPS=caps,
                DWE_TEST_MAX=4,
                DWE_TEST_DELAY=0,
                DWE_TOKEN=grant,
            )
    c = server.coordinator
    await wait_for(
        lambda: all(c.agent(i).connected for ids in agents.values() for i in ids),
        what="four agents",
    )
    assert {c.agent(i).namespace for i in agents["team-a"]} == {"team-a"}
    operator = (("authorization", "Bearer " + token(keys, "operator", namespaces=("*",))),)
    spec = build_workflow_spec("diamond", DIAMOND)
    async with grpc.aio.insecure_channel(server.address) as channel:
        wf = service_pb2_grpc.WorkflowServiceStub(channel)

        async def one(ns: str) -> tuple[str, str]:
            made = await wf.CreateWorkflow(
                rr.CreateWorkflowRequest(spec=spec, namespace=ns), metadata=operator
            )
            request = rr.ExecuteWorkflowRequest(workflow_id=made.workflow_id)
            async for _ in wf.ExecuteWorkflow(request, metadata=operator, timeout=WAIT * 4):
                pass
            return ns, made.workflow_id

        runs = await asyncio.gather(*(one(ns) for _ in range(120) for ns in agents))
        wrong = []
        for ns, wid in runs:
            status = (
                await wf.GetWorkflowStatus(
                    rr.GetWorkflowStatusRequest(workflow_id=wid), metadata=operator
                )
            ).status
            assert status.state == enums_pb2.WORKFLOW_STATE_COMPLETED
            wrong += [
                (ns, s.step_id, s.agent_id) for s in status.steps if s.agent_id not in agents[ns]
            ]
    assert not wrong, wrong[:10]
    served = {i: c.agent(i).completed_steps for ids in agents.values() for i in ids}
    assert sum(served.values()) == 2 * 120 * len(DIAMOND)
