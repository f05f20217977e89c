"""DynamicWorkflowEngine's blocking methods, their awaitable twins and its constructor options.

Real servers throughout: the embedded one (its own thread) or the ``server`` fixture
running on the test's own event loop, with an in-process SDK agent (``py_agent``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from realkit import PyAgent, wait_for

from dwe.clients import (
    DynamicWorkflowEngine,
    ExecutionMode,
    FailedPreconditionError,
    SyncDweClient,
    ValidationError,
    WorkflowState,
)
from dwe.server.app import DweServer

WORK = [{"step_id": "w", "name": "W", "agent_capability": "work"}]
STABLE_METRICS = ("active_workflows", "completed_workflows", "agent_load", "connected_agents")


def rule(workflow: Any, ready_steps: list[Any]) -> None:
    """An adaptation rule that changes nothing."""


async def test_blocking_methods_answer_inside_a_running_loop_on_the_embedded_engine(
    tmp_path: Path,
) -> None:
    engine = DynamicWorkflowEngine(db_path=str(tmp_path / "dwe.db"))
    try:
        # Called straight from this coroutine: the loop waits, the embedded server answers.
        engine.register_agent("scout", "Scout", ["data_fetch"], max_concurrent_tasks=2)
        workflow = await engine.create_workflow("wf", steps=WORK)
        status = engine.get_workflow_status(workflow.workflow_id)
        assert status is not None
        assert (status["workflow_id"], status["state"]) == (workflow.workflow_id, "pending")
        assert engine.get_workflow_status("nope") is None
        metrics = engine.get_engine_metrics()
        assert (metrics["active_workflows"], metrics["completed_workflows"]) == (0, 0)
        assert [a["agent_id"] for a in engine.list_agents()] == ["scout"]
        assert [w["workflow_id"] for w in engine.list_workflows()] == [workflow.workflow_id]
        assert engine.analyze_intent("analyze account ACC-7").entities == {"account_id": "ACC-7"}
        # The engine's blocking client is a SyncDweClient: one of its own behaves the same.
        with SyncDweClient(engine.address) as sync:
            assert (
                sync.get_workflow_status(workflow.workflow_id).workflow_id == workflow.workflow_id
            )
            assert sync.get_engine_metrics().active_workflows == 0
    finally:
        await engine.aclose()


async def test_each_async_twin_works_against_a_server_on_the_test_loop(
    server: DweServer, py_agent: PyAgent
) -> None:
    async with DynamicWorkflowEngine(server.address) as engine:
        await engine.register_agent_async("scout", "Scout", ["data_fetch"], config={"t": 1})
        await engine.register_agent_async("memory", ["memory"])  # the guide's short form
        agents = {a["agent_id"]: a for a in await engine.list_agents_async()}
        assert set(agents) == {"scout", "memory", "py-agent"}
        assert (agents["scout"]["config"], agents["scout"]["max_concurrent_tasks"]) == ({"t": 1}, 5)
        assert agents["memory"]["agent_type"] == "memory"

        workflow = await engine.create_workflow("wf", steps=WORK)
        assert await engine.get_workflow_status_async("nope") is None
        pending = await engine.get_workflow_status_async(workflow)
        assert pending is not None and pending["state"] == "pending"
        [e async for e in engine.execute_workflow(workflow)]
        done = await engine.get_workflow_status_async(workflow.workflow_id)
        assert done is not None and (done["state"], done["progress"]) == ("completed", 1.0)

        rows = await engine.list_workflows_async(states=[WorkflowState.COMPLETED], limit=5)
        assert [r["workflow_id"] for r in rows] == [workflow.workflow_id]
        assert await engine.list_workflows_async(states=["pending"]) == []
        metrics = await engine.get_engine_metrics_async()
        assert (metrics["completed_workflows"], metrics["agent_load"]) == (1, {"py-agent": 0})
        intent = await engine.analyze_intent_async("please analyze account ACC-12345")
        assert (intent.primary_intent, intent.entities) == (
            "account_analysis",
            {"account_id": "ACC-12345"},
        )

        # Same arguments, same results as the blocking methods (run off this loop).
        twins: list[tuple[Any, Any]] = [
            (engine.get_workflow_status_async(workflow), engine.get_workflow_status, (workflow,)),
            (engine.list_agents_async(), engine.list_agents, ()),
            (engine.list_workflows_async(limit=1), engine.list_workflows, ((), 1)),
            (engine.analyze_intent_async("hello"), engine.analyze_intent, ("hello",)),
        ]
        for awaitable, blocking, args in twins:
            assert await awaitable == await asyncio.to_thread(blocking, *args)
        blocking_metrics = await asyncio.to_thread(engine.get_engine_metrics)
        assert {k: blocking_metrics[k] for k in STABLE_METRICS} == {
            k: metrics[k] for k in STABLE_METRICS
        }


async def test_adaptation_disabled_creates_adaptive_as_parallel_and_refuses_rules(
    tmp_path: Path,
) -> None:
    async with DynamicWorkflowEngine(
        db_path=str(tmp_path / "dwe.db"), enable_adaptation=False
    ) as engine:
        workflow = await engine.create_workflow(
            "wf", steps=WORK, execution_mode=ExecutionMode.ADAPTIVE
        )
        assert workflow.execution_mode is ExecutionMode.PARALLEL
        stored = await engine.get_workflow_status_async(workflow)
        assert stored is not None and stored["execution_mode"] == "parallel"
        sequential = await engine.create_workflow("s", steps=WORK, execution_mode="sequential")
        assert sequential.execution_mode is ExecutionMode.SEQUENTIAL  # other modes unchanged
        with pytest.raises(FailedPreconditionError, match="adaptation is disabled"):
            engine.add_adaptation_rule(rule)


async def test_adaptation_enabled_keeps_adaptive_and_takes_rules(tmp_path: Path) -> None:
    async with DynamicWorkflowEngine(db_path=str(tmp_path / "dwe.db")) as engine:
        workflow = await engine.create_workflow("wf", steps=WORK, execution_mode="adaptive")
        assert workflow.execution_mode is ExecutionMode.ADAPTIVE
        engine.add_adaptation_rule(rule)


@pytest.mark.parametrize(
    ("setting", "flag"),
    [
        ({"max_concurrent_workflows": 10}, "--max-concurrent-workflows"),
        ({"db_path": "dwe.db"}, "--db"),
    ],
)
def test_embedded_server_settings_with_a_target_name_the_server_flag(
    setting: dict[str, Any], flag: str
) -> None:
    with pytest.raises(ValidationError, match=f"embedded server only.*`dwe server {flag}"):
        DynamicWorkflowEngine("127.0.0.1:1", **setting)


async def test_embedded_defaults_and_the_guide_constructor(tmp_path: Path) -> None:
    guide = DynamicWorkflowEngine(
        max_concurrent_workflows=10,
        enable_adaptation=True,
        enable_monitoring=True,
        db_path=str(tmp_path / "guide.db"),
    )
    default = DynamicWorkflowEngine(db_path=str(tmp_path / "default.db"))
    remote = DynamicWorkflowEngine(default.address)
    try:
        assert guide.max_concurrent_workflows == default.max_concurrent_workflows == 10
        assert remote.max_concurrent_workflows is None  # the server's own setting applies
    finally:
        for engine in (remote, default, guide):
            await engine.aclose()


async def test_monitoring_disabled_keeps_no_metrics_history(tmp_path: Path) -> None:
    async with DynamicWorkflowEngine(
        db_path=str(tmp_path / "dwe.db"), enable_monitoring=False
    ) as engine:
        for _ in range(3):  # each call lets the server's loop run a sampler, if it had one
            metrics = await engine.get_engine_metrics_async()
        assert metrics["performance_metrics"]["workflow_count"] == []
        assert all(series == [] for series in metrics["performance_metrics"].values())


async def test_monitoring_enabled_samples_metrics_history(tmp_path: Path) -> None:
    async with DynamicWorkflowEngine(db_path=str(tmp_path / "dwe.db")) as engine:

        async def sampled() -> bool:
            metrics = await engine.get_engine_metrics_async()
            return bool(metrics["performance_metrics"]["workflow_count"])

        await wait_for(sampled, what="a metrics history sample")
