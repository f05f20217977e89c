"""A client certificate stands in for a token under mTLS (issue 9, identity): the
``--auth-cert-map`` file maps the certificate's common name to a role, namespaces and,
for agents, an agent id and capabilities."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest

from dwe.agent_sdk import Agent, Task
from dwe.clients import PermissionDeniedError, UnauthenticatedError
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.common.tls import TlsFiles
from dwe.server.config import ServerConfig
from dwe.v1 import agent_pb2, service_pb2_grpc

from ..conftest import MakeServer
from ..support.certs import Authority
from .helpers import name_of, serving
from .test_server_auth import _key_file

ONE = [{"step_id": "a", "agent_capability": "work"}]


def _cert_map(folder: Path) -> str:
    path = folder / "certs.json"
    path.write_text(
        json.dumps(
            {
                "ops": {"role": "operator", "ns": ["team-a"]},
                "worker": {
                    "role": "agent",
                    "ns": ["team-a"],
                    "agent_id": "worker",
                    "caps": ["work"],
                },
            }
        )
    )
    return str(path)


async def test_a_mapped_certificate_is_an_identity(
    make_server: MakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DWE_TOKEN", raising=False)
    ca = Authority(tmp_path / "ca")
    cert = ca.issue("server", server=True)
    server = await make_server(
        tls_cert=cert.cert,
        tls_key=cert.key,
        tls_client_ca=ca.ca,
        auth_key=_key_file(tmp_path),
        auth_cert_map=_cert_map(tmp_path),
    )
    ops, worker, stranger = (ca.issue(n, server=False) for n in ("ops", "worker", "nobody"))
    agent = Agent("worker", capabilities=["work"], tls=TlsFiles(ca.ca, worker.cert, worker.key))

    @agent.handler("work")
    async def work(task: Task) -> str:
        return "by certificate"

    async with (
        serving(server.address, agent),
        DweClient(server.address, tls=TlsFiles(ca.ca, ops.cert, ops.key)) as c,
    ):
        created = await c.create_workflow(build_workflow_spec("cert", ONE))
        assert created.status.namespace == "team-a"
        events = [e async for e in c.execute_workflow(created.workflow_id)]
        assert name_of(events[-1]) == "workflow_completed"
        with pytest.raises(PermissionDeniedError, match="RegisterAgent needs the role admin"):
            await c.register_agent(agent_pb2.AgentInfo(agent_id="x", capabilities=["y"]))
        info = await c.get_server_info()
        assert (info.subject, info.role) == ("cert:ops", "operator")
    async with DweClient(server.address, tls=TlsFiles(ca.ca, stranger.cert, stranger.key)) as c:
        with pytest.raises(UnauthenticatedError, match="'nobody' is not in the map"):
            await c.get_server_info()
    code, why = await _hello(server.address, ca.ca, worker.cert, worker.key, "intruder")
    assert code is grpc.StatusCode.PERMISSION_DENIED
    assert "grants agent_id 'worker', not 'intruder'" in why


async def _hello(address: str, ca: str, cert: str, key: str, agent_id: str) -> tuple[Any, str]:
    """Connect with a client certificate and no token, as ``agent_id``."""
    read = [Path(p).read_bytes() for p in (ca, key, cert)]
    creds = grpc.ssl_channel_credentials(*read)
    async with grpc.aio.secure_channel(address, creds) as channel:
        call = service_pb2_grpc.AgentServiceStub(channel).Connect()
        hello = agent_pb2.Hello(agent_id=agent_id, capabilities=["work"])
        await call.write(agent_pb2.ConnectRequest(hello=hello))
        try:
            await call.read()
        except grpc.aio.AioRpcError as exc:
            return exc.code(), exc.details() or ""
        call.cancel()
        return grpc.StatusCode.OK, ""


def test_the_map_needs_mtls_and_auth(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs mTLS"):
        ServerConfig(auth_cert_map=_cert_map(tmp_path), auth_key="k")
