"""The guide's snippets run unchanged against a running server and against the embedded one.

The code is taken from ../shared/SEED_GUIDE.md itself (the blocks under
"3. Create Workflow Steps" and "4. Create and Execute Workflow"), with the
guide's agents (examples/demo_agents.py) connected as separate processes.
"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dwe.clients import (
    AgentCapability,
    DynamicWorkflowEngine,
    ExecutionMode,
    WorkflowPriority,
    WorkflowState,
)
from dwe.clients.local import ServerProcess

from ..conftest import ROOT, wait_for

GUIDE = ROOT.parent / "shared" / "SEED_GUIDE.md"
AGENTS = ("zoho_scout", "risk_analyzer", "memory_analyst", "recommender")


def guide_block(heading: str) -> str:
    """The first ```python block after a heading of the guide."""
    if not GUIDE.exists():
        pytest.skip(f"{GUIDE} is not beside the repository")
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index(heading)
    match = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert match, heading
    return match.group(1)


@pytest.fixture
def server_address(tmp_path: Path) -> Iterator[str]:
    """`dwe server` as a user runs it, on a free port."""
    server = ServerProcess(tmp_path / "guide.db", cwd=ROOT)
    try:
        yield server.address
    finally:
        server.stop()


def start_guide_agents(spawn_agent: Any, address: str) -> None:
    for name in AGENTS:
        spawn_agent(address, f"examples.demo_agents:{name}", DWE_TEST_AGENT_ID=name)


async def run_guide_snippet(engine: DynamicWorkflowEngine) -> str:
    """Exec the guide's steps + create/execute blocks with ``engine``; return what they print."""
    namespace: dict[str, Any] = {
        "engine": engine,
        "WorkflowPriority": WorkflowPriority,
        "ExecutionMode": ExecutionMode,
        "AgentCapability": AgentCapability,
    }
    exec(guide_block("### 3. Create Workflow Steps"), namespace)
    body = guide_block("### 4. Create and Execute Workflow")
    exec(
        "async def __snippet():\n" + textwrap.indent(body, "    ") + "\n    return workflow",
        namespace,
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        workflow = await namespace["__snippet"]()
    namespace["workflow"] = workflow
    return out.getvalue()


def check_output(printed: str) -> None:
    lines = printed.splitlines()
    assert any("Workflow started: Account Analysis Workflow" in line for line in lines)
    starts = [line for line in lines if "Starting step" in line]
    assert len(starts) == 4
    assert any(
        "Starting step fetch_account_data: Retrieve account information" in s for s in starts
    )
    assert sum("Completed step" in line for line in lines) == 4
    assert any("Fetching account ACC-12345" in line for line in lines)  # agent_stream content
    assert any("Workflow completed!" in line for line in lines)
    assert any("Success rate: 100.0%" in line for line in lines)
    assert any(re.search(r"Execution time: \d+\.\d\ds", line) for line in lines)


async def connected(engine: DynamicWorkflowEngine) -> bool:
    agents = {a["agent_id"] for a in engine.list_agents() if a.get("connected")}
    return agents >= set(AGENTS)


async def test_create_and_execute_snippet_runs_against_a_running_server(
    server_address: str, spawn_agent
) -> None:
    start_guide_agents(spawn_agent, server_address)
    engine = DynamicWorkflowEngine(target=server_address)
    try:
        # The guide's "Register Agents" block, unchanged.
        exec(
            guide_block("### 2. Register Agents"),
            {"engine": engine, "AgentCapability": AgentCapability},
        )
        await wait_for(lambda: connected(engine), what="guide agents connected")
        printed = await run_guide_snippet(engine)
        check_output(printed)
        # The registry entries and connected agents are listed together.
        agents = {a["agent_id"]: a for a in engine.list_agents()}
        assert agents["risk_analyzer"]["registered"] and agents["risk_analyzer"]["connected"]
        metrics = engine.get_engine_metrics()
        assert metrics["completed_workflows"] == 1
        assert set(metrics["agent_load"]) == set(AGENTS)
        assert "workflow_count" in metrics["performance_metrics"]
    finally:
        await engine.aclose()


async def test_snippet_runs_on_the_embedded_engine(tmp_path: Path, spawn_agent) -> None:
    engine = DynamicWorkflowEngine(db_path=str(tmp_path / "embedded.db"))
    try:
        start_guide_agents(spawn_agent, engine.address)
        await wait_for(lambda: connected(engine), what="guide agents connected")
        printed = await run_guide_snippet(engine)
        check_output(printed)
        workflows = engine.list_workflows()
        status = engine.get_workflow_status(workflows[0]["workflow_id"])
        assert status["state"] == WorkflowState.COMPLETED
        assert status["progress"] == 1.0
        assert [s["step_id"] for s in status["steps"]] == [
            "fetch_account_data",
            "analyze_risk",
            "get_historical_context",
            "generate_recommendations",
        ]
        assert all(s["attempts"] == 1 and s["agent_id"] for s in status["steps"])
    finally:
        engine.close()


async def test_custom_adaptation_rule_snippet_runs_on_the_embedded_engine(
    tmp_path: Path, spawn_agent
) -> None:

    from dwe.clients import Workflow, WorkflowStep

    engine = DynamicWorkflowEngine(db_path=str(tmp_path / "rules.db"))
    try:
        # The guide's "Custom Adaptation Rules" block, unchanged.
        exec(
            guide_block("### 3. Custom Adaptation Rules"),
            {"engine": engine, "Workflow": Workflow, "WorkflowStep": WorkflowStep, "List": list},
        )
        spawn_agent(
            engine.address,
            "counting",
            DWE_TEST_AGENT_ID="worker",
            DWE_TEST_CAPS="analysis",
            DWE_TEST_MAX=1,
            DWE_TEST_DELAY=0.01,
        )
        await wait_for(
            lambda: any(a["connected"] for a in engine.list_agents()), what="agent connected"
        )
        workflow = await engine.create_workflow(
            name="Adaptive",
            steps=[
                {
                    "step_id": "side",
                    "name": "Side",
                    "agent_capability": "analysis",
                    "estimated_duration": 0.1,
                },
                {
                    "step_id": "chain1",
                    "name": "Chain 1",
                    "agent_capability": "analysis",
                    "estimated_duration": 2.0,
                },
                {
                    "step_id": "chain2",
                    "name": "Chain 2",
                    "agent_capability": "analysis",
                    "estimated_duration": 2.0,
                    "dependencies": ["chain1"],
                },
            ],
            execution_mode=ExecutionMode.ADAPTIVE,
        )
        events = [e async for e in engine.execute_workflow(workflow)]
    finally:
        engine.close()
    adapted = [e["data"] for e in events if e["event"] == "workflow_adapted"]
    # The rule ran inside the server: its boosts are named in the adaptation.
    assert adapted and "priority boosts" in adapted[0]["reason"]
    assert adapted[0]["step_ids"][0] == "chain1"
    assert next(e["data"]["step"] for e in events if e["event"] == "agent_started") == "chain1"
    assert events[-1]["event"] == "workflow_completed"
