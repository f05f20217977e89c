"""The Node.js SDK (clients/node: client and agent) against a live server, with `node --test`."""

from __future__ import annotations

import asyncio
import os
import shutil

import pytest

from dwe.agent_sdk import Agent, Task
from dwe.server.app import DweServer

from ..conftest import ROOT
from .helpers import serving

NODE_CLIENT = ROOT / "clients" / "node"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_CLIENT / "node_modules").exists(),
    reason="needs node and `make node-deps` (clients/node/node_modules)",
)


async def test_node_client_suite_passes_against_a_live_server(server: DweServer) -> None:
    agent = Agent("node-peer", capabilities=["analysis"], max_concurrent_tasks=4)

    @agent.handler("analysis")
    async def handle(task: Task) -> dict:
        return {"step": task.step_id, "account": task.context.get("account_id")}

    async with serving(server.address, agent):
        proc = await asyncio.create_subprocess_exec(
            "node",
            "--test",
            "--test-concurrency=1",
            "test/",
            cwd=NODE_CLIENT,
            env={**os.environ, "DWE_TARGET": server.address},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
    report = out.decode(errors="replace")
    assert proc.returncode == 0, report
    assert "# pass 20" in report and "# fail 0" in report, report
