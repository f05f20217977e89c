"""TLS and mTLS (issue 9, first part): the server serves TLS with its certificate, and
with a client CA it requires a client certificate from that CA. Clients, the agent SDK
and the CLI take a CA, a certificate and a key. Certificates are made per test."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from asyncio.subprocess import PIPE, STDOUT
from pathlib import Path
from typing import Any

import pytest

from dwe.agent_sdk import Agent, Task
from dwe.clients import UnavailableError
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.common.tls import TlsFiles
from dwe.server.app import DweServer
from dwe.server.config import ServerConfig
from dwe.server.security import advertised, is_loopback

from ..conftest import ROOT, MakeServer
from ..support.certs import Authority, Issued
from ..support.procs import run_cli
from .helpers import name_of, serving

ONE = [{"step_id": "a", "agent_capability": "secure"}]


@pytest.fixture
def ca(tmp_path: Path) -> Authority:
    return Authority(tmp_path / "ca")


@pytest.fixture
def server_cert(ca: Authority) -> Issued:
    return ca.issue("server", server=True)


async def _tls_server(make_server: MakeServer, cert: Issued, **kw: Any) -> DweServer:
    return await make_server(tls_cert=cert.cert, tls_key=cert.key, **kw)


def _agent(tls: TlsFiles) -> Agent:
    agent = Agent("secure-agent", capabilities=["secure"], tls=tls)

    @agent.handler("secure")
    async def work(task: Task) -> str:
        return "over TLS"

    return agent


async def test_a_workflow_runs_over_tls_with_the_sdk_and_the_client(
    make_server: MakeServer, ca: Authority, server_cert: Issued
) -> None:
    server = await _tls_server(make_server, server_cert)
    tls = TlsFiles(ca=ca.ca)
    async with serving(server.address, _agent(tls)), DweClient(server.address, tls=tls) as c:
        created = await c.create_workflow(build_workflow_spec("tls", ONE))
        events = [e async for e in c.execute_workflow(created.workflow_id)]
    assert name_of(events[-1]) == "workflow_completed"


async def test_the_cli_and_the_variables(
    make_server: MakeServer, ca: Authority, server_cert: Issued, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await _tls_server(make_server, server_cert)
    listed = await run_cli("--target", server.address, "--tls-ca", ca.ca, "--json", "list")
    assert listed.code == 0, listed.err
    monkeypatch.setenv("DWE_TLS_CA", ca.ca)  # DweClient's default: the variables
    async with DweClient(server.address) as client:
        assert (await client.get_server_info()).max_message_bytes > 0


async def test_a_plaintext_client_gets_a_clear_error(
    make_server: MakeServer, server_cert: Issued
) -> None:
    server = await _tls_server(make_server, server_cert)
    async with DweClient(server.address, tls=False, rpc_timeout=5) as client:
        with pytest.raises(UnavailableError) as info:
            await client.get_server_info()
    assert "is unavailable" in str(info.value)
    assert "TLS" in str(info.value), str(info.value)


async def test_mtls_refuses_no_certificate_and_a_foreign_ca(
    make_server: MakeServer, ca: Authority, server_cert: Issued, tmp_path: Path
) -> None:
    server = await _tls_server(make_server, server_cert, tls_client_ca=ca.ca)
    good = ca.issue("operator", server=False)
    stranger = Authority(tmp_path / "other").issue("stranger", server=False)
    async with DweClient(server.address, tls=TlsFiles(ca.ca, good.cert, good.key)) as client:
        assert (await client.get_server_info()).version
    for refused in (TlsFiles(ca.ca), TlsFiles(ca.ca, stranger.cert, stranger.key)):
        async with DweClient(server.address, tls=refused, rpc_timeout=5) as client:
            with pytest.raises(UnavailableError):
                await client.get_server_info()
    agent = _agent(TlsFiles(ca.ca, good.cert, good.key))
    async with (
        serving(server.address, agent),
        DweClient(server.address, tls=TlsFiles(ca.ca, good.cert, good.key)) as client,
    ):
        created = await client.create_workflow(build_workflow_spec("mtls", ONE))
        events = [e async for e in client.execute_workflow(created.workflow_id)]
    assert name_of(events[-1]) == "workflow_completed"


async def test_plaintext_beyond_loopback_needs_insecure(tmp_path: Path) -> None:
    """Refused before anything is bound, so the test listens nowhere."""
    res = await run_cli("server", "--host", "0.0.0.0", "--port", "0", "--db", str(tmp_path / "d"))
    assert res.code == 1
    line = res.err.strip().splitlines()[-1]
    assert line.startswith("error: refusing to listen on 0.0.0.0 without TLS and auth"), res.err
    assert "--insecure" in line and "Traceback" not in res.err


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("example.com", False),
    ],
)
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("host", "advertise", "expected"),
    [
        ("10.0.0.5", "", "10.0.0.5:7000"),
        ("0.0.0.0", "", f"{socket.getfqdn()}:7000"),
        ("::", "", f"{socket.getfqdn()}:7000"),
        ("0.0.0.0", "dwe-2.internal:50051", "dwe-2.internal:50051"),
    ],
)
def test_a_replica_advertises_a_reachable_address(host: str, advertise: str, expected: str) -> None:
    config = ServerConfig(host=host, advertise=advertise, insecure=True)
    assert advertised(config, 7000) == expected


NODE_SDK = ROOT / "clients" / "node" / "dist" / "index.js"
NODE_SCRIPT = """
import { Agent, DweClient } from "%s";
const target = process.env.DWE_TARGET;
const agent = new Agent({ agentId: "node-secure", capabilities: ["secure"] });
agent.handler("secure", async () => "node over mTLS");
const running = agent.run(target);
const client = new DweClient(target);
const created = await client.createWorkflow({
  name: "node-tls", steps: [{ stepId: "a", capability: "secure" }],
});
let last;
for await (const event of client.executeWorkflow(created.workflowId)) last = event;
console.log("LAST", last.type);
agent.stop();
await running;
client.close();
"""


@pytest.mark.skipif(
    shutil.which("node") is None or not NODE_SDK.exists(),
    reason="needs node and `make node-deps` (clients/node/dist)",
)
async def test_the_node_package_over_mtls_from_the_variables(
    make_server: MakeServer, ca: Authority, server_cert: Issued, tmp_path: Path
) -> None:
    server = await _tls_server(make_server, server_cert, tls_client_ca=ca.ca)
    cert = ca.issue("node", server=False)
    script = tmp_path / "tls.mjs"
    script.write_text(NODE_SCRIPT % NODE_SDK.as_uri())
    env = {
        **os.environ,
        "DWE_TARGET": server.address,
        "DWE_TLS_CA": ca.ca,
        "DWE_TLS_CERT": cert.cert,
        "DWE_TLS_KEY": cert.key,
    }
    proc = await asyncio.create_subprocess_exec(
        "node", str(script), env=env, stdout=PIPE, stderr=STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out.decode()
    assert "LAST 8" in out.decode(), out.decode()  # EVENT_TYPE_WORKFLOW_COMPLETED


def _openssl_lines() -> list[str]:
    """The openssl commands of docs/security.md, in order."""
    text = (ROOT / "docs" / "security.md").read_text()
    block = text.split("## A CA and certificates with openssl", 1)[1].split("```bash", 1)[1]
    lines = block.split("```", 1)[0].strip().splitlines()
    return [line for line in lines if not line.startswith(("mkdir", "cd "))]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
async def test_the_openssl_commands_of_the_security_doc_make_working_certificates(
    make_server: MakeServer, tmp_path: Path
) -> None:
    for line in _openssl_lines():
        proc = await asyncio.create_subprocess_shell(line, cwd=tmp_path, stdout=PIPE, stderr=STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, f"{line}\n{out.decode()}"
    files = {name: str(tmp_path / name) for name in ("ca.pem", "server.pem", "server.key")}
    server = await make_server(
        tls_cert=files["server.pem"], tls_key=files["server.key"], tls_client_ca=files["ca.pem"]
    )
    tls = TlsFiles(files["ca.pem"], str(tmp_path / "client.pem"), str(tmp_path / "client.key"))
    async with DweClient(server.address, tls=tls) as client:
        assert (await client.get_server_info()).version
