"""README's Quick start and examples/*.yaml work exactly as written, against a real
server with the Quick start agent (``dwe agent examples.quickstart:agent``)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from realkit import ROOT, AgentProcess, Cli

from dwe.server.app import DweServer
from tests.support.procs import CLI_TIMEOUT

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
README = (ROOT / "README.md").read_text()


def readme_block(marker: str) -> str:
    """The README's fenced Python block that contains ``marker``."""
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    [block] = [b for b in blocks if marker in b]
    return block


@pytest.fixture
async def quickstart(agent_process: AgentProcess) -> None:
    # DWE_TEST_AGENT_ID only tells the fixture which id to wait for: the agent is "analyst".
    await agent_process("examples.quickstart:agent", DWE_TEST_AGENT_ID="analyst")


def test_there_are_examples_with_a_comment_header() -> None:
    assert len(EXAMPLES) >= 2
    for path in EXAMPLES:
        assert path.read_text().startswith("# "), path


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
async def test_each_example_runs_to_completion(cli: Cli, quickstart: None, path: Path) -> None:
    res = await cli("--json", "run", str(path.relative_to(ROOT)), "--watch")
    assert res.code == 0, res.err
    events = res.json_lines()
    assert events[-1]["event"] == "workflow_completed", events[-1]
    final = events[-1]["data"]["final_output"]
    assert final["completed_steps"] == final["total_steps"] >= 2


async def test_readme_intent_command_runs_with_the_quickstart_agent(
    cli: Cli, quickstart: None
) -> None:
    assert 'dwe run --intent "analyze account ACC-1" --watch' in README
    res = await cli("run", "--intent", "analyze account ACC-1", "--watch")
    assert res.code == 0, res.out + res.err
    assert re.search(r"workflow_completed  completed .* 4/4 steps", res.out.splitlines()[-1])


def test_readme_agent_is_the_example_file() -> None:
    code = (ROOT / "examples" / "quickstart.py").read_text()
    assert readme_block("Agent(") == code
    assert ".venv/bin/dwe agent examples.quickstart:agent --target 127.0.0.1:50051" in README


async def test_readme_client_snippet_runs_with_the_venv_python(
    server: DweServer, quickstart: None, tmp_path: Path
) -> None:
    import asyncio

    assert ".venv/bin/python submit.py" in README
    snippet = readme_block("DynamicWorkflowEngine(target=")
    script = tmp_path / "submit.py"
    script.write_text(snippet.replace("127.0.0.1:50051", server.address))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,  # the venv's python, as the README says
        str(script),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT)
    assert proc.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert "agent_stream analyze scoring ACC-1" in lines
    assert lines[-1].startswith("workflow_completed")
