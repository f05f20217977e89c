"""Replicas across hosts (issue 10): two replicas, an agent and a client, each in its own
network namespace with its own address on a test bridge, PostgreSQL on the bridge's
address. A workflow runs through the standby, the owner is killed, and the next one
runs through the replica that took over. Needs root and ``ip netns``."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import ROOT, WAIT
from ..support import postgres
from ..support.specs import DIAMOND

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None or postgres.binaries() is None,
    reason="needs root, ip netns and PostgreSQL",
)

NET = "10.201.7"
HOSTS = {"r1": 11, "r2": 12, "ag": 21, "cl": 22}
CLIENT = """
import asyncio, sys
from dwe.clients import UnavailableError
from dwe.clients.spec import build_workflow_spec
from dwe.clients.typed import DweClient
from tests.support.specs import DIAMOND

async def main():
    # Tries again while a failover makes calls UNAVAILABLE (creates are idempotent).
    async with DweClient(sys.argv[1], rpc_timeout=10) as c:
        for attempt in range(100):
            try:
                made = await c.create_workflow(build_workflow_spec("netns", DIAMOND), sys.argv[2])
                async for e in c.execute_workflow(made.workflow_id):
                    last = e
                break
            except UnavailableError:
                await asyncio.sleep(0.2)
    print("ended", last.type, made.workflow_id)

asyncio.run(main())
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@contextlib.contextmanager
def _network() -> Iterator[dict[str, str]]:
    """A bridge with the test's address and one namespace per host, veth-linked."""
    tag = uuid.uuid4().hex[:5]
    bridge = f"dwbr{tag}"
    names = {host: f"dwe-{host}-{tag}" for host in HOSTS}
    try:
        _ip("link", "add", bridge, "type", "bridge")
        _ip("addr", "add", f"{NET}.1/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for host, last in HOSTS.items():
            ns, outer, inner = names[host], f"dw{host}{tag}o", f"dw{host}{tag}i"
            _ip("netns", "add", ns)
            _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
            _ip("link", "set", outer, "master", bridge, "up")
            _ip("link", "set", inner, "netns", ns)
            _ip("-n", ns, "addr", "add", f"{NET}.{last}/24", "dev", inner)
            _ip("-n", ns, "link", "set", inner, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield names
    finally:
        for ns in names.values():
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip("netns", "del", ns)
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", bridge)


def _in(ns: str, *cmd: str, **popen: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["ip", "netns", "exec", ns, *cmd], cwd=ROOT, **popen)  # type: ignore[call-overload]


def _replica(ns: str, host: str, db: str, log: Path) -> subprocess.Popen[bytes]:
    address = f"{NET}.{HOSTS[host]}"
    cmd = [sys.executable, "-m", "dwe.cli", "server", "--host", address, "--port", "50051"]
    cmd += ["--db", db, "--replica-id", host, "--lease-seconds", "2", "--insecure"]
    with open(log, "wb") as out:
        return _in(ns, *cmd, stdout=out, stderr=subprocess.STDOUT)


def _listening(log: Path) -> None:
    """Wait (with a deadline) until the server logged that it listens."""
    deadline = time.monotonic() + WAIT
    while b"dwe server listening" not in log.read_bytes():
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-2000:]
        time.sleep(0.05)


def _client(ns: str, target: str, request_id: str) -> str:
    done = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-c", CLIENT, target, request_id],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT * 4,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_replicas_agent_and_client_on_their_own_hosts(tmp_path: Path) -> None:
    bin_dir = postgres.binaries()
    assert bin_dir is not None
    cluster = postgres.Cluster(bin_dir)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with _network() as ns:
            base = cluster.listen_also(f"{NET}.1", f"{NET}.0/24")
            db = f"{base}/{cluster.database().rsplit('/', 1)[1]}"
            r1 = _replica(ns["r1"], "r1", db, tmp_path / "r1.log")
            procs.append(r1)
            _listening(tmp_path / "r1.log")
            target = f"ipv4:{NET}.{HOSTS['r1']}:50051,{NET}.{HOSTS['r2']}:50051"
            caps = ",".join(sorted({s["agent_capability"] for s in DIAMOND}))
            env = {**os.environ, "DWE_TEST_AGENT_ID": "far", "DWE_TEST_CAPS": caps}
            agent_cmd = [sys.executable, "-m", "dwe.cli", "agent"]
            agent_cmd += ["tests.support.agents:counting", "--target", target]
            with open(tmp_path / "agent.log", "wb") as out:
                procs.append(
                    _in(ns["ag"], *agent_cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
                )
            first = _client(ns["cl"], f"{NET}.{HOSTS['r1']}:50051", "first")
            r2 = _replica(ns["r2"], "r2", db, tmp_path / "r2.log")
            procs.append(r2)
            _listening(tmp_path / "r2.log")
            via_standby = _client(ns["cl"], f"{NET}.{HOSTS['r2']}:50051", "via-standby")
            r1.kill()
            r1.wait(10)
            after = _client(ns["cl"], target, "after-failover")
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                p.kill()
            p.wait(10)
        cluster.stop()
    completed = "ended 8 "  # EVENT_TYPE_WORKFLOW_COMPLETED
    for out in (first, via_standby, after):
        assert out.startswith(completed), out
