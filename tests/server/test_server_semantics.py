"""The guide's semantics end to end: timeouts, schedule-to-start, workflow timeout,
priorities with aging, max_concurrent_workflows, transformations, the registry."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson

from dwe.agent_sdk import Agent, Task
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.server.app import DweServer
from dwe.v1 import enums_pb2

from ..conftest import WAIT, MakeServer, wait_for
from .helpers import blocking_agent, name_of, run_workflow, serving, summary_of


async def test_attempt_timeout_cancels_the_handler(server: DweServer, client: DweClient) -> None:
    slow = blocking_agent()
    step = {"step_id": "slow", "agent_capability": "analysis", "timeout_seconds": 0.3}
    async with serving(server.address, slow.agent):
        events = await run_workflow(client, [step])
        await asyncio.wait_for(slow.cancelled.wait(), WAIT)  # the handler saw the cancel
    (error,) = [e for e in events if name_of(e) == "agent_error"]
    assert error.step_attempt_failed.error.type == "Timeout"
    assert "timed out after 0.3s" in error.step_attempt_failed.error.message
    assert name_of(events[-1]) == "workflow_failed"


async def test_schedule_to_start_limit(server: DweServer, client: DweClient) -> None:
    step = {
        "step_id": "lonely",
        "agent_capability": "notification",
        "schedule_to_start_timeout": 0.2,
    }
    events = await run_workflow(client, [step])
    assert name_of(events[-1]) == "workflow_failed"
    assert "no agent with capability 'notification'" in summary_of(events[-1]).error_message


async def test_workflow_default_timeout_ends_timed_out(
    server: DweServer, client: DweClient
) -> None:
    slow = blocking_agent()
    async with serving(server.address, slow.agent):
        events = await run_workflow(
            client, [{"step_id": "slow", "agent_capability": "analysis"}], default_timeout=0.3
        )
        await asyncio.wait_for(slow.cancelled.wait(), WAIT)
    assert name_of(events[-1]) == "workflow_timed_out"
    assert events[-1].type == enums_pb2.EVENT_TYPE_WORKFLOW_TIMED_OUT
    assert "exceeded 0.3s" in summary_of(events[-1]).error_message


def recorder(order: list[str]) -> Agent:
    agent = Agent("one-slot", capabilities=["analysis"], max_concurrent_tasks=1)

    @agent.handler("analysis")
    async def run(task: Task) -> dict:
        order.append(task.context["label"])
        return {}

    return agent


async def _start(client: DweClient, label: str, priority: str) -> str:
    spec = build_workflow_spec(
        label,
        [{"step_id": "s", "agent_capability": "analysis"}],
        priority=priority,
        context={"label": label},
    )
    created = await client.create_workflow(spec)
    await client.start_workflow(created.workflow_id)
    return created.workflow_id


async def _wait_all(client: DweClient, ids: list[str]) -> None:
    for wid in ids:
        async for _ in client.watch_workflow(wid):
            pass


async def test_critical_runs_before_background_when_agents_are_scarce(
    server: DweServer, client: DweClient
) -> None:
    ids, order = [], []
    for i in range(10):  # interleaved submissions, no agent yet: all wait
        ids.append(await _start(client, f"bg{i}", "background"))
        ids.append(await _start(client, f"crit{i}", "critical"))
    async with serving(server.address, recorder(order)):
        await _wait_all(client, ids)
    assert order == [f"crit{i}" for i in range(10)] + [f"bg{i}" for i in range(10)]


# Far more CRITICAL workflows than aging needs to lift BACKGROUND (a few dozen).
MAX_CRITICAL = 500


async def test_aged_background_workflow_overtakes_waiting_critical_work(
    make_server: MakeServer,
) -> None:
    """One agent slot, and a CRITICAL workflow always waiting: each CRITICAL handler
    starts the next CRITICAL workflow before it returns, so whenever the slot frees a
    CRITICAL step is queued. Only aging (priority_aging=0.05: BACKGROUND reaches
    CRITICAL after 4 periods, and it started first) lets BACKGROUND through; which
    dispatch that is, the test does not decide. How aging ranks by waited time is
    table-tested on the engine with a fake clock (tests/engine)."""
    aging_server = await make_server(priority_aging=0.05)
    ran: list[str] = []
    started: list[str] = []
    waiting_when_background_ran: list[str] = []
    agent = Agent("one-slot", capabilities=["analysis"], max_concurrent_tasks=1)
    async with DweClient(aging_server.address) as client:

        async def start(label: str, priority: str) -> str:
            wid = await _start(client, label, priority)
            started.append(label)
            return wid

        @agent.handler("analysis")
        async def run(task: Task) -> dict:
            label = task.context["label"]
            if label == "background":
                waiting_when_background_ran.extend(x for x in started if x not in (*ran, label))
            ran.append(label)
            if "background" not in ran and len(started) < MAX_CRITICAL:
                await start(f"crit{len(started)}", "critical")
            return {}

        await start("crit0", "critical")  # no agent yet: both wait
        background = await start("background", "background")
        async with serving(aging_server.address, agent):
            await _wait_all(client, [background])
            await wait_for(lambda: set(ran) == set(started), what="every workflow ran")
    # A CRITICAL workflow, started before BACKGROUND was dispatched, was still waiting.
    assert waiting_when_background_ran, f"BACKGROUND ran only once nothing waited: {ran}"


async def test_excess_workflows_wait_queued_and_start_by_priority(
    make_server: MakeServer,
) -> None:
    limited_server = await make_server(max_concurrent_workflows=1)
    order: list[str] = []
    async with DweClient(limited_server.address) as client:
        first = await _start(client, "first", "low")
        low = await _start(client, "low", "low")
        high = await _start(client, "high", "high")
        status = await client.get_workflow_status(high)
        assert status.state == enums_pb2.WORKFLOW_STATE_QUEUED
        async with serving(limited_server.address, recorder(order)):
            await _wait_all(client, [first, low, high])
        replay = [name_of(e) async for e in client.watch_workflow(high)]
    assert order == ["first", "high", "low"]
    assert replay[:2] == ["workflow_queued", "workflow_started"]


async def test_data_transformations_apply_to_outputs(server: DweServer, client: DweClient) -> None:
    agent = Agent("data", capabilities=["data_fetch", "transformation"])

    @agent.handler("data_fetch")
    async def fetch(task: Task) -> dict:
        return {
            "records": [
                {"status": "active", "amount": 5},
                {"status": "closed", "amount": 7},
                {"status": "active", "amount": 3},
            ]
        }

    @agent.handler("transformation")
    async def process(task: Task) -> dict:
        return {"records": task.inputs["fetch_raw_data"]["records"]}

    steps = [
        {
            "step_id": "fetch_raw_data",
            "agent_capability": "data_fetch",
            "data_transformations": [
                {"type": "filter", "criteria": {"status": {"equals": "active"}}}
            ],
        },
        {
            "step_id": "process_data",
            "agent_capability": "transformation",
            "dependencies": ["fetch_raw_data"],
            "data_transformations": [
                {"type": "map", "mapping": {"records": "processed_records"}},
                {"type": "aggregate", "aggregate_type": "sum", "field": "amount"},
            ],
        },
    ]
    async with serving(server.address, agent):
        events = await run_workflow(client, steps)
    results = summary_of(events[-1]).results
    assert orjson.loads(results["fetch_raw_data"].data) == {
        "records": [{"status": "active", "amount": 5}, {"status": "active", "amount": 3}]
    }
    assert orjson.loads(results["process_data"].data) == {"sum": 8}


async def test_registry_file_entries_reach_agents_and_listing(
    make_server: MakeServer, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.yaml"
    registry.write_text(
        "agents:\n"
        "  - id: multi_specialist\n"
        "    type: MultiSpecialist\n"
        "    capabilities: [analysis, validation, recommendation]\n"
        "    max_tasks: 3\n"
        "    config: {model: advanced, timeout: 300}\n"
        "  - id: standby\n"
        "    type: Standby\n"
        "    capabilities: [notification]\n"
    )
    registry_server = await make_server(agents_file=str(registry))
    agent = Agent("multi_specialist", capabilities=["analysis"])
    seen: dict = {}

    @agent.handler("analysis")
    async def analyze(task: Task) -> dict:
        seen.update(task.config)
        return {}

    async with (
        DweClient(registry_server.address) as client,
        serving(registry_server.address, agent),
    ):
        await run_workflow(client, [{"step_id": "a", "agent_capability": "analysis"}])
        listed = {a.agent_id: a for a in await client.list_agents()}
    assert seen == {"model": "advanced", "timeout": 300}
    assert listed["multi_specialist"].registered and listed["multi_specialist"].connected
    assert listed["standby"].registered and not listed["standby"].connected
    assert list(listed["standby"].capabilities) == ["notification"]
