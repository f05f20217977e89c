"""Every scenario of the table with Python agents and with Node agents, and one
workflow whose steps alternate between the two languages."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .checks import Step, results
from .conftest import LANGS
from .harness import NODE_READY, Ctx
from .scenarios import TABLE, Scenario


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("scenario", TABLE, ids=lambda s: s.name)
async def test_scenario(scenario: Scenario, lang: str, make_ctx: Callable[[str], Ctx]) -> None:
    ctx = make_ctx(lang)
    ctx.settings.update(scenario.settings)
    await ctx.start_server()
    await scenario.run(ctx)


@pytest.mark.skipif(not NODE_READY, reason="needs node and `make node-deps` (clients/node)")
async def test_a_diamond_across_both_languages(make_ctx: Callable[[str], Ctx]) -> None:
    """a and c on a Python agent, b and d on a Node agent: outputs cross languages both ways."""
    ctx = make_ctx("python")
    await ctx.start_server()
    await ctx.agent("dia-py", ["diamond.py"], max_tasks=2, lang="python")
    await ctx.agent("dia-node", ["diamond.node"], max_tasks=2, lang="node")
    steps: list[Step] = [
        {"step_id": "a", "agent_capability": "diamond.py"},
        {"step_id": "b", "agent_capability": "diamond.node", "dependencies": ["a"]},
        {"step_id": "c", "agent_capability": "diamond.py", "dependencies": ["a"]},
        {"step_id": "d", "agent_capability": "diamond.node", "dependencies": ["b", "c"]},
    ]
    events = await ctx.run(steps, context={"account": "ACC-X"})
    out = results(events)
    assert out["b"]["upstream"] == {"a": "python"} and out["b"]["lang"] == "node"
    assert out["c"]["upstream"] == {"a": "python"} and out["c"]["lang"] == "python"
    assert out["d"] == {
        "step": "d",
        "lang": "node",
        "sum": 5,
        "upstream": {"b": "node", "c": "python"},
        "account": "ACC-X",
    }
