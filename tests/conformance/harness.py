"""What a conformance scenario works with: a real server, agent subprocesses, a client."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.common.tls import TlsFiles
from dwe.server.app import DweServer
from dwe.server.auth import Claims, TokenKeys
from dwe.v1 import workflow_pb2

from ..conftest import ROOT, WAIT, MakeServer, wait_agents, wait_for
from ..server.helpers import TERMINAL
from ..support.certs import Authority
from ..support.procs import stop_process

NODE_DIR = ROOT / "clients" / "node"
NODE_READY = bool(
    shutil.which("node")
    and (NODE_DIR / "node_modules").is_dir()
    and (NODE_DIR / "dist" / "index.js").is_file()
)
#: The payload limit of the conformance servers (small, so the limit scenario is quick).
MAX_PAYLOAD = 64 * 1024


class AgentProc:
    """One agent subprocess (Python or Node) with its output in a file."""

    def __init__(self, lang: str, agent_id: str, caps: list[str], env: dict[str, str], log: Path):
        self.lang, self.agent_id, self.log_path = lang, agent_id, log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        if lang == "python":
            cmd, cwd = [sys.executable, "-m", "tests.conformance.agent_py"], ROOT
        else:
            cmd, cwd = ["node", "conformance/agent.mjs"], NODE_DIR
        full = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        full |= {"CONF_AGENT_ID": agent_id, "CONF_CAPS": ",".join(caps)}
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=full, stdout=self._log, stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def observed(self, what: str) -> list[dict[str, Any]]:
        """The ``OBS`` lines of one kind the agent printed so far."""
        lines = [x[4:] for x in self.output().splitlines() if x.startswith("OBS ")]
        return [o for o in map(json.loads, lines) if o["obs"] == what]

    def stop(self) -> None:
        """SIGTERM (a graceful stop), then SIGKILL if it does not end."""
        stop_process(self.proc)
        self._log.close()


class Secure:
    """A CA, a server certificate and a token key for one scenario run; the client
    uses an operator token, each agent a token bound to its id and capabilities."""

    def __init__(self, folder: Path) -> None:
        self.ca = Authority(folder / "ca")
        self.cert = self.ca.issue("server", server=True)
        self.key_file = folder / "auth.pem"
        self.key_file.write_bytes(
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.keys = TokenKeys(str(self.key_file))

    def server_settings(self) -> dict[str, str]:
        return {
            "tls_cert": self.cert.cert,
            "tls_key": self.cert.key,
            "auth_key": str(self.key_file),
        }

    def client(self) -> tuple[TlsFiles, str]:
        return TlsFiles(self.ca.ca), self.keys.mint(Claims("conformance", "admin"), 3600)

    def agent_env(self, agent_id: str, caps: list[str]) -> dict[str, str]:
        claims = Claims(f"agent:{agent_id}", "agent", agent_id=agent_id, capabilities=tuple(caps))
        return {"DWE_TLS_CA": self.ca.ca, "DWE_TOKEN": self.keys.mint(claims, 3600)}


@dataclass
class Ctx:
    """One scenario run: ``lang`` is the language of the agents it starts by default."""

    lang: str
    tmp_path: Path
    make_server: MakeServer
    port: int
    server: DweServer | None = None
    client: DweClient | None = None
    agents: list[AgentProc] = field(default_factory=list)
    #: Server settings of this scenario (ServerConfig fields).
    settings: dict[str, Any] = field(default_factory=dict)
    #: TLS and auth on (the "secure" runs of the suite), else None.
    secure: Secure | None = None

    async def start_server(self) -> DweServer:
        settings = {"max_payload_bytes": MAX_PAYLOAD, **self.settings}
        if self.secure is not None:
            settings |= self.secure.server_settings()
        self.server = await self.make_server(port=self.port, **settings)
        if self.client is None:
            tls, token = (None, None) if self.secure is None else self.secure.client()
            self.client = DweClient(self.server.address, tls=tls or False, token=token)
        return self.server

    @property
    def c(self) -> DweClient:
        assert self.client is not None
        return self.client

    def spawn(
        self, agent_id: str, caps: list[str], max_tasks: int = 1, lang: str = ""
    ) -> AgentProc:
        """Start an agent process without waiting for it to connect."""
        assert self.server is not None
        env = {"DWE_TARGET": self.server.address, "CONF_MAX": str(max_tasks)}
        if self.secure is not None:
            env |= self.secure.agent_env(agent_id, caps)
        log = self.tmp_path / f"{agent_id}-{len(self.agents)}.log"
        proc = AgentProc(lang or self.lang, agent_id, caps, env, log)
        self.agents.append(proc)
        return proc

    async def agent(
        self, agent_id: str, caps: list[str], max_tasks: int = 1, lang: str = ""
    ) -> AgentProc:
        """Start an agent process and wait until its session is open."""
        proc = self.spawn(agent_id, caps, max_tasks, lang)
        assert self.server is not None
        try:
            await wait_agents(self.server, agent_id)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; agent output:\n{proc.output()}") from exc
        return proc

    async def run(self, steps: list[dict[str, Any]], **kw: Any) -> list[workflow_pb2.WorkflowEvent]:
        """Create and execute a workflow; all its events up to the terminal one."""
        created = await self.c.create_workflow(build_workflow_spec("conformance", steps, **kw))
        return await self.events(created.workflow_id, start=True)

    async def events(
        self, workflow_id: str, start: bool = False
    ) -> list[workflow_pb2.WorkflowEvent]:
        stream = (
            self.c.execute_workflow(workflow_id) if start else self.c.watch_workflow(workflow_id)
        )
        out = []
        async with asyncio.timeout(WAIT * 2):
            async for event in stream:
                out.append(event)
                if event.type in TERMINAL:
                    break
        return out

    async def observed(self, proc: AgentProc, what: str, n: int = 1) -> list[dict[str, Any]]:
        """Wait until the agent printed ``n`` observations of this kind."""
        found = await wait_for(
            lambda: len(proc.observed(what)) >= n, WAIT, f"{proc.lang} agent observed {what!r}"
        )
        assert found
        return proc.observed(what)

    async def close(self) -> None:
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in self.agents))
        if self.client is not None:
            await self.client.close()
