"""Namespaces from every Python client (issue 9), against the real server with auth off:
any valid namespace may be used there, and every namespace is visible.

The typed client (create, start_intent, the list/watch/agents/metrics/prune filters, the
client's default namespace and DWE_NAMESPACE), the blocking client, the guide's engine,
the agent SDK (Hello.namespace, Welcome.namespace, dispatch only within the namespace)
and the CLI (``--namespace`` on run, agent, list, agents, metrics, admin prune).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import orjson
import pytest
from realkit import WAIT, Cli, make_py_agent, serve_until_connected, stop_agent, wait_for

from dwe.agent_sdk import Agent
from dwe.clients import (
    DweClient,
    DynamicWorkflowEngine,
    NotFoundError,
    StepState,
    SyncDweClient,
    ValidationError,
    WorkflowState,
)
from dwe.clients.spec import build_workflow_spec
from dwe.server.app import DweServer
from dwe.v1 import agent_pb2, workflow_pb2
from tests.support.procs import spawn_module


@pytest.fixture(autouse=True)
def no_namespace_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The defaults under test must not come from the environment running the tests."""
    monkeypatch.delenv("DWE_NAMESPACE", raising=False)


def one_step(name: str, capability: str = "work") -> workflow_pb2.WorkflowSpec:
    return build_workflow_spec(name, [{"step_id": "s", "agent_capability": capability}])


async def namespace_of(client: DweClient, workflow_id: str) -> str:
    return (await client.get_workflow_status(workflow_id)).namespace


async def run_to_end(client: DweClient, workflow_id: str) -> workflow_pb2.WorkflowEvent:
    """Executes a created workflow; its terminal event."""
    async for event in client.execute_workflow(workflow_id):
        last = event
    return last


# the typed client


async def test_create_in_a_namespace_and_list_by_namespace(client: DweClient) -> None:
    a = await client.create_workflow(one_step("a"), namespace="team-a")
    assert a.status.namespace == "team-a"
    assert await namespace_of(client, a.workflow_id) == "team-a"
    b = await client.create_workflow(one_step("b"), namespace="team-b")
    plain = await client.create_workflow(one_step("plain"))  # the caller's: "default"
    assert await namespace_of(client, plain.workflow_id) == "default"

    only_a = (await client.list_workflows(namespaces=["team-a"])).workflows
    assert [(w.workflow_id, w.namespace) for w in only_a] == [(a.workflow_id, "team-a")]
    one_name = (await client.list_workflows(namespaces="team-b")).workflows  # a plain string
    assert [w.workflow_id for w in one_name] == [b.workflow_id]
    two = (await client.list_workflows(namespaces=["team-a", "team-b"])).workflows
    assert {w.workflow_id for w in two} == {a.workflow_id, b.workflow_id}
    every = (await client.list_workflows()).workflows
    assert sorted(w.namespace for w in every) == ["default", "team-a", "team-b"]
    assert (await client.list_workflows(namespaces=["team-c"])).workflows == []


async def test_request_ids_are_idempotency_keys_per_namespace(client: DweClient) -> None:
    a = await client.create_workflow(one_step("a"), "req-1", namespace="team-a")
    b = await client.create_workflow(one_step("b"), "req-1", namespace="team-b")
    assert a.created and b.created and a.workflow_id != b.workflow_id
    again = await client.create_workflow(one_step("a"), "req-1", namespace="team-a")
    assert (again.created, again.workflow_id) == (False, a.workflow_id)


async def test_the_clients_default_namespace_and_dwe_namespace(
    server: DweServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with DweClient(server.address, namespace="team-b") as c:
        assert c.namespace == "team-b"
        assert (await c.create_workflow(one_step("x"))).status.namespace == "team-b"
        named = await c.create_workflow(one_step("y"), namespace="team-a")  # the call's wins
        assert named.status.namespace == "team-a"
    monkeypatch.setenv("DWE_NAMESPACE", "team-c")
    async with DweClient(server.address) as c:
        assert c.namespace == "team-c"
        assert (await c.create_workflow(one_step("z"))).status.namespace == "team-c"
    async with DweClient(server.address, namespace="") as c:  # given: the env is not read
        assert (await c.create_workflow(one_step("w"))).status.namespace == "default"


async def test_start_intent_in_a_namespace(server: DweServer) -> None:
    async with DweClient(server.address, namespace="team-b") as c:
        named = await c.start_intent("analyze account ACC-1", namespace="team-a")
        assert await namespace_of(c, named.workflow_id) == "team-a"
        by_default = await c.start_intent("analyze account ACC-2")
        assert await namespace_of(c, by_default.workflow_id) == "team-b"


async def test_a_bad_namespace_name_is_a_validation_error(client: DweClient) -> None:
    with pytest.raises(ValidationError, match="namespace"):
        await client.create_workflow(one_step("bad"), namespace="Team A")
    with pytest.raises(ValidationError, match="namespace"):
        await client.list_workflows(namespaces=["-team"])
    assert (await client.list_workflows()).workflows == []  # nothing was created


async def test_server_info_names_the_callers_namespaces(client: DweClient) -> None:
    info = await client.get_server_info()
    assert (info.subject, info.role, info.namespace) == ("", "", "default")
    assert list(info.namespaces) == ["*"]  # auth off: every namespace


async def test_agents_metrics_and_prune_by_namespace(client: DweClient) -> None:
    for agent_id, namespace in (("reg-a", "team-a"), ("reg-b", "team-b")):
        info = agent_pb2.AgentInfo(
            agent_id=agent_id, capabilities=["x"], max_concurrent_tasks=1, namespace=namespace
        )
        assert (await client.register_agent(info)).namespace == namespace
    listed = await client.list_agents(namespaces=["team-a"])
    assert [(a.agent_id, a.namespace) for a in listed] == [("reg-a", "team-a")]
    assert {a.agent_id for a in await client.list_agents()} == {"reg-a", "reg-b"}

    ended = {}
    for namespace in ("team-a", "team-b"):
        created = await client.create_workflow(one_step(namespace), namespace=namespace)
        assert (await client.cancel_workflow(created.workflow_id)).cancelled
        ended[namespace] = created.workflow_id
    a_only = await client.get_engine_metrics(namespaces=["team-a"])
    assert a_only.cancelled_workflows == 1
    assert (await client.get_engine_metrics(namespaces=["team-c"])).cancelled_workflows == 0

    counted = await client.prune_workflows(0, dry_run=True, namespaces=["team-a"])
    assert counted.workflows == 1
    pruned = await client.prune_workflows(0, namespaces=["team-a"])
    assert pruned.workflows == 1
    with pytest.raises(NotFoundError):
        await client.get_workflow_status(ended["team-a"])
    assert await namespace_of(client, ended["team-b"]) == "team-b"  # another namespace's stays


async def test_watch_events_of_one_namespace(client: DweClient, server: DweServer) -> None:
    b = await client.create_workflow(one_step("b"), namespace="team-b")
    a = await client.create_workflow(one_step("a"), namespace="team-a")
    events = client.watch_events(namespaces=["team-a"])
    first = asyncio.ensure_future(anext(events))  # opens the stream
    try:
        await wait_for(lambda: server.coordinator.subscribers() == 1, what="watch subscribed")
        # team-b's event comes first on the server; the watch only sees team-a's.
        assert (await client.cancel_workflow(b.workflow_id)).cancelled
        assert (await client.cancel_workflow(a.workflow_id)).cancelled
        event = await asyncio.wait_for(first, WAIT)
        assert event.workflow_id == a.workflow_id
    finally:
        first.cancel()
        await events.aclose()


async def test_the_blocking_client_passes_namespaces(server: DweServer) -> None:
    def blocking() -> tuple[str, str, list[str]]:
        with SyncDweClient(server.address, namespace="team-a") as c:
            made = c.create_workflow(one_step("s"))
            c.create_workflow(one_step("t"), namespace="team-b")
            rows = c.list_workflows(namespaces=["team-a"]).workflows
            return c.namespace, made.status.namespace, [w.workflow_id for w in rows]

    default, namespace, listed = await asyncio.to_thread(blocking)
    assert (default, namespace) == ("team-a", "team-a")
    assert len(listed) == 1


# the agent SDK


StartAgent = Callable[[str, str | None], Awaitable[Agent]]


@pytest.fixture
async def team_agent(server: DweServer) -> AsyncIterator[StartAgent]:
    """``await team_agent(agent_id, namespace)``: a connected ``make_py_agent`` agent in
    that namespace (None: not given); all are stopped at teardown."""
    started: list[Any] = []

    async def start(agent_id: str, namespace: str | None) -> Agent:
        py = make_py_agent(agent_id, namespace=namespace)
        started.append((py, await serve_until_connected(py, server.address)))
        return py.agent

    yield start
    for py, serving in started:
        await stop_agent(py, serving)


async def test_an_agent_takes_only_its_namespaces_steps(
    client: DweClient, team_agent: StartAgent
) -> None:
    agent = await team_agent("agent-a", "team-a")
    assert (agent.namespace, agent.served_namespace) == ("team-a", "team-a")
    [view] = await client.list_agents(namespaces=["team-a"])
    assert (view.agent_id, view.namespace, view.connected) == ("agent-a", "team-a", True)
    assert await client.list_agents(namespaces=["team-b"]) == []

    # team-b's step is ready first, with the capability the connected agent has.
    b = await client.create_workflow(one_step("b"), namespace="team-b")
    await client.start_workflow(b.workflow_id)
    a = await client.create_workflow(one_step("a"), namespace="team-a")
    assert (await run_to_end(client, a.workflow_id)).WhichOneof("detail") == "workflow_completed"
    step = (await client.get_workflow_status(a.workflow_id)).steps[0]
    assert step.agent_id == "agent-a"

    status = await client.get_workflow_status(b.workflow_id)
    assert WorkflowState.from_proto(status.state) is WorkflowState.RUNNING
    [waiting] = status.steps
    assert (waiting.agent_id, waiting.attempts) == ("", 0)
    assert StepState.from_proto(waiting.state) is StepState.READY

    # An agent of team-b takes it.
    await team_agent("agent-b", "team-b")
    async for event in client.watch_workflow(b.workflow_id):
        last = event
    assert last.WhichOneof("detail") == "workflow_completed"
    assert (await client.get_workflow_status(b.workflow_id)).steps[0].agent_id == "agent-b"


async def test_an_agents_namespace_defaults_to_dwe_namespace_then_the_servers(
    team_agent: StartAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = await team_agent("plain", None)
    assert (plain.namespace, plain.served_namespace) == (None, "default")
    monkeypatch.setenv("DWE_NAMESPACE", "team-c")
    from_env = await team_agent("from-env", None)
    assert from_env.served_namespace == "team-c"


async def test_an_agent_with_a_bad_namespace_is_refused(server: DweServer) -> None:
    agent = Agent("bad-ns", capabilities=["work"], namespace="Team A")
    agent.handler("work")(lambda task: {})
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await asyncio.wait_for(agent.serve(server.address), WAIT)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "namespace" in (caught.value.details() or "")


# the guide's engine


async def test_the_engine_creates_and_registers_in_its_namespace(
    server: DweServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = await asyncio.to_thread(
        DynamicWorkflowEngine,
        server.address,
        namespace="team-a",
        agent_registry={"reg": {"capabilities": ["x"]}},
    )
    async with engine:
        assert engine.namespace == "team-a"
        wf = await engine.create_workflow("wf", steps=[{"step_id": "s", "agent_capability": "x"}])
        assert wf.namespace == "team-a"
        status = await engine.get_workflow_status_async(wf.workflow_id)
        assert status is not None and status["namespace"] == "team-a"
        rows = await engine.list_workflows_async()
        assert [(r["workflow_id"], r["namespace"]) for r in rows] == [(wf.workflow_id, "team-a")]
        await engine.register_agent_async("later", ["y"])
        agents = {a["agent_id"]: a["namespace"] for a in await engine.list_agents_async()}
        assert agents == {"reg": "team-a", "later": "team-a"}

    monkeypatch.setenv("DWE_NAMESPACE", "team-b")
    async with DynamicWorkflowEngine(server.address) as engine:
        assert engine.namespace == "team-b"
        wf = await engine.create_workflow("wf", steps=[{"step_id": "s", "agent_capability": "x"}])
        assert wf.namespace == "team-b"


# the CLI


def workflow_file(tmp_path: Path) -> str:
    path = tmp_path / "wf.json"
    path.write_bytes(
        orjson.dumps({"name": "ns", "steps": [{"step_id": "s", "agent_capability": "work"}]})
    )
    return str(path)


async def test_cli_run_status_and_list_by_namespace(
    cli: Cli, client: DweClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = workflow_file(tmp_path)
    res = await cli("run", path, "--namespace", "team-a", "--json")
    assert res.code == 0, res.err
    [row] = res.json_lines()
    assert row["namespace"] == "team-a"
    wid = row["workflow_id"]
    plain = await cli("run", path, "--json")
    assert plain.json_lines()[0]["namespace"] == "default"
    monkeypatch.setenv("DWE_NAMESPACE", "team-b")
    from_env = await cli("run", path, "--json")
    assert from_env.json_lines()[0]["namespace"] == "team-b"
    monkeypatch.delenv("DWE_NAMESPACE")

    res = await cli("status", wid, "--json")
    assert res.json_lines()[0]["namespace"] == "team-a"
    res = await cli("status", wid)
    assert "namespace  team-a" in res.out.splitlines()

    res = await cli("list", "--namespace", "team-a", "--json")
    assert [(r["workflow_id"], r["namespace"]) for r in res.json_lines()] == [(wid, "team-a")]
    res = await cli("list", "--namespace", "team-a", "--namespace", "team-b", "--json")
    assert sorted(r["namespace"] for r in res.json_lines()) == ["team-a", "team-b"]
    res = await cli("list", "--namespace", "team-a")
    header, line = res.out.splitlines()
    assert header.split() == ["WORKFLOW", "NAMESPACE", "STATE", "STEPS", "CREATED", "NAME"]
    assert line.split()[:3] == [wid, "team-a", "running"]  # run starts it

    res = await cli("list", "--namespace", "Team A")
    assert res.code == 2
    assert res.err.count("\n") == 1 and res.err.startswith("error: ") and "namespace" in res.err

    assert (await client.cancel_workflow(wid)).cancelled
    res = await cli("admin", "prune", "--older-than", "0", "--namespace", "team-a", "--json")
    assert res.code == 0, res.err
    assert res.json_lines()[0]["workflows"] == 1
    assert {w.namespace for w in (await client.list_workflows()).workflows} == {
        "default",
        "team-b",
    }


async def test_cli_agents_and_metrics_by_namespace(cli: Cli, client: DweClient) -> None:
    info = agent_pb2.AgentInfo(
        agent_id="reg-a",
        agent_type="scout",
        capabilities=["x"],
        max_concurrent_tasks=1,
        namespace="team-a",
    )
    await client.register_agent(info)
    res = await cli("agents", "--namespace", "team-a", "--json")
    assert [(a["agent_id"], a["namespace"]) for a in res.json_lines()] == [("reg-a", "team-a")]
    assert (await cli("agents", "--namespace", "team-b", "--json")).json_lines() == []
    res = await cli("agents")
    assert res.out.splitlines()[1].split()[:4] == ["reg-a", "scout", "team-a", "registered"]
    res = await cli("metrics", "--namespace", "team-a", "--json")
    assert res.code == 0, res.err
    assert res.json_lines()[0]["active_workflows"] == 0


async def test_cli_agent_serves_the_namespace_it_is_given(
    server: DweServer, client: DweClient
) -> None:
    env = {**os.environ, "DWE_TEST_AGENT_ID": "cli-ns", "DWE_TEST_CAPS": "work"}
    proc = await spawn_module(
        "dwe.cli",
        "agent",
        "tests.support.agents:counting",
        "--target",
        server.address,
        "--namespace",
        "team-a",
        env=env,
    )
    try:

        async def connected() -> bool:
            return any(a.connected for a in await client.list_agents(namespaces=["team-a"]))

        await wait_for(connected, what="the agent connected in team-a")
        created = await client.create_workflow(one_step("a"), namespace="team-a")
        last = await run_to_end(client, created.workflow_id)
        assert last.WhichOneof("detail") == "workflow_completed"
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.communicate(), WAIT)
