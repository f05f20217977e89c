"""Executor: handler outcome -> queued results, cancel, tracing (no network)."""

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from dwe.agent_sdk import NonRetryableError, Task, codec, telemetry
from dwe.agent_sdk.agent import Agent
from dwe.agent_sdk.executor import Executor
from dwe.agent_sdk.outbox import Outbox
from dwe.agent_sdk.running import RunningRegistry
from dwe.v1 import agent_pb2

TIMEOUT = 5


def _assignment(attempt_id: str, capability: str, **kw: Any) -> agent_pb2.Assignment:
    return agent_pb2.Assignment(
        attempt_id=attempt_id, workflow_id="w1", step_id="s1", capability=capability, **kw
    )


@pytest.fixture
async def setup() -> AsyncIterator[tuple[Agent, Executor, Outbox, RunningRegistry]]:
    agent = Agent("test-agent", max_concurrent_tasks=2)
    outbox, registry = Outbox(), RunningRegistry()
    pool = ThreadPoolExecutor(2)
    executor = Executor(
        agent_id=agent.agent_id,
        handlers=agent._handlers,
        outbox=outbox,
        registry=registry,
        pool=pool,
    )
    yield agent, executor, outbox, registry
    pool.shutdown(wait=True)


async def _finish(registry: RunningRegistry) -> None:
    await asyncio.wait_for(registry.wait_idle(), TIMEOUT)


async def test_async_handler_result_inputs_context_and_started(setup) -> None:
    agent, executor, outbox, registry = setup
    seen: dict[str, Any] = {}

    @agent.handler("analysis")
    async def analyze(task: Task) -> dict:
        seen.update(inputs=dict(task.inputs), context=task.context, attempt=task.attempt)
        await task.stream("scoring", {"n": 1})
        return {"risk": 0.42}

    executor.config = {"k": 1}
    executor.dispatch(
        _assignment(
            "a1",
            "analysis",
            attempt=2,
            inputs={"fetch": codec.encode({"id": 7}), "empty": agent_pb2.Assignment().context},
        )
    )
    await _finish(registry)
    assert seen == {"inputs": {"fetch": {"id": 7}, "empty": None}, "context": {}, "attempt": 2}
    assert outbox.started == ["a1"]
    assert [(p.content, codec.decode(p.data)) for p in outbox.progress] == [("scoring", {"n": 1})]
    (result,) = outbox.results
    assert codec.decode(result.output) == {"risk": 0.42}


@pytest.mark.parametrize(
    ("raise_", "kind", "retryable"),
    [
        (ValueError("boom"), "ValueError", True),
        (NonRetryableError("fatal"), "NonRetryableError", False),
    ],
)
@pytest.mark.parametrize("is_async", [True, False])
async def test_handler_exception_becomes_error_result(
    setup, raise_: Exception, kind: str, retryable: bool, is_async: bool
) -> None:
    agent, executor, outbox, registry = setup

    if is_async:

        async def handler(task: Task) -> None:
            raise raise_
    else:

        def handler(task: Task) -> None:
            raise raise_

    agent.handler("x")(handler)
    executor.dispatch(_assignment("a1", "x"))
    await _finish(registry)
    (result,) = outbox.results
    assert result.WhichOneof("outcome") == "error"
    assert (result.error.message, result.error.type, result.error.retryable) == (
        str(raise_),
        kind,
        retryable,
    )


async def test_none_and_non_json_outputs(setup) -> None:
    agent, executor, outbox, registry = setup
    agent.handler("none")(lambda task: None)

    @agent.handler("bad")
    async def bad(task: Task) -> object:
        return object()

    executor.dispatch(_assignment("a1", "none"))
    executor.dispatch(_assignment("a2", "bad"))
    await _finish(registry)
    by_id = {r.attempt_id: r for r in outbox.results}
    assert by_id["a1"].output.data == b"null"
    assert by_id["a2"].error.type == "TypeError" and not by_id["a2"].error.retryable


async def test_cancel_reaches_running_async_handler_and_acks_with_cancelled(setup) -> None:
    agent, executor, outbox, registry = setup
    started, saw_cancel = asyncio.Event(), asyncio.Event()

    @agent.handler("slow")
    async def slow(task: Task) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            saw_cancel.set()
            raise

    executor.dispatch(_assignment("a1", "slow"))
    await asyncio.wait_for(started.wait(), TIMEOUT)
    assert registry.cancel("a1", "user cancelled")
    await asyncio.wait_for(saw_cancel.wait(), TIMEOUT)
    await _finish(registry)
    assert [(r.attempt_id, r.error.type, r.error.retryable) for r in outbox.results] == [
        ("a1", "Cancelled", False)
    ]


async def test_cancel_sets_flag_for_sync_handler(setup) -> None:
    agent, executor, outbox, registry = setup
    started = threading.Event()

    @agent.handler("sync")
    def sync(task: Task) -> str:
        task.stream_sync("in thread")
        started.set()
        while not task.cancelled:
            threading.Event().wait(0.005)
        return "ignored"

    executor.dispatch(_assignment("a1", "sync"))
    assert await asyncio.to_thread(started.wait, TIMEOUT)
    registry.cancel("a1")
    await _finish(registry)
    # The handler's return value is dropped; only the cancel acknowledgement goes out.
    assert [(r.attempt_id, r.error.type) for r in outbox.results] == [("a1", "Cancelled")]
    assert [p.content for p in outbox.progress] == ["in thread"]


async def test_unknown_capability_and_not_accepting(setup) -> None:
    _, executor, outbox, registry = setup
    executor.dispatch(_assignment("a1", "nope"))
    assert outbox.results[0].error.type == "UnknownCapability"
    executor.accepting = False
    executor.dispatch(_assignment("a2", "nope"))
    assert len(outbox.results) == 1 and len(registry) == 0


async def test_handler_span_is_child_of_assignment_traceparent(setup, monkeypatch) -> None:
    agent, executor, _, registry = setup
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(telemetry, "tracer", provider.get_tracer("dwe.agent_sdk"))
    monkeypatch.setattr(telemetry, "tracing_enabled", lambda: True)

    @agent.handler("analysis")
    async def analyze(task: Task) -> int:
        return 1

    trace_id, span_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    executor.dispatch(
        _assignment("a1", "analysis", attempt=1, traceparent=f"00-{trace_id}-{span_id}-01")
    )
    await _finish(registry)
    (span,) = exporter.get_finished_spans()
    assert span.name == "dwe.handler analysis"
    assert format(span.context.trace_id, "032x") == trace_id
    assert span.parent is not None and format(span.parent.span_id, "016x") == span_id
    assert span.attributes["dwe.outcome"] == "completed"
    assert span.attributes["dwe.agent_id"] == "test-agent"
    assert span.attributes["dwe.step_id"] == "s1"
