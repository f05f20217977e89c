"""The guide's flow end to end: embedded server, an in-process SDK agent, the engine API.

Skipped until dwe.server.embedded exists.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

pytest.importorskip("dwe.server.embedded")

from dwe.agent_sdk import Agent, Task
from dwe.clients import (
    AgentCapability,
    DynamicWorkflowEngine,
    ExecutionMode,
    ValidationError,
    WorkflowPriority,
    WorkflowState,
)

STEPS = [
    {
        "step_id": "fetch_account_data",
        "name": "Fetch Account Data",
        "description": "Retrieve account information",
        "agent_type": "zoho_scout",
        "agent_capability": "data_fetch",
        "estimated_duration": 5.0,
        "timeout_seconds": 30,
        "retry_count": 3,
    },
    {
        "step_id": "analyze_risk",
        "name": "Analyze Risk Factors",
        "agent_type": "risk_analyzer",
        "agent_capability": "analysis",
        "dependencies": ["fetch_account_data"],
        "estimated_duration": 3.0,
    },
    {
        "step_id": "get_historical_context",
        "name": "Get Historical Context",
        "agent_type": "worker",
        "agent_capability": "memory",
        "dependencies": ["fetch_account_data"],
        "estimated_duration": 2.0,
    },
]


def make_agent() -> Agent:
    agent = Agent("worker", "Worker", max_concurrent_tasks=4)

    @agent.handler("data_fetch")
    async def fetch(task: Task) -> dict:
        await task.stream("fetching")
        return {"account_id": task.context["account_id"], "revenue": 10}

    @agent.handler("analysis")
    async def analyze(task: Task) -> dict:
        return {"risk": task.inputs["fetch_account_data"]["revenue"] / 100}

    @agent.handler("memory")
    async def memory(task: Task) -> dict:
        return {"history": []}

    return agent


@pytest.mark.timeout(60)
async def test_guide_flow_on_embedded_server(tmp_path: Path) -> None:
    engine = DynamicWorkflowEngine(db_path=str(tmp_path / "dwe.db"))
    stop = asyncio.Event()
    agent = make_agent()
    serving = asyncio.create_task(agent.serve(engine.address, stop))
    try:
        engine.register_agent("zoho_scout", "ZohoDataScout", [AgentCapability.DATA_FETCH])
        await asyncio.wait_for(agent.connected.wait(), 10)

        with pytest.raises(ValidationError):
            await engine.create_workflow("bad", steps=[{"step_id": "a", "dependencies": ["a"]}])

        workflow = await engine.create_workflow(
            name="Account Analysis",
            description="d",
            steps=STEPS,
            priority=WorkflowPriority.HIGH,
            execution_mode=ExecutionMode.ADAPTIVE,
            context={"account_id": "ACC-12345"},
        )
        assert [s.step_id for s in workflow.get_critical_path()] == [
            "fetch_account_data",
            "analyze_risk",
        ]
        seen = []
        async for event in engine.execute_workflow(workflow, session_id="s-1"):
            seen.append(event)
            if event["event"] == "workflow_completed":
                final = event["data"]["final_output"]
                assert final["success_rate"] == 1.0
                break
        names = [e["event"] for e in seen]
        assert names[0] == "workflow_started"
        assert "agent_stream" in names
        assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))
        assert workflow.state is WorkflowState.COMPLETED
        assert workflow.results["analyze_risk"] == {"risk": 0.1}

        status = engine.get_workflow_status(workflow.workflow_id)
        assert status is not None
        assert (status["state"], status["progress"]) == ("completed", 1.0)
        assert {s["step_id"] for s in status["steps"]} == {s["step_id"] for s in STEPS}
        metrics = engine.get_engine_metrics()
        assert metrics["completed_workflows"] >= 1
        assert isinstance(metrics["performance_metrics"]["workflow_count"], list)
        assert engine.get_workflow_status("nope") is None
        assert await engine.cancel_workflow(workflow.workflow_id) is False
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, 10)
        await engine.aclose()
        engine.close()
