"""execute_workflow yields the guide's dicts, with the keys its snippets read."""

from __future__ import annotations

import asyncio
from pathlib import Path

from dwe.agent_sdk import Agent, Task
from dwe.clients import DynamicWorkflowEngine


async def test_event_dicts_have_the_guide_shape(tmp_path: Path) -> None:
    engine = DynamicWorkflowEngine(db_path=str(tmp_path / "shapes.db"))
    agent = Agent("shaper", capabilities=["data_fetch", "analysis"], max_concurrent_tasks=2)

    @agent.handler("data_fetch")
    async def fetch(task: Task) -> dict:
        await task.stream("fetching")
        return {"records": [1, 2, 3]}

    @agent.handler("analysis")
    async def analyze(task: Task) -> dict:
        raise ValueError("model unavailable")

    serving = asyncio.create_task(agent.serve(engine.address))
    try:
        await asyncio.wait_for(agent.connected.wait(), 10)
        workflow = await engine.create_workflow(
            name="Shapes",
            description="event shapes",
            steps=[
                {
                    "step_id": "fetch",
                    "name": "Fetch",
                    "description": "Get records",
                    "agent_capability": "data_fetch",
                },
                {
                    "step_id": "score",
                    "name": "Score",
                    "agent_capability": "analysis",
                    "dependencies": ["fetch"],
                    "optional": True,
                },
            ],
            context={"account_id": "ACC-7"},
        )
        events = [e async for e in engine.execute_workflow(workflow, session_id="s-1")]
    finally:
        agent.stop()
        await asyncio.wait_for(serving, 15)
        await engine.aclose()

    names = [e["event"] for e in events]
    assert names == [
        "workflow_started",
        "agent_started",
        "agent_stream",
        "agent_completed",
        "agent_started",
        "agent_error",
        "workflow_completed",
    ]
    for i, e in enumerate(events, start=1):
        assert e["seq"] == i and e["workflow_id"] == workflow.workflow_id
        assert isinstance(e["timestamp"], float)
    by_name: dict = {}
    for e in events:
        by_name.setdefault(e["event"], e["data"])  # first of each kind
    assert by_name["workflow_started"]["name"] == "Shapes"
    assert by_name["workflow_started"]["session_id"] == "s-1"
    assert by_name["agent_started"]["step"] == "fetch"
    assert by_name["agent_started"]["task"] == "Get records"
    assert by_name["agent_stream"]["content"] == "fetching"
    assert by_name["agent_completed"]["step"] == "fetch"
    assert by_name["agent_error"]["step"] == "score"
    assert by_name["agent_error"]["error_message"] == "model unavailable"
    final = by_name["workflow_completed"]["final_output"]
    assert final["success_rate"] == 0.5  # the optional step failed: 1 of 2 completed
    assert final["total_execution_time"] > 0
    assert final["results"] == {"fetch": {"records": [1, 2, 3]}}
    assert workflow.state.value == "completed"
