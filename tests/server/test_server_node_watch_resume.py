"""The Node.js client's executeWorkflow survives a server restart: the stream broken
with UNAVAILABLE resumes with WatchWorkflow(after_seq) and no event is missed or repeated."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dwe.agent_sdk import Agent, Task
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient

from ..conftest import ROOT, WAIT, MakeServer, free_port, wait_agents, wait_for

NODE_DIR = ROOT / "clients" / "node"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_DIR / "dist" / "index.js").is_file(),
    reason="needs node and `make node-deps` (clients/node/dist)",
)

WATCHER = """
import { DweClient, EventType } from "%s";
const client = new DweClient(process.env.DWE_TARGET);
for await (const e of client.executeWorkflow(process.argv[2])) {
  console.log(JSON.stringify({ seq: Number(e.seq), type: EventType[e.type] }));
}
client.close();
"""


def seen(log: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]


async def test_node_execute_resumes_after_a_server_restart(
    make_server: MakeServer, tmp_path: Path
) -> None:
    port = free_port()
    server = await make_server(port=port)
    release = asyncio.Event()
    agent = Agent("resume-peer", capabilities=["analysis"], reconnect_cap=0.2)

    @agent.handler("analysis")
    async def handle(task: Task) -> dict[str, bool]:
        await asyncio.wait_for(release.wait(), WAIT * 2)
        return {"ok": True}

    serving = asyncio.create_task(agent.serve(server.address))
    script, log = tmp_path / "watch.mjs", tmp_path / "watch.log"
    script.write_text(WATCHER % (NODE_DIR / "dist" / "index.js").as_uri())
    out = open(log, "wb")  # noqa: SIM115 - closed below
    proc = None
    try:
        await wait_agents(server, "resume-peer")
        async with DweClient(server.address) as client:
            spec = build_workflow_spec("resume", [{"step_id": "a", "agent_capability": "analysis"}])
            workflow_id = (await client.create_workflow(spec)).workflow_id
        proc = subprocess.Popen(
            ["node", str(script), workflow_id],
            env={**os.environ, "DWE_TARGET": server.address},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        await wait_for(lambda: any(e["type"] == "AGENT_STARTED" for e in seen(log)))
        await server.stop(0.5)  # the client's stream ends with UNAVAILABLE
        restarted = await make_server(port=port)
        await wait_agents(restarted, "resume-peer")
        release.set()
        code = await asyncio.to_thread(proc.wait, WAIT * 2)
        assert code == 0, log.read_text()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        out.close()
        agent.stop()
        await asyncio.wait_for(serving, WAIT)
    events = seen(log)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "WORKFLOW_COMPLETED"
