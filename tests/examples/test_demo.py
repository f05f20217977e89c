"""`make demo` (python -m examples.account_analysis): everything it must print, and exit 0."""

from __future__ import annotations

import asyncio
import re
import sys

from ..conftest import ROOT


async def test_demo_runs_the_guide_workflow_and_exits_cleanly() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "examples.account_analysis",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out_b, err_b = await asyncio.wait_for(proc.communicate(), 120)
    out = out_b.decode()
    assert proc.returncode == 0, out + err_b.decode()
    kinds = re.findall(r"^\[\s*[\d.]+s\] (\w+)", out, re.M)
    assert kinds[0] == "workflow_started" and kinds[-1] == "workflow_completed"
    assert kinds.count("agent_started") == 4
    assert kinds.count("agent_completed") == 4
    assert "agent_stream" in kinds
    assert "success_rate 1.0" in out
    assert re.search(r"analyze_risk and get_historical_context ran in parallel", out)
