"""The conformance scenarios, defined once: each runs with the agents in one language.

A scenario is an async function of a :class:`Ctx`; ``ctx.lang`` picks the agents'
language, and every check is the same for both SDKs. ``TABLE`` lists them all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .checks import E, Step, errors, results, spec, value
from .harness import Ctx
from .scenarios_session import SESSION_FNS, SETTINGS


async def diamond(ctx: Ctx) -> None:
    await ctx.agent("dia", ["diamond"], max_tasks=2)
    steps: list[Step] = [
        {"step_id": "a", "agent_capability": "diamond"},
        {"step_id": "b", "agent_capability": "diamond", "dependencies": ["a"]},
        {"step_id": "c", "agent_capability": "diamond", "dependencies": ["a"]},
        {"step_id": "d", "agent_capability": "diamond", "dependencies": ["b", "c"]},
    ]
    out = results(await ctx.run(steps, context={"account": "ACC-7"}))
    lang = ctx.lang
    assert out["b"] == {
        "step": "b",
        "lang": lang,
        "sum": 2,
        "upstream": {"a": lang},
        "account": "ACC-7",
    }
    assert out["d"] == {
        "step": "d",
        "lang": lang,
        "sum": 5,
        "upstream": {"b": lang, "c": lang},
        "account": "ACC-7",
    }


async def retries(ctx: Ctx) -> None:
    await ctx.agent("retry", ["flaky", "fatal"])
    flaky = await ctx.run(
        [{"step_id": "f", "agent_capability": "flaky", "retry_count": 3, "retry_delay": 0.01}]
    )
    assert results(flaky)["f"] == {"attempt": 3, "lang": ctx.lang}
    assert errors(flaky) == [("Flaky", True), ("Flaky", True)]
    fatal = await ctx.run(
        [{"step_id": "x", "agent_capability": "fatal", "retry_count": 3, "retry_delay": 0.01}]
    )
    assert fatal[-1].type == E.EVENT_TYPE_WORKFLOW_FAILED
    assert errors(fatal) == [("NonRetryableError", False)]
    (failure,) = [e for e in fatal if e.type == E.EVENT_TYPE_AGENT_ERROR]
    assert failure.step_attempt_failed.error.message == "bad input"


async def attempt_timeout(ctx: Ctx) -> None:
    proc = await ctx.agent("slow", ["wait"])
    events = await ctx.run([{"step_id": "w", "agent_capability": "wait", "timeout_seconds": 0.5}])
    assert events[-1].type == E.EVENT_TYPE_WORKFLOW_FAILED
    assert errors(events) == [("Timeout", True)]
    (aborted,) = await ctx.observed(proc, "aborted")
    # Python: task.cancelled (CancelledError); Node: the signal, by the Cancel or the deadline.
    assert aborted["step"] == "w" and aborted["kind"] in {"cancelled", "deadline"}


async def cancel(ctx: Ctx) -> None:
    proc = await ctx.agent("one-slot", ["wait", "quick"], max_tasks=1)
    created = await ctx.c.create_workflow(spec([{"step_id": "w", "agent_capability": "wait"}]))
    await ctx.c.start_workflow(created.workflow_id)
    await ctx.observed(proc, "waiting")
    await ctx.c.cancel_workflow(created.workflow_id, "conformance")
    (aborted,) = await ctx.observed(proc, "aborted")
    assert aborted["kind"] == "cancelled"
    # The Cancelled result freed the only slot: the next step runs on this agent.
    out = results(await ctx.run([{"step_id": "q", "agent_capability": "quick"}]))
    assert out["q"]["lang"] == ctx.lang
    status = await ctx.c.get_workflow_status(created.workflow_id)
    assert status.state == E.WORKFLOW_STATE_CANCELLED


async def pipeline(ctx: Ctx) -> None:
    await ctx.agent("pipe", ["source", "double"], max_tasks=2)
    steps: list[Step] = [
        {"step_id": "src", "agent_capability": "source"},
        {"step_id": "dbl", "agent_capability": "double", "dependencies": ["src"]},
    ]
    events = await ctx.run(steps, execution_mode="pipeline", context={"records": 5})
    assert results(events)["dbl"] == [0, 2, 4, 6, 8]
    streamed = [e for e in events if e.type == E.EVENT_TYPE_AGENT_STREAM and e.step_id == "src"]
    assert [value(e.step_streamed.data) for e in streamed] == [0, 1, 2, 3, 4]


SCENARIO_FNS: list[Callable[[Ctx], Awaitable[None]]] = [
    diamond,
    retries,
    attempt_timeout,
    cancel,
    pipeline,
]


@dataclass(frozen=True)
class Scenario:
    """A named scenario of the table."""

    name: str
    run: Callable[[Ctx], Awaitable[None]]
    settings: dict[str, Any] = field(default_factory=dict)


TABLE = [
    Scenario(f.__name__, f, SETTINGS.get(f.__name__, {})) for f in [*SCENARIO_FNS, *SESSION_FNS]
]
