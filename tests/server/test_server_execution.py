"""Workflows run end to end: real server, real gRPC, agents in-process or in subprocesses."""

from __future__ import annotations

import asyncio

import grpc
import orjson

from dwe.agent_sdk import Agent, NonRetryableError, Task
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.server.app import DweServer
from dwe.v1 import enums_pb2

from ..conftest import WAIT, MakeServer, wait_agents, wait_for
from ..support.specs import DIAMOND
from .helpers import (
    blocking_agent,
    connect_raw_agent,
    name_of,
    peak_in_flight,
    recording_agent,
    run_workflow,
    serving,
    summary_of,
)


async def test_diamond_runs_branches_together_and_joins(
    server: DweServer, client: DweClient
) -> None:
    log: list[tuple[str, str]] = []
    agent = recording_agent(
        log,
        together=("analyze", "history"),
        capabilities=["data_fetch", "analysis", "memory", "recommendation"],
        max_concurrent_tasks=4,
    )
    async with serving(server.address, agent):
        events = await run_workflow(client, DIAMOND, context={"account_id": "ACC-1"})
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert name_of(events[-1]) == "workflow_completed"
    finished = summary_of(events[-1])
    assert finished.success_rate == 1.0
    assert orjson.loads(finished.results["recommend"].data) == {
        "step": "recommend",
        "inputs": ["analyze", "history"],
    }
    at = {entry: i for i, entry in enumerate(log)}
    # Both branches start after fetch ends and overlap (each waited for the other to
    # start); the join starts after both have ended.
    assert at["start", "analyze"] > at["end", "fetch"]
    assert at["start", "history"] > at["end", "fetch"]
    assert at["start", "history"] < at["end", "analyze"]
    assert at["start", "analyze"] < at["end", "history"]
    assert at["start", "recommend"] > max(at["end", "analyze"], at["end", "history"])


async def test_sequential_runs_one_at_a_time_in_declaration_order(
    server: DweServer, client: DweClient
) -> None:
    steps = [
        {"step_id": "c", "agent_capability": "analysis"},
        {"step_id": "a", "agent_capability": "analysis"},
        {"step_id": "d", "agent_capability": "analysis", "dependencies": ["a"]},
        {"step_id": "b", "agent_capability": "analysis"},
    ]
    log: list[tuple[str, str]] = []
    agent = recording_agent(log, capabilities=["analysis"], max_concurrent_tasks=4)
    async with serving(server.address, agent):
        events = await run_workflow(client, steps, execution_mode="sequential")
    assert name_of(events[-1]) == "workflow_completed"
    # Topological order with ties broken by declaration order; never two at once.
    assert log == [(kind, step) for step in "cadb" for kind in ("start", "end")]
    assert peak_in_flight(events) == {"worker": 1}


async def test_parallel_respects_max_parallel_steps(server: DweServer, client: DweClient) -> None:
    steps = [{"step_id": f"s{i}", "agent_capability": "analysis"} for i in range(6)]
    log: list[tuple[str, str]] = []
    agent = recording_agent(log, capabilities=["analysis"], max_concurrent_tasks=10)
    async with serving(server.address, agent):
        events = await run_workflow(client, steps, execution_mode="parallel", max_parallel_steps=2)
    assert name_of(events[-1]) == "workflow_completed"
    # The server's own record: six steps ready at once, never more than two out.
    assert peak_in_flight(events) == {"worker": 2}


async def test_capability_routing_and_agent_type_preference(
    server: DweServer, client: DweClient
) -> None:
    fetch_log: list[tuple[str, str]] = []
    other_log: list[tuple[str, str]] = []
    fetcher = recording_agent(fetch_log, agent_id="fetcher", capabilities=["data_fetch"])
    analyst = recording_agent(
        other_log,
        agent_id="analyst",
        agent_type="RiskAnalyzer",
        capabilities=["analysis"],
        max_concurrent_tasks=4,
    )
    generalist = recording_agent(
        other_log, agent_id="generalist", capabilities=["analysis"], max_concurrent_tasks=4
    )
    steps = [
        {"step_id": "f", "agent_capability": "data_fetch"},
        {"step_id": "by_type", "agent_capability": "analysis", "agent_type": "RiskAnalyzer"},
        {"step_id": "by_id", "agent_capability": "analysis", "agent_type": "generalist"},
    ]
    async with serving(server.address, fetcher, analyst, generalist):
        events = await run_workflow(client, steps)
    agents = {e.step_id: e.agent_id for e in events if name_of(e) == "agent_completed"}
    assert agents == {"f": "fetcher", "by_type": "analyst", "by_id": "generalist"}


async def test_step_waits_for_an_agent_with_its_capability(
    server: DweServer, client: DweClient
) -> None:
    created = await client.create_workflow(
        build_workflow_spec("wait", [{"step_id": "n", "agent_capability": "notification"}])
    )
    await client.start_workflow(created.workflow_id)
    status = await client.get_workflow_status(created.workflow_id)
    assert status.steps[0].state == enums_pb2.STEP_STATE_READY
    log: list[tuple[str, str]] = []
    async with serving(server.address, recording_agent(log, capabilities=["notification"])):
        async for event in client.watch_workflow(created.workflow_id):
            last = event
    assert name_of(last) == "workflow_completed"


async def test_max_concurrent_tasks_is_never_exceeded(
    server: DweServer, client: DweClient, spawn_agent
) -> None:
    for agent_id, limit in (("small", 2), ("big", 3)):
        spawn_agent(
            server.address,
            "counting",
            DWE_TEST_AGENT_ID=agent_id,
            DWE_TEST_CAPS="analysis",
            DWE_TEST_MAX=limit,
        )
    await wait_agents(server, "small", "big")
    steps = [{"step_id": f"s{i}", "agent_capability": "analysis"} for i in range(30)]
    events = await run_workflow(client, steps)
    assert name_of(events[-1]) == "workflow_completed"
    # The server's record: with 30 steps ready each agent is filled to its limit, never past.
    assert peak_in_flight(events) == {"small": 2, "big": 3}
    outputs = [
        orjson.loads(e.step_completed.output.data)
        for e in events
        if name_of(e) == "agent_completed"
    ]
    # The agents' own counters never saw more handlers at once than their limit.
    seen = {"small": 0, "big": 0}
    for out in outputs:
        seen[out["agent"]] = max(seen[out["agent"]], out["max_seen"])
    assert seen["small"] <= 2 and seen["big"] <= 3, seen


async def test_handler_exception_becomes_agent_error_event(
    server: DweServer, client: DweClient
) -> None:
    agent = Agent("flaky", capabilities=["analysis"])

    @agent.handler("analysis")
    async def boom(task: Task) -> dict:
        raise NonRetryableError("account ACC-9 is locked")

    async with serving(server.address, agent):
        events = await run_workflow(
            client, [{"step_id": "a", "agent_capability": "analysis", "retry_count": 3}]
        )
    errors = [e for e in events if name_of(e) == "agent_error"]
    assert len(errors) == 1  # non-retryable: no retries despite retry_count
    assert errors[0].step_attempt_failed.error.message == "account ACC-9 is locked"
    assert errors[0].step_attempt_failed.error.type == "NonRetryableError"
    assert name_of(events[-1]) == "workflow_failed"
    assert "account ACC-9 is locked" in summary_of(events[-1]).error_message


async def test_failed_attempts_are_retried_with_growing_delay(
    server: DweServer, client: DweClient
) -> None:
    agent = Agent("retry", capabilities=["analysis"])
    calls = []

    @agent.handler("analysis")
    async def sometimes(task: Task) -> dict:
        calls.append(task.attempt)
        if task.attempt < 3:
            raise RuntimeError(f"transient failure {task.attempt}")
        return {"attempt": task.attempt}

    step = {"step_id": "a", "agent_capability": "analysis", "retry_count": 2, "retry_delay": 0.05}
    async with serving(server.address, agent):
        events = await run_workflow(client, [step])
    assert calls == [1, 2, 3]
    retrying = [e for e in events if name_of(e) == "agent_retrying"]
    delays = [r.step_retrying.delay.ToTimedelta().total_seconds() for r in retrying]
    assert len(delays) == 2 and delays[1] > delays[0]
    assert name_of(events[-1]) == "workflow_completed"
    status = await client.get_workflow_status(events[0].workflow_id)
    assert status.steps[0].attempts == 3


async def test_cancel_running_workflow_reaches_the_handler(
    server: DweServer, client: DweClient
) -> None:
    slow = blocking_agent("slow")
    async with serving(server.address, slow.agent):
        created = await client.create_workflow(
            build_workflow_spec("cancel-me", [{"step_id": "a", "agent_capability": "analysis"}])
        )
        await client.start_workflow(created.workflow_id)
        await asyncio.wait_for(slow.started.wait(), WAIT)
        response = await client.cancel_workflow(created.workflow_id, "user asked")
        assert response.cancelled
        # The handler itself observes the cancel (its CancelledError sets the event).
        await asyncio.wait_for(slow.cancelled.wait(), WAIT)
        status = await client.get_workflow_status(created.workflow_id)
        assert status.state == enums_pb2.WORKFLOW_STATE_CANCELLED
        assert status.steps[0].state == enums_pb2.STEP_STATE_CANCELLED
        # The agent's slot comes back once its handler has ended.
        coordinator = server.coordinator
        await wait_for(lambda: coordinator.agent("slow").current_load == 0, what="slot freed")
        again = await client.cancel_workflow(created.workflow_id)
        assert not again.cancelled


async def test_disconnected_agent_work_completes_on_another_agent(
    server: DweServer, client: DweClient, spawn_agent, tmp_path
) -> None:
    marker = tmp_path / "started.txt"
    doomed = spawn_agent(
        server.address,
        "hanging",
        DWE_TEST_AGENT_ID="doomed",
        DWE_TEST_CAPS="analysis",
        DWE_TEST_MARKER=marker,
    )
    await wait_agents(server, "doomed")
    created = await client.create_workflow(
        build_workflow_spec("survive", [{"step_id": "a", "agent_capability": "analysis"}])
    )
    await client.start_workflow(created.workflow_id)
    await wait_for(lambda: marker.exists() and marker.read_text().strip() == "a", what="started")
    spawn_agent(server.address, "counting", DWE_TEST_AGENT_ID="rescuer", DWE_TEST_CAPS="analysis")
    await wait_agents(server, "rescuer")
    doomed.kill()
    events = [e async for e in client.watch_workflow(created.workflow_id)]
    assert name_of(events[-1]) == "workflow_completed"
    retry = [e for e in events if name_of(e) == "agent_retrying"]
    assert retry and "doomed disconnected" in retry[0].step_retrying.reason
    done = [e for e in events if name_of(e) == "agent_completed"]
    assert [(e.agent_id, e.attempt) for e in done] == [("rescuer", 2)]


async def test_watch_replays_after_seq_then_ends(server: DweServer, client: DweClient) -> None:
    log: list[tuple[str, str]] = []
    async with serving(server.address, recording_agent(log, capabilities=["analysis"])):
        events = await run_workflow(client, [{"step_id": "a", "agent_capability": "analysis"}])
    wid = events[0].workflow_id
    replay = [e async for e in client.watch_workflow(wid, after_seq=2)]
    assert [e.seq for e in replay] == [e.seq for e in events[2:]]
    assert [name_of(e) for e in replay] == [name_of(e) for e in events[2:]]


async def test_silent_agent_session_is_closed_and_its_work_requeued(
    make_server: MakeServer, spawn_agent
) -> None:
    srv = await make_server(heartbeat_interval=0.1)
    async with (
        grpc.aio.insecure_channel(srv.address) as channel,
        DweClient(srv.address) as client,
    ):
        # A raw agent that says hello, takes work, and then goes silent (hung).
        call, welcome = await connect_raw_agent(channel, "hung")
        assert welcome.heartbeat_interval.ToTimedelta().total_seconds() == 0.1
        created = await client.create_workflow(
            build_workflow_spec("hang", [{"step_id": "a", "agent_capability": "analysis"}])
        )
        await client.start_workflow(created.workflow_id)
        assigned = await call.read()
        assert [a.step_id for a in assigned.assignments] == ["a"]
        # No heartbeat: after 3 intervals the server ends the session.
        await wait_for(lambda: not srv.coordinator.agent("hung").connected, what="session closed")
        spawn_agent(srv.address, "counting", DWE_TEST_AGENT_ID="healthy", DWE_TEST_CAPS="analysis")
        events = [e async for e in client.watch_workflow(created.workflow_id)]
        call.cancel()
    assert name_of(events[-1]) == "workflow_completed"
    assert [e.agent_id for e in events if name_of(e) == "agent_completed"] == ["healthy"]
