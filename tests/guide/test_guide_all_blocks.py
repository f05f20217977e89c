"""Every code block of the guide that is meant to run, run as written, in order.

The blocks come from ../shared/SEED_GUIDE.md with ``src.agents...`` imports
replaced by ``dwe.clients``. They share one namespace, as a reader pasting
them into one session would; the guide's agents (examples/demo_agents.py) run
as separate processes connected to the embedded engine. Where a block uses a
name the guide never defines (``independent_steps``, ``handle_event``,
``send_alert``...), the test supplies it; where a block only defines data, the
test feeds that data to the engine, so what the guide shows is also accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import logging
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from dwe.clients import (
    AgentCapability,
    DynamicWorkflowEngine,
    Workflow,
    WorkflowStep,
)

from ..conftest import wait_for
from .test_guide_snippets import AGENTS, guide_block


def source(heading: str, start: str | None = None, end: str | None = None) -> str:
    """A guide block, import-fixed, optionally cut between two marker comments."""
    body = guide_block(heading)
    body = re.sub(r"from src\.agents\.\w+ import", "from dwe.clients import", body)
    if start is not None:
        body = body[body.index(start) :]
    if end is not None:
        body = body[: body.index(end)]
    return body


async def run_block(ns: dict[str, Any], body: str) -> str:
    """Run a block with top-level await allowed; its names land in ``ns``; returns stdout."""
    exec("async def __block():\n" + textwrap.indent(body, "    ") + "\n    return locals()", ns)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ns.update(await ns["__block"]())
    return out.getvalue()


async def test_every_runnable_guide_block(
    tmp_path: Path, spawn_agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DWE_DB", str(tmp_path / "guide.db"))
    ns: dict[str, Any] = {"Workflow": Workflow, "WorkflowStep": WorkflowStep, "List": list}

    # Getting Started 1: Basic Setup -> an embedded engine on $DWE_DB.
    await run_block(ns, source("### 1. Basic Setup"))
    engine: DynamicWorkflowEngine = ns["engine"]
    for name in AGENTS:
        spawn_agent(engine.address, f"examples.demo_agents:{name}", DWE_TEST_AGENT_ID=name)

    async def all_connected() -> bool:
        return {a["agent_id"] for a in engine.list_agents() if a["connected"]} >= set(AGENTS)

    await wait_for(all_connected, what="guide agents connected")

    # 2-4: register, steps, create and execute.
    await run_block(ns, source("### 2. Register Agents"))
    await run_block(ns, source("### 3. Create Workflow Steps"))
    printed = await run_block(ns, source("### 4. Create and Execute Workflow"))
    assert "Workflow completed!" in printed and "Success rate: 100.0%" in printed
    account_workflow = ns["workflow"]

    # Advanced usage.
    await run_block(ns, source("### 1. Parallel Execution"))
    assert ns["parallel_workflow"].workflow_id
    await run_block(ns, source("### 2. Data Transformations"))
    created = await engine.create_workflow(name="Transforms", steps=ns["transform_steps"])
    assert [s.step_id for s in created.steps] == ["fetch_raw_data", "process_data"]
    await run_block(ns, source("### 3. Custom Adaptation Rules"))
    await run_block(
        ns, source("### 4. Error Handling and Recovery", end="# Execute with error handling")
    )
    ns["workflow"] = await engine.create_workflow(name="Robust", steps=ns["robust_steps"])
    printed = await run_block(
        ns, source("### 4. Error Handling and Recovery", start="# Execute with error handling")
    )
    assert "Workflow execution failed" not in printed

    # Agent capabilities: the enum is the guide's.
    guide_caps = dict(re.findall(r'(\w+) = "(\w+)"', source("### Supported Capabilities")))
    assert {c.name: c.value for c in AgentCapability} == guide_caps
    await run_block(ns, source("### Agent Registration"))

    # Monitoring: metrics and status print the guide's keys.
    printed = await run_block(ns, source("### Engine Metrics"))
    assert re.search(r"Active workflows: \d+", printed)
    assert "Recent workload: [" in printed
    ns["workflow"] = account_workflow
    printed = await run_block(ns, source("### Workflow Status"))
    assert "Workflow state: completed" in printed and "Progress: 100.0%" in printed
    assert printed.count("Execution time:") == 4

    # Best practices.
    await run_block(ns, source("### 1. Workflow Design"))
    for key in ("well_designed_steps", "poorly_designed_steps"):
        assert (await engine.create_workflow(name=key, steps=ns[key])).workflow_id
    await run_block(ns, source("### 2. Agent Selection"))
    await run_block(ns, source("### 3. Error Handling"))
    ns["logger"] = logging.getLogger("guide")

    async def execute_fallback_workflow(context: Any) -> None:
        raise AssertionError("the fallback must not be needed")

    ns["execute_fallback_workflow"] = execute_fallback_workflow
    fresh = await engine.create_workflow(name="Fallback", steps=ns["steps"])
    seen = [e["event"] async for e in ns["execute_with_fallback"](fresh)]
    assert seen[-1] == "workflow_completed"
    ns["independent_steps"], ns["complex_steps"] = ns["parallel_steps"], ns["steps"]
    await run_block(ns, source("### 4. Performance Optimization"))
    assert ns["sequential_workflow"].execution_mode.value == "sequential"

    # Troubleshooting.
    for heading in (
        "#### 1. Workflow Timeout",
        "#### 2. Agent Overload",
        "#### 3. Memory Issues",
        "#### 4. Dependency Resolution",
    ):
        await run_block(ns, source(heading))
    assert [s["step_id"] for s in ns["corrected_steps"]] == ["A", "D", "B", "C"]

    # Integrations.
    await run_block(ns, source("### 1. Integration with Intent Detection"))

    async def create_account_analysis_workflow(intent: Any) -> Any:
        workflow, _ = await ns["engine"].create_workflow_from_intent(intent.message)
        return workflow

    ns["create_account_analysis_workflow"] = create_account_analysis_workflow
    made = await ns["adaptive_workflow_creation"]("Please analyze account ACC-12345")
    assert made.context == {"account_id": "ACC-12345"}
    await run_block(ns, source("### 2. Integration with Agent Registry"))
    ns["register_agents_from_registry"](
        [{"id": "registry_agent", "type": "RegistryAgent", "capabilities": ["notification"]}]
    )
    assert "registry_agent" in {a["agent_id"] for a in engine.list_agents()}

    logged: list[dict[str, Any]] = []
    ns["send_alert"] = lambda message: None
    ns["log_metrics"] = logged.append
    await run_block(ns, source("### 3. Integration with Monitoring Systems"))
    await wait_for(lambda: logged, what="the monitoring loop logged metrics once")
    for task in asyncio.all_tasks():
        if task.get_coro().__name__ == "monitoring_loop":  # type: ignore[union-attr]
            task.cancel()
    assert "active_workflows" in logged[0]

    # Migration guide: the "new approach" half (the old one is the system it replaces).
    handled: list[dict[str, Any]] = []
    ns["handle_event"] = handled.append
    await run_block(ns, source("### From Simple Orchestrator", start="# New approach"))
    assert handled[-1]["event"] == "workflow_completed"

    # API reference: the documented signatures exist.
    params = {
        name: list(inspect.signature(getattr(DynamicWorkflowEngine, name)).parameters)[1:]
        for name in (
            "create_workflow",
            "execute_workflow",
            "register_agent",
            "cancel_workflow",
            "get_workflow_status",
            "get_engine_metrics",
        )
    }
    assert params["create_workflow"][:3] == ["name", "description", "steps"]
    assert {"priority", "context"} <= set(params["create_workflow"])
    assert params["execute_workflow"] == ["workflow", "context", "session_id"]
    assert params["register_agent"][:5] == [
        "agent_id",
        "agent_type",
        "capabilities",
        "max_concurrent_tasks",
        "config",
    ]
    assert params["cancel_workflow"][0] == "workflow_id"
    ctor = inspect.signature(DynamicWorkflowEngine).parameters
    assert {
        "intent_engine",
        "agent_registry",
        "max_concurrent_workflows",
        "default_timeout",
        "enable_adaptation",
        "enable_monitoring",
    } <= set(ctor)
    engine.close()
    ns["engine"].close()
