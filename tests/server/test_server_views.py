"""Registry files, status views and metrics: tables of plain inputs, plus OTel export."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from dwe.clients.typed import DweClient
from dwe.server.app import load_registry
from dwe.server.engine.model import (
    Blob,
    ErrorInfo,
    ExecutionMode,
    StepSpec,
    StepState,
    WorkflowSpec,
    WorkflowState,
)
from dwe.server.engine.runs import WorkflowRun
from dwe.server.runtime.views import status_of_row, status_of_run
from dwe.server.store.base import StepRow, WorkflowRow

from ..conftest import MakeServer
from .helpers import recording_agent, run_workflow, serving


@pytest.mark.parametrize(
    ("text", "suffix", "expected"),
    [
        (
            "- {id: a, type: A, capabilities: [x, y], max_tasks: 2, config: {k: 1}}",
            ".yaml",
            [("a", "A", ("x", "y"), 2, {"k": 1})],
        ),
        ("agents:\n  - {agent_id: b, capabilities: [z]}", ".yml", [("b", "", ("z",), 5, {})]),
        (
            '{"agents": [{"id": "c", "agent_type": "C", "capabilities": ["q"],'
            ' "max_concurrent_tasks": 7}]}',
            ".json",
            [("c", "C", ("q",), 7, {})],
        ),
    ],
)
def test_load_registry(tmp_path: Path, text: str, suffix: str, expected: list) -> None:
    path = tmp_path / f"registry{suffix}"
    path.write_text(text)
    got = [
        (r.agent_id, r.agent_type, r.capabilities, r.max_concurrent_tasks, r.config)
        for r in load_registry(str(path))
    ]
    assert got == expected


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("- {capabilities: [x]}", "agents[0]: needs an id"),
        ("- {id: a}", "agents[0]: needs capabilities"),
        ("just text", "expected a list of agents"),
    ],
)
def test_load_registry_errors(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(error)):
        load_registry(str(path))


def _run() -> WorkflowRun:
    spec = WorkflowSpec(
        "wf",
        (
            StepSpec("a", capability="c"),
            StepSpec("b", capability="c", dependencies=("a",)),
            StepSpec("c", capability="c", dependencies=("a",)),
        ),
        mode=ExecutionMode.PARALLEL,
    )
    wf = WorkflowRun("w1", spec, created_at=100.0)
    wf.state, wf.started_at = WorkflowState.RUNNING, 101.0
    a, b, _ = wf.order
    a.state, a.attempt, a.agent_id = StepState.COMPLETED, 1, "x"
    a.assigned_at, a.started_at, a.finished_at = 101.0, 101.5, 103.0
    a.output = Blob("json/plain", b'{"ok":true}')
    b.state, b.attempt, b.agent_id, b.assigned_at, b.started_at = (
        StepState.RUNNING,
        2,
        "y",
        103,
        104,
    )
    wf.completed = 1
    return wf


@pytest.mark.parametrize(
    ("now", "progress", "current", "elapsed", "b_time"),
    [(105.0, 1 / 3, "b", 4.0, 1.0), (110.0, 1 / 3, "b", 9.0, 6.0)],
)
def test_status_of_a_live_run(
    now: float, progress: float, current: str, elapsed: float, b_time: float
) -> None:
    view = status_of_run(_run(), now)
    assert (view.state, view.progress, view.current_step) == (
        WorkflowState.RUNNING,
        pytest.approx(progress),
        current,
    )
    assert view.total_execution_time == pytest.approx(elapsed)
    steps = {s.step_id: s for s in view.steps}
    assert (steps["a"].execution_time, steps["a"].attempts, steps["a"].agent_id) == (1.5, 1, "x")
    assert steps["b"].execution_time == pytest.approx(b_time)
    assert steps["c"].state is StepState.PENDING and steps["c"].execution_time == 0.0
    assert [s.dependencies for s in view.steps] == [(), ("a",), ("a",)]  # the dashboard's edges


def test_status_of_a_stored_row_matches_the_live_view() -> None:
    live = status_of_run(_run(), 105.0)
    wf = _run()
    row = WorkflowRow(
        "w1",
        "",
        wf.spec,
        "running",
        100.0,
        101.0,
        0.0,
        "",
        {},
        "",
        1,
        7,
        steps=[
            StepRow(
                s.spec.step_id,
                s.index,
                str(s.state),
                s.attempt,
                s.agent_id,
                "",
                s.assigned_at,
                s.started_at,
                s.finished_at,
                s.output,
                "",
                "",
            )
            for s in wf.order
        ],
    )
    stored = status_of_row(row, 105.0)
    assert (stored.progress, stored.current_step, stored.last_seq) == (live.progress, "b", 7)
    assert [(s.step_id, s.state, s.execution_time, s.dependencies) for s in stored.steps] == [
        (s.step_id, s.state, s.execution_time, s.dependencies) for s in live.steps
    ]
    failed = dataclasses.replace(
        row,
        steps=[
            dataclasses.replace(row.steps[0], state="failed", error_message="boom", error_type="E")
        ],
    )
    assert status_of_row(failed, 105.0).steps[0].error == ErrorInfo("boom", "E")


async def test_metrics_rpc_and_opentelemetry_agree(make_server: MakeServer) -> None:
    reader = InMemoryMetricReader()
    server = await make_server(meter_provider=MeterProvider([reader]))
    log: list = []
    async with (
        DweClient(server.address) as client,
        serving(server.address, recording_agent(log, agent_id="m", capabilities=["c"])),
    ):
        for _ in range(2):
            await run_workflow(
                client,
                [
                    {"step_id": "a", "agent_capability": "c"},
                    {"step_id": "b", "agent_capability": "c"},
                ],
            )
        metrics = await client.get_engine_metrics()
        points = {
            m.name: getattr(m.data.data_points[0], "value", None)  # histograms have none
            for rm in reader.get_metrics_data().resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
        }
    assert (metrics.completed_workflows, metrics.completed_steps) == (2, 4)
    assert dict(metrics.agent_load) == {"m": 0}
    assert metrics.resource_usage.memory_mb > 0
    assert set(metrics.performance_metrics) >= {"workflow_count", "steps_per_second"}
    assert points["dwe.workflows.completed"] == 2
    assert points["dwe.steps.completed"] == 4
    assert points["dwe.agents.connected"] == 1


async def test_metrics_interval_zero_keeps_no_history(make_server: MakeServer) -> None:
    srv = await make_server(metrics_interval=0)
    async with DweClient(srv.address) as client:
        for _ in range(3):  # each round trip lets the loop run any sampler task
            metrics = await client.get_engine_metrics()
    assert set(metrics.performance_metrics) >= {"workflow_count", "steps_per_second"}
    assert all(not series.values for series in metrics.performance_metrics.values())
    assert metrics.resource_usage.memory_mb > 0  # the current figures are still there
