"""One trace crosses processes: caller -> workflow span -> step span -> agent handler span."""

from __future__ import annotations

import asyncio
import json

from dwe.clients.typed import DweClient

from ..conftest import wait_agents, wait_for
from .helpers import name_of, run_workflow


def _console_spans(text: str) -> list[dict]:
    """Spans printed by the console exporter (one JSON object each, possibly multi-line)."""
    spans, depth, buf = [], 0, []
    for line in text.splitlines():
        if not buf and not line.startswith("{"):
            continue
        buf.append(line)
        depth += line.count("{") - line.count("}")
        if depth == 0:
            spans.append(json.loads("\n".join(buf)))
            buf = []
    return spans


async def test_agent_span_is_child_of_server_step_span_across_processes(
    traced_server, spawn_agent, monkeypatch
) -> None:
    server, exporter, provider = traced_server
    agent = spawn_agent(
        server.address,
        "traced",
        DWE_TEST_AGENT_ID="tracer",
        DWE_TEST_CAPS="analysis",
        OTEL_TRACES_EXPORTER="console",
        OTEL_SERVICE_NAME="test-agent",
    )
    await wait_agents(server, "tracer")
    caller_tracer = provider.get_tracer("test-caller")
    # The client injects the *current* context; make our provider's span current.
    with caller_tracer.start_as_current_span("caller") as caller:
        async with DweClient(server.address) as client:
            events = await run_workflow(
                client, [{"step_id": "score", "agent_capability": "analysis"}]
            )
    assert name_of(events[-1]) == "workflow_completed"
    spans = {s.name: s for s in exporter.get_finished_spans()}
    workflow_span = spans["dwe.workflow test"]
    step_span = spans["dwe.step score"]
    assert workflow_span.parent.span_id == caller.get_span_context().span_id
    assert step_span.parent.span_id == workflow_span.context.span_id
    assert step_span.attributes["dwe.step_id"] == "score"
    assert step_span.attributes["dwe.attempt"] == 1
    assert step_span.attributes["dwe.agent_id"] == "tracer"
    assert step_span.attributes["dwe.capability"] == "analysis"
    assert step_span.attributes["dwe.outcome"] == "completed"
    assert workflow_span.attributes["dwe.workflow_id"] == events[0].workflow_id

    # SIGTERM: the agent flushes its spans on the way out (waited for off the loop,
    # which must keep serving its goodbye).
    await asyncio.to_thread(agent.stop)
    handler = await wait_for(
        lambda: next(
            (s for s in _console_spans(agent.output()) if s["name"] == "dwe.handler analysis"),
            None,
        ),
        what="agent span printed",
    )
    assert int(handler["context"]["trace_id"], 16) == caller.get_span_context().trace_id
    assert int(handler["parent_id"], 16) == step_span.context.span_id
    assert handler["attributes"]["dwe.step_id"] == "score"
