"""Bearer tokens and roles (issue 9, second part): every RPC x every role and token state
gives the expected code; agent tokens bind the agent id and capabilities; forged and
malformed tokens are UNAUTHENTICATED and never reach a handler."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import time
from asyncio.subprocess import PIPE, STDOUT
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dwe.agent_sdk import Agent, Task
from dwe.clients import ResourceExhaustedError, UnavailableError
from dwe.clients._common import create_request
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from dwe.common.tls import TlsFiles
from dwe.server.app import DweServer
from dwe.server.auth import Claims, TokenKeys
from dwe.v1 import agent_pb2, service_pb2

from ..conftest import ROOT, WAIT, MakeServer, wait_for
from ..support.procs import run_cli
from .helpers import name_of, serving

METHODS = [
    (s.name, m.name, m.client_streaming, m.server_streaming)
    for s in service_pb2.DESCRIPTOR.services_by_name.values()
    for m in s.methods
]
ALLOWED = {
    "viewer": {
        "GetWorkflowStatus",
        "ListWorkflows",
        "WatchWorkflow",
        "WatchEvents",
        "AnalyzeIntent",
        "GetServerInfo",
    },
    "agent": {"Connect"},
}
ALLOWED["operator"] = ALLOWED["viewer"] | {
    "CreateWorkflow",
    "CreateWorkflows",
    "StartWorkflow",
    "ExecuteWorkflow",
    "ExecuteWorkflows",
    "CancelWorkflow",
    "StartIntent",
}
ALLOWED["admin"] = {m for _, m, _, _ in METHODS}
AUTH_CODES = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}


def _key_file(folder: Path, name: str = "auth.pem") -> str:
    key = Ed25519PrivateKey.generate()
    path = folder / name
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(path)


@pytest.fixture
def key_file(tmp_path: Path) -> str:
    return _key_file(tmp_path)


@pytest.fixture
def keys(key_file: str) -> TokenKeys:
    return TokenKeys(key_file)


def token(keys: TokenKeys, role: str, ttl: float = 600, **kw: Any) -> str:
    return keys.mint(Claims(kw.pop("subject", f"test-{role}"), role, **kw), ttl)


async def _outcome(
    channel: grpc.aio.Channel, service: str, method: str, kinds: tuple[bool, bool], auth: str
) -> grpc.StatusCode:
    """The code one call with an empty request ends with (OK, or the error's code)."""
    path = f"/dwe.v1.{service}/{method}"
    metadata = (("authorization", auth),) if auth else None
    ident = lambda b: b  # noqa: E731 - raw bytes both ways
    try:
        if kinds == (True, True):
            call = channel.stream_stream(path, ident, ident)(metadata=metadata, timeout=1.0)
            await call.write(b"")
            await call.done_writing()
            async for _ in call:
                pass
        elif kinds[1]:
            async for _ in channel.unary_stream(path, ident, ident)(
                b"", metadata=metadata, timeout=1.0
            ):
                pass
        else:
            await channel.unary_unary(path, ident, ident)(b"", metadata=metadata, timeout=WAIT)
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


async def _auth_server(make_server: MakeServer, key_file: str) -> DweServer:
    return await make_server(auth_key=key_file)


async def test_every_rpc_by_every_role_and_token_state(
    make_server: MakeServer, key_file: str, keys: TokenKeys, tmp_path: Path
) -> None:
    server = await _auth_server(make_server, key_file)
    foreign = TokenKeys(_key_file(tmp_path, "other.pem"))
    states = {
        "none": "",
        "expired": "Bearer " + token(keys, "admin", ttl=-10),
        "forged": "Bearer " + token(foreign, "admin"),
        **{role: "Bearer " + token(keys, role, agent_id="a") for role in ALLOWED},
    }
    failures = []
    async with grpc.aio.insecure_channel(server.address) as channel:
        for service, method, client_streaming, server_streaming in METHODS:
            for state, auth in states.items():
                code = await _outcome(
                    channel, service, method, (client_streaming, server_streaming), auth
                )
                if state in ALLOWED and method in ALLOWED[state]:
                    ok = code not in AUTH_CODES
                elif state in ALLOWED:
                    ok = code == grpc.StatusCode.PERMISSION_DENIED
                else:
                    ok = code == grpc.StatusCode.UNAUTHENTICATED
                if not ok:
                    failures.append((method, state, code.name))
    assert not failures, failures
    assert server.guard is not None and server.guard.refused > 0
    async with DweClient(server.address, token=token(keys, "admin")) as admin:
        metrics = await admin.get_engine_metrics()
    assert metrics.auth_refused == server.guard.refused > 0


async def test_the_messages_say_why(
    make_server: MakeServer, key_file: str, keys: TokenKeys
) -> None:
    server = await _auth_server(make_server, key_file)
    async with DweClient(server.address, token=token(keys, "viewer")) as viewer:
        with pytest.raises(Exception) as denied:
            await viewer.create_workflow(build_workflow_spec("x", [{"step_id": "a"}]))
    assert "CreateWorkflow needs the role operator" in str(denied.value)
    assert "'test-viewer' has the role viewer" in str(denied.value)
    async with DweClient(server.address, token="") as anonymous:
        with pytest.raises(Exception) as missing:
            await anonymous.get_server_info()
    assert "no token: send 'authorization: Bearer <token>'" in str(missing.value)


async def test_agents_and_clients_work_with_their_tokens(
    make_server: MakeServer, key_file: str, keys: TokenKeys
) -> None:
    server = await _auth_server(make_server, key_file)
    agent_token = token(keys, "agent", agent_id="worker", capabilities=("work",))
    agent = Agent("worker", capabilities=["work"], token=agent_token)

    @agent.handler("work")
    async def work(task: Task) -> str:
        return "authorised"

    operator = token(keys, "operator")
    async with serving(server.address, agent), DweClient(server.address, token=operator) as c:
        created = await c.create_workflow(
            build_workflow_spec("auth", [{"step_id": "a", "agent_capability": "work"}])
        )
        events = [e async for e in c.execute_workflow(created.workflow_id)]
    assert name_of(events[-1]) == "workflow_completed"


async def _hello(server: DweServer, auth: str, agent_id: str, caps: list[str]) -> Any:
    async with grpc.aio.insecure_channel(server.address) as channel:
        call = channel.stream_stream(
            "/dwe.v1.AgentService/Connect",
            agent_pb2.ConnectRequest.SerializeToString,
            agent_pb2.ConnectResponse.FromString,
        )(metadata=(("authorization", auth),))
        hello = agent_pb2.Hello(agent_id=agent_id, capabilities=caps, max_concurrent_tasks=1)
        await call.write(agent_pb2.ConnectRequest(hello=hello))
        try:
            first = await call.read()
        except grpc.aio.AioRpcError as exc:
            return exc.code(), exc.details()
        call.cancel()
        return grpc.StatusCode.OK, first.welcome.session_id


async def test_an_agent_token_binds_its_agent_id_and_capabilities(
    make_server: MakeServer, key_file: str, keys: TokenKeys
) -> None:
    server = await _auth_server(make_server, key_file)
    auth = "Bearer " + token(keys, "agent", agent_id="a1", capabilities=("x",))
    code, why = await _hello(server, auth, "a2", ["x"])
    assert code == grpc.StatusCode.PERMISSION_DENIED and "grants agent_id 'a1', not 'a2'" in why
    code, why = await _hello(server, auth, "a1", ["x", "y"])
    assert code == grpc.StatusCode.PERMISSION_DENIED and "capabilities 'y'" in why
    code, session = await _hello(server, auth, "a1", ["x"])
    assert code == grpc.StatusCode.OK and session


def _b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hs256(payload: dict[str, Any], secret: bytes) -> str:
    """An HS256 token signed by hand (PyJWT refuses a public key as an HMAC secret): the
    algorithm-confusion attack on a server whose key is public."""
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(payload)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def bad_tokens(keys: TokenKeys, key_file: str, tmp_path: Path) -> dict[str, str]:
    """Thirty-odd malformed, forged or out-of-date authorization values."""
    now = int(time.time())
    good = token(keys, "admin")
    head, body, sig = good.split(".")
    claims = {"iss": "dwe", "sub": "x", "role": "admin", "iat": now, "exp": now + 600}
    private = serialization.load_pem_private_key(Path(key_file).read_bytes(), None)
    public_pem = private.public_key().public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def signed(payload: dict[str, Any], **kw: Any) -> str:
        return "Bearer " + jwt.encode(payload, private, algorithm="EdDSA", **kw)  # type: ignore[arg-type]

    return {
        "empty": "",
        "bearer-only": "Bearer",
        "bearer-space": "Bearer   ",
        "basic-scheme": "Basic " + _b64(b"user:pass"),
        "no-scheme": good,
        "garbage": "Bearer not-a-jwt",
        "two-parts": f"Bearer {head}.{body}",
        "four-parts": f"Bearer {good}.extra",
        "bad-base64": f"Bearer {head}.!!!.{sig}",
        "alg-none": f"Bearer {_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "alg-none-upper": f"Bearer {_b64({'alg': 'NONE'})}.{_b64(claims)}.",
        "hs256-with-public-key": "Bearer " + _hs256(claims, public_pem),
        "wrong-key": "Bearer " + token(TokenKeys(_key_file(tmp_path, "k2.pem")), "admin"),
        "tampered-role": f"Bearer {head}.{_b64({**claims, 'role': 'admin'})}.{sig}",
        "tampered-sub": f"Bearer {head}.{_b64({**claims, 'sub': 'root'})}.{sig}",
        "signature-cut": f"Bearer {head}.{body}.{sig[:-4]}",
        "signature-empty": f"Bearer {head}.{body}.",
        "expired": "Bearer " + token(keys, "admin", ttl=-1),
        "not-yet-valid": signed({**claims, "nbf": now + 3600}),
        "missing-exp": signed({k: v for k, v in claims.items() if k != "exp"}),
        "missing-iat": signed({k: v for k, v in claims.items() if k != "iat"}),
        "missing-sub": signed({k: v for k, v in claims.items() if k != "sub"}),
        "missing-role": signed({k: v for k, v in claims.items() if k != "role"}),
        "unknown-role": signed({**claims, "role": "root"}),
        "role-not-string": signed({**claims, "role": ["admin"]}),
        "wrong-issuer": signed({**claims, "iss": "someone-else"}),
        "no-issuer": signed({k: v for k, v in claims.items() if k != "iss"}),
        "ns-not-a-list": signed({**claims, "ns": "default"}),
        "caps-not-strings": signed({**claims, "caps": [1, 2]}),
        "sub-not-string": signed({**claims, "sub": 7}),
        "exp-not-number": signed({**claims, "exp": "tomorrow"}),
        "oversized": "Bearer " + "a" * 9000,
        "oversized-20k": "Bearer " + "b" * 20_000,
        "header-json-garbage": f"Bearer {_b64(b'{not json')}.{body}.{sig}",
        "header-not-utf8": f"Bearer {_b64(bytes([0xFF, 0xFE, 0x7B]))}.{body}.{sig}",
    }


async def test_bad_tokens_are_unauthenticated_and_reach_no_handler(
    make_server: MakeServer, key_file: str, keys: TokenKeys, tmp_path: Path
) -> None:
    server = await _auth_server(make_server, key_file)
    cases = bad_tokens(keys, key_file, tmp_path)
    assert len(cases) >= 30
    wrong = {}
    async with grpc.aio.insecure_channel(server.address) as channel:
        for name, auth in cases.items():
            code = await _outcome(
                channel, "WorkflowService", "CreateWorkflow", (False, False), auth
            )
            if code != grpc.StatusCode.UNAUTHENTICATED:
                wrong[name] = code.name
        # Still serving, and nothing was stored.
        good = "Bearer " + token(keys, "viewer")
        assert (
            await _outcome(channel, "EngineService", "GetServerInfo", (False, False), good)
            == grpc.StatusCode.OK
        )
    assert not wrong, wrong
    async with DweClient(server.address, token=token(keys, "viewer")) as client:
        assert (await client.list_workflows()).workflows == []


async def test_token_create_and_the_cli(
    make_server: MakeServer, key_file: str, tmp_path: Path
) -> None:
    server = await _auth_server(make_server, key_file)
    made = await run_cli("token", "create", "--role", "viewer", "--key", key_file, "--ttl", "1h")
    assert made.code == 0, made.err
    listed = await run_cli("--target", server.address, "--token", made.out.strip(), "list")
    assert listed.code == 0, listed.err
    refused = await run_cli("--target", server.address, "list")
    assert refused.code != 0 and "no token" in refused.err and "Traceback" not in refused.err
    agent = await run_cli("token", "create", "--role", "agent", "--key", key_file)
    assert agent.code != 0 and "needs --agent-id" in agent.err


NODE_SDK = ROOT / "clients" / "node" / "dist" / "index.js"
NODE_SCRIPT = """
import { Agent, DweClient } from "%s";
const target = process.env.DWE_TARGET;
const agent = new Agent({ agentId: "node-worker", capabilities: ["work"],
                          token: process.env.AGENT_TOKEN });
agent.handler("work", async () => "node with a token");
const running = agent.run(target);
const client = new DweClient(target, {}, undefined, process.env.OPERATOR_TOKEN);
const created = await client.createWorkflow({
  name: "node-auth", steps: [{ stepId: "a", capability: "work" }],
});
let last;
for await (const event of client.executeWorkflow(created.workflowId)) last = event;
console.log("LAST", last.type);
try { await new DweClient(target, {}, undefined, "").listAgents(); }
catch (err) { console.log("ANON", err.code); }
agent.stop();
await running;
client.close();
"""


@pytest.mark.skipif(
    shutil.which("node") is None or not NODE_SDK.exists(),
    reason="needs node and `make node-deps` (clients/node/dist)",
)
async def test_the_node_package_sends_its_tokens(
    make_server: MakeServer, key_file: str, keys: TokenKeys, tmp_path: Path
) -> None:
    server = await _auth_server(make_server, key_file)
    script = tmp_path / "auth.mjs"
    script.write_text(NODE_SCRIPT % NODE_SDK.as_uri())
    env = {
        **os.environ,
        "DWE_TARGET": server.address,
        "AGENT_TOKEN": token(keys, "agent", agent_id="node-worker", capabilities=("work",)),
        "OPERATOR_TOKEN": token(keys, "operator"),
    }
    env.pop("DWE_TOKEN", None)
    proc = await asyncio.create_subprocess_exec(
        "node", str(script), env=env, stdout=PIPE, stderr=STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 0, text
    assert "LAST 8" in text and "ANON UNAUTHENTICATED" in text, text


async def test_per_token_create_rate_and_open_streams(
    make_server: MakeServer, key_file: str, keys: TokenKeys
) -> None:
    server = await make_server(
        auth_key=key_file, token_create_rate=0.001, token_create_burst=2, token_max_streams=2
    )
    spec = build_workflow_spec("limited", [{"step_id": "a", "agent_capability": "x"}])
    auth = "Bearer " + token(keys, "operator", subject="busy")
    async with DweClient(server.address, token=auth.split(" ", 1)[1]) as client:
        for _ in range(2):
            await client.create_workflow(spec)
        with pytest.raises(Exception) as info:
            await client.create_workflow(spec)
    assert "RESOURCE_EXHAUSTED" in repr(info.value) or "over its limit" in str(info.value)
    assert "create rate of 'busy' over its limit of 0.001/s (burst 2" in str(info.value)
    async with grpc.aio.insecure_channel(server.address) as channel:
        watch = channel.unary_stream(
            "/dwe.v1.WorkflowService/WatchEvents", lambda b: b, lambda b: b
        )
        meta = (("authorization", auth),)
        first, second = watch(b"", metadata=meta), watch(b"", metadata=meta)
        await wait_for(lambda: server.coordinator.subscribers() == 2, what="two streams open")
        with pytest.raises(grpc.aio.AioRpcError) as third:
            async for _ in watch(b"", metadata=meta):
                pass
        assert third.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "already has 2 streams open" in (third.value.details() or "")
        first.cancel()
        await wait_for(lambda: server.coordinator.subscribers() == 1, what="one stream closed")

        streams = [watch(b"", metadata=meta)]

        def a_stream_reopened() -> bool:
            if streams[-1].done():  # refused while the closed one was still counted
                streams.append(watch(b"", metadata=meta))
            return server.coordinator.subscribers() == 2

        await wait_for(a_stream_reopened, what="the freed stream slot")
        for call in (second, *streams):
            call.cancel()


async def test_revoked_tokens_are_refused_after_a_reload(
    make_server: MakeServer, key_file: str, keys: TokenKeys, tmp_path: Path
) -> None:
    deny = tmp_path / "deny.txt"
    deny.write_text("# revoked tokens\n")
    server = await make_server(auth_key=key_file, auth_deny=str(deny))
    first, second = token(keys, "viewer"), token(keys, "viewer", subject="mallory")
    async with (
        DweClient(server.address, token=first) as a,
        DweClient(server.address, token=second) as b,
    ):
        await a.get_server_info()  # verified, and cached
        await b.get_server_info()
        claims = keys.verify(f"Bearer {first}")
        deny.write_text(f"{claims.token_id}  # leaked\nsub:mallory\n")
        server.reload()
        for client in (a, b):
            with pytest.raises(Exception) as info:
                await client.get_server_info()
            assert "token revoked" in str(info.value)
    async with DweClient(server.address, token=token(keys, "viewer")) as fresh:
        assert (await fresh.get_server_info()).version


async def test_sighup_reloads_the_certificate(tmp_path: Path) -> None:
    """A server process swaps its certificate on SIGHUP: new connections need the new CA."""
    from dwe.clients.local import ServerProcess

    from ..support.certs import Authority

    old, new = Authority(tmp_path / "old"), Authority(tmp_path / "new")
    cert = old.issue("server", server=True)
    proc = ServerProcess(
        tmp_path / "d.db", "--tls-cert", cert.cert, "--tls-key", cert.key, cwd=ROOT
    )
    try:
        async with DweClient(proc.address, tls=TlsFiles(old.ca)) as client:
            assert (await client.get_server_info()).version
        fresh = new.issue("server", server=True)
        Path(cert.cert).write_bytes(Path(fresh.cert).read_bytes())
        Path(cert.key).write_bytes(Path(fresh.key).read_bytes())
        proc.proc.send_signal(signal.SIGHUP)

        async def new_ca_works() -> bool:
            async with DweClient(proc.address, tls=TlsFiles(new.ca), rpc_timeout=2) as c:
                try:
                    return bool((await c.get_server_info()).version)
                except UnavailableError:
                    return False

        await wait_for(new_ca_works, what="the new certificate served")
        async with DweClient(proc.address, tls=TlsFiles(old.ca), rpc_timeout=2) as client:
            with pytest.raises(UnavailableError):
                await client.get_server_info()
    finally:
        proc.stop()


async def test_create_workflows_takes_one_create_per_item(
    make_server: MakeServer, key_file: str, keys: TokenKeys
) -> None:
    server = await make_server(auth_key=key_file, token_create_rate=0.001, token_create_burst=3)
    spec = build_workflow_spec("limited", [{"step_id": "a", "agent_capability": "x"}])
    auth = token(keys, "operator", subject="batcher")
    async with DweClient(server.address, token=auth) as client:
        with pytest.raises(ResourceExhaustedError, match=r"over its limit of 0\.001/s for 4 work"):
            await client.create_workflows([create_request(spec, None)] * 4)
        made = await client.create_workflows([create_request(spec, None) for _ in range(2)])
        assert all(not isinstance(m, Exception) and m.created for m in made), made
        with pytest.raises(ResourceExhaustedError):
            await client.create_workflow(spec)  # the refused call took 1 of 3, the two the rest
