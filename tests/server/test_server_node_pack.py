"""`npm pack` of clients/node installs into an empty folder, and the README's first
example (the agent) runs from it against a live server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.server.app import DweServer

from ..conftest import ROOT, wait_agents
from .helpers import summary_of

NODE_DIR = ROOT / "clients" / "node"

pytestmark = pytest.mark.skipif(
    shutil.which("npm") is None or not (NODE_DIR / "dist" / "index.js").is_file(),
    reason="needs npm and `make node-deps` (clients/node/dist)",
)


def readme_agent() -> str:
    """The first ```js block of the README: the agent example."""
    text = (NODE_DIR / "README.md").read_text()
    match = re.search(r"```js\n(.*?)```", text, re.S)
    assert match, "the README has no js example"
    assert "new Agent(" in match.group(1)
    return match.group(1)


def pack_and_install(dest: Path) -> None:
    """npm pack (dist/ as built by make node-deps) and npm install of the tarball in dest."""
    packed = subprocess.run(
        ["npm", "pack", "--json", "--ignore-scripts", "--pack-destination", str(dest)],
        cwd=NODE_DIR,
        check=True,
        capture_output=True,
        text=True,
    )
    (info,) = json.loads(packed.stdout)
    files = {f["path"] for f in info["files"]}
    assert {"dist/index.js", "dist/index.d.ts", "README.md", "package.json"} <= files
    assert not any(f.startswith(("src/", "test/", "node_modules/")) for f in files)
    app = dest / "app"
    app.mkdir()
    (app / "package.json").write_text('{"name": "app", "private": true, "type": "module"}')
    subprocess.run(
        [
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--prefer-offline",
            str(dest / info["filename"]),
        ],
        cwd=app,
        check=True,
        capture_output=True,
    )
    (app / "agent.mjs").write_text(readme_agent())


async def test_the_packed_sdk_runs_the_readme_agent(server: DweServer, tmp_path: Path) -> None:
    await asyncio.to_thread(pack_and_install, tmp_path)
    log = open(tmp_path / "agent.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        ["node", "agent.mjs"],
        cwd=tmp_path / "app",
        env={**os.environ, "DWE_TARGET": server.address},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        await wait_agents(server, "risk-node")
        async with DweClient(server.address) as client:
            spec = build_workflow_spec(
                "readme",
                [{"step_id": "a", "agent_capability": "analysis"}],
                context={"account_id": "ACC-9"},
            )
            created = await client.create_workflow(spec)
            events = [e async for e in client.execute_workflow(created.workflow_id)]
        out = json.loads(summary_of(events[-1]).results["a"].data)
        assert out == {"account": "ACC-9", "risk": 0.42}
    finally:
        proc.send_signal(signal.SIGINT)  # the example stops gracefully on SIGINT
        code = await asyncio.to_thread(proc.wait, 15)
        log.close()
    assert code == 0, (tmp_path / "agent.log").read_text()
