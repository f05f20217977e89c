"""ADAPTIVE end to end: critical path first, workflow_adapted events, custom rules."""

from __future__ import annotations

import pytest

from dwe.clients.typed import DweClient
from dwe.server.app import DweServer

from ..conftest import MakeServer
from .helpers import name_of, recording_agent, run_workflow, serving, started

# Short side steps declared first, then a long chain whose tail needs another capability.
GRAPH = [
    *(
        {"step_id": f"side{i}", "agent_capability": "c", "estimated_duration": 0.1}
        for i in range(4)
    ),
    {"step_id": "chain1", "agent_capability": "c", "estimated_duration": 1.0},
    {
        "step_id": "chain2",
        "agent_capability": "d",
        "estimated_duration": 1.0,
        "dependencies": ["chain1"],
    },
]


@pytest.mark.parametrize(("mode", "first"), [("adaptive", "chain1"), ("parallel", "side0")])
async def test_long_chain_starts_first_in_adaptive_mode(
    server: DweServer, client: DweClient, mode: str, first: str
) -> None:
    log: list[tuple[str, str]] = []
    slot = recording_agent(log, agent_id="one-slot", capabilities=["c"], max_concurrent_tasks=1)
    tail = recording_agent(log, agent_id="tail", capabilities=["d"])
    async with serving(server.address, slot, tail):
        events = await run_workflow(client, GRAPH, execution_mode=mode)
    assert name_of(events[-1]) == "workflow_completed"
    assert started(log)[0] == first
    adapted = [e for e in events if name_of(e) == "workflow_adapted"]
    if mode == "adaptive":
        assert adapted and adapted[0].workflow_adapted.decision == "reordered"
        assert adapted[0].workflow_adapted.step_ids[0] == "chain1"
    else:
        assert not adapted


async def test_rules_from_the_command_line_boost_and_survive_errors(
    make_server: MakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    ruled_server = await make_server(
        rules="tests.support.rules:broken,tests.support.rules:boost_urgent"
    )
    log: list[tuple[str, str]] = []
    agent = recording_agent(log, agent_id="one", capabilities=["c"], max_concurrent_tasks=1)
    steps = [
        {"step_id": "long", "agent_capability": "c", "estimated_duration": 50.0},
        {"step_id": "urgent_fix", "agent_capability": "c", "estimated_duration": 1.0},
    ]
    async with DweClient(ruled_server.address) as client, serving(ruled_server.address, agent):
        events = await run_workflow(client, steps, execution_mode="adaptive")
        metrics = await client.get_engine_metrics()
    assert name_of(events[-1]) == "workflow_completed"
    assert started(log) == ["urgent_fix", "long"]
    (adapted,) = [e for e in events if name_of(e) == "workflow_adapted"]
    assert "priority boosts" in adapted.workflow_adapted.reason
    # The broken rule was logged, counted and skipped; the run was not affected.
    assert metrics.adaptation_rule_errors == 1
    assert "this rule is broken on purpose" in caplog.text
