"""Intents end to end: StartIntent over gRPC, `dwe run --intent`, and the Python engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from dwe.agent_sdk import Agent, Task
from dwe.clients import DynamicWorkflowEngine, FailedPreconditionError, IntentDetectionEngine
from dwe.clients.typed import DweClient
from dwe.server.app import DweServer

from ..conftest import MakeServer
from ..support.intents import REFUND_RULES
from ..support.procs import run_cli
from .helpers import serving, summary_of


def payments() -> Agent:
    agent = Agent("payments", capabilities=["payments"])

    @agent.handler("payments")
    async def handle(task: Task) -> dict:
        return {"step": task.step_id, "order": task.context["order"]}

    return agent


@pytest.fixture
async def intent_server(make_server: MakeServer, tmp_path: Path) -> DweServer:
    rules = tmp_path / "intents.yaml"
    rules.write_text(REFUND_RULES)
    return await make_server(intents_file=str(rules))


async def test_start_intent_runs_the_mapped_template(intent_server: DweServer) -> None:
    async with (
        DweClient(intent_server.address) as client,
        serving(intent_server.address, payments()),
    ):
        detected = await client.analyze_intent("refund for order ORD-7 please")
        assert (detected.primary_intent, dict(detected.entities)) == (
            "refund",
            {"order_id": "ORD-7"},
        )
        started = await client.start_intent("I want a refund for my order ORD-7")
        events = [e async for e in client.watch_workflow(started.workflow_id)]
    final = summary_of(events[-1])
    assert orjson.loads(final.results["pay"].data) == {"step": "pay", "order": "ORD-7"}


async def test_below_threshold_is_a_clear_failure(intent_server: DweServer) -> None:
    async with DweClient(intent_server.address) as client:
        with pytest.raises(FailedPreconditionError, match=r"no intent reached the confidence"):
            await client.start_intent("tell me a joke")
        listed = await client.list_workflows()
    assert list(listed.workflows) == []


async def test_cli_run_intent_watches_to_completion(intent_server: DweServer) -> None:
    target = ("--target", intent_server.address)
    async with serving(intent_server.address, payments()):
        done = await run_cli(*target, "--json", "run", "--intent", "refund order ORD-3", "--watch")
    assert done.code == 0, done.err
    lines = done.json_lines()
    intent = lines[0]["data"]["intent"]  # the CLI's workflow_created event
    assert intent["intent"] == "refund" and intent["entities"] == {"order_id": "ORD-3"}
    assert lines[-1]["event"] == "workflow_completed"
    unknown = await run_cli(*target, "run", "--intent", "weather tomorrow?")
    assert unknown.code == 1
    assert "no intent reached the confidence threshold 0.70" in unknown.err


async def test_python_engine_executes_an_intent(tmp_path: Path) -> None:
    rules = tmp_path / "intents.yaml"
    rules.write_text(REFUND_RULES)
    engine = DynamicWorkflowEngine(
        db_path=str(tmp_path / "intents.db"),
        intent_engine=IntentDetectionEngine(confidence_threshold=0.7, rules=rules),
    )
    agent = payments()
    serving_task = asyncio.create_task(agent.serve(engine.address))
    try:
        await asyncio.wait_for(agent.connected.wait(), 10)
        intent = engine.analyze_intent("refund order ORD-11")
        assert (intent.primary_intent, intent.entities) == ("refund", {"order_id": "ORD-11"})
        events = [e async for e in engine.execute_intent("refund order ORD-11")]
        with pytest.raises(FailedPreconditionError, match="no intent reached"):
            await engine.create_workflow_from_intent("hello")
    finally:
        agent.stop()
        await asyncio.wait_for(serving_task, 15)
        await engine.aclose()
    assert events[0]["data"]["name"] == "Refund"
    assert events[-1]["data"]["final_output"]["results"]["pay"] == {
        "step": "pay",
        "order": "ORD-11",
    }
