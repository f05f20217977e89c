"""@dwe/sdk (clients/node) and namespaces: ``node --test test-namespaces/`` against a live
server (the Node.js client's filters and default namespace, and the Node.js Agent's
Hello.namespace). Skipped without node and ``make node-deps``."""

from __future__ import annotations

import asyncio
import os
import shutil

import pytest
from realkit import ROOT

from dwe.server.app import DweServer

NODE_CLIENT = ROOT / "clients" / "node"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_CLIENT / "dist" / "index.js").exists(),
    reason="needs node and `make node-deps` (clients/node/dist)",
)


async def test_node_namespace_suite_passes_against_a_live_server(server: DweServer) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DWE_NAMESPACE"}
    proc = await asyncio.create_subprocess_exec(
        "node",
        "--test",
        "--test-concurrency=1",
        "test-namespaces/",
        cwd=NODE_CLIENT,
        env={**env, "DWE_TARGET": server.address},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    report = out.decode(errors="replace")
    assert proc.returncode == 0, report
    assert "# pass 6" in report and "# fail 0" in report, report
