"""`make demo` (python -m examples.account_analysis): everything it must print, and exit 0."""

from __future__ import annotations

import re

from ..support.procs import run_module


async def test_demo_runs_the_guide_workflow_and_exits_cleanly() -> None:
    demo = await run_module("examples.account_analysis", timeout=120)
    out = demo.out
    assert demo.code == 0, out + demo.err
    kinds = re.findall(r"^\[\s*[\d.]+s\] (\w+)", out, re.M)
    assert kinds[0] == "workflow_started" and kinds[-1] == "workflow_completed"
    assert kinds.count("agent_started") == 4
    assert kinds.count("agent_completed") == 4
    assert "agent_stream" in kinds
    assert "success_rate 1.0" in out
    assert re.search(r"analyze_risk and get_historical_context ran in parallel", out)
