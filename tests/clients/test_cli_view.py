"""The CLI's views of a run and its rough edges, as real processes against a real server.

The live table runs under a pseudo-terminal (pexpect); plain and --json outputs are
read as text from pipes. Agents are real: an in-process SDK agent or ``dwe agent``
processes. Nothing waits on time: every wait is on a condition with a timeout.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import socket
import struct
import subprocess
import sys
import termios
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import orjson
import pexpect
import pytest
from pexpect.fdpexpect import fdspawn
from realkit import ROOT, WAIT, Cli, PyAgent, run_cli, wait_for

from dwe.clients import DweClient, WorkflowState
from dwe.clients.spec import build_workflow_spec
from dwe.server.app import DweServer
from tests.conftest import MakeServer, free_port

EVENT_KEYS = {"event", "workflow_id", "seq", "timestamp", "data"}
PLAIN_LINE = re.compile(r"\[seq \d+\] [a-z_]+( .*)?")
#: Whatever may sit between two cells of a row on the terminal: spaces, colours, cursor moves.
BETWEEN = r"(?:[\s│|]|\x1b\[[0-9;?]*[A-Za-z])*"

GATED = {
    "name": "live-demo",
    "steps": [
        {"step_id": "gate", "agent_capability": "block"},
        {"step_id": "after", "agent_capability": "stream", "dependencies": ["gate"]},
    ],
}


def cells(*words: str) -> re.Pattern[str]:
    """A row of the terminal with these cells next to each other (ANSI codes between)."""
    return re.compile(BETWEEN.join(re.escape(w) for w in words))


def write_workflow(tmp_path: Path, spec: dict) -> str:
    path = tmp_path / "wf.json"
    path.write_bytes(orjson.dumps(spec))
    return str(path)


def spawn_tty(*args: str) -> tuple[fdspawn, subprocess.Popen[bytes]]:
    """``python -m dwe.cli ARGS`` with a pseudo-terminal as stdin, stdout and stderr, as
    a user's shell would run it; pexpect reads the terminal's side.

    Started with subprocess (fork and exec in C), not ``pexpect.spawn``: a Python-level
    fork of this process, whose threads run a gRPC server, can crash the child or us.
    """
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "40"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dwe.cli", *args],
        cwd=ROOT,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)  # the child holds it: EOF (EIO) on the master once the child is gone
    child = fdspawn(master, timeout=WAIT, encoding="utf-8", codec_errors="replace")
    return child, proc


async def expect(child: fdspawn, pattern: re.Pattern[str] | str | type) -> None:
    """child.expect off the event loop (the server under test runs on it)."""
    await asyncio.to_thread(child.expect, pattern)


async def finish(child: fdspawn, proc: subprocess.Popen[bytes]) -> int:
    """Reads the terminal to its end, then the exit code."""
    try:
        await expect(child, pexpect.EOF)
        return await asyncio.to_thread(proc.wait, WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            await asyncio.to_thread(proc.wait, WAIT)
        child.close()


# the live view


async def test_live_view_redraws_the_step_table_to_completion(
    server: DweServer, py_agent: PyAgent, tmp_path: Path
) -> None:
    path = write_workflow(tmp_path, GATED)
    child, proc = spawn_tty("--target", server.address, "run", path, "--watch")
    try:
        await expect(child, cells("live-demo"))  # the header
        assert await asyncio.wait_for(py_agent.started.get(), WAIT) == "gate"
        await expect(child, cells("gate", "running", "py-agent", "1"))
        await expect(child, cells("after", "pending"))
        py_agent.gate.set()
        await expect(child, cells("after", "completed", "py-agent", "1"))
        await expect(child, cells("completed", "elapsed"))  # the header's final state
        await expect(child, re.compile(r"\[seq \d+\] workflow_completed  completed"))
    finally:
        code = await finish(child, proc)
    assert code == 0, child.before


async def test_live_view_of_watch_shows_the_last_streamed_line(
    client: DweClient, server: DweServer, py_agent: PyAgent
) -> None:
    created = await client.create_workflow(
        build_workflow_spec("streamer", [{"step_id": "the-step", "agent_capability": "stream"}])
    )
    wid = created.workflow_id
    async for _ in client.execute_workflow(wid):
        pass
    child, proc = spawn_tty("--target", server.address, "watch", wid)
    try:
        # AGENT_STREAM "one", then "two": the row keeps the last.
        await expect(child, cells("the-step", "completed", "py-agent", "1"))
        await expect(child, re.compile(r"two"))
    finally:
        code = await finish(child, proc)
    assert code == 0, child.before


# plain and --json outputs


async def test_plain_and_json_outputs_have_one_shape(
    cli: Cli, client: DweClient, py_agent: PyAgent, tmp_path: Path
) -> None:
    py_agent.gate.set()
    path = write_workflow(tmp_path, GATED)

    plain = await cli("run", path, "--watch")
    assert plain.code == 0, plain.err
    wid, *lines = plain.out.splitlines()
    assert re.fullmatch(r"[0-9a-f]{32}", wid)
    assert lines and all(PLAIN_LINE.fullmatch(line) for line in lines), lines
    assert lines[0] == "[seq 1] workflow_started  live-demo  (2 steps, parallel, medium)"
    assert any(re.fullmatch(r"\[seq \d+\] agent_stream  after  two", line) for line in lines)

    res = await cli("run", path, "--watch", "--json")
    assert res.code == 0, res.err
    events = res.json_lines()  # every line parses
    assert {frozenset(e) for e in events} == {frozenset(EVENT_KEYS)}
    assert events[0]["event"] == "workflow_created" and events[0]["seq"] == 0
    assert events[0]["data"]["created"] is True
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert {e["workflow_id"] for e in events} == {events[0]["workflow_id"]}
    assert events[-1]["event"] == "workflow_completed"

    watched = await cli("watch", events[0]["workflow_id"], "--json")
    assert watched.code == 0, watched.err
    assert {frozenset(e) for e in watched.json_lines()} == {frozenset(EVENT_KEYS)}
    assert watched.json_lines() == events[1:]  # the same events, replayed


# rough edges


async def test_version() -> None:
    res = await run_cli("--version")
    assert (res.code, res.out, res.err) == (0, f"dwe {version('dwe')}\n", "")


async def test_server_help_lists_only_what_the_server_uses() -> None:
    res = await run_cli("server", "--help")
    assert res.code == 0, res.err
    assert "--port" in res.out and "--db" in res.out
    assert "--target" not in res.out and "--json" not in res.out
    res = await run_cli("run", "--help")
    assert "--target" in res.out and "--json" in res.out
    assert '"workflow_created"' in res.out  # the NDJSON shape is documented there


async def test_port_in_use_is_one_line_naming_the_address(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        db = str(tmp_path / "d.db")
        res = await run_cli("server", "--port", str(port), "--db", db)
        assert (res.code, res.out) == (1, "")
        assert res.err == f"error: cannot listen on 127.0.0.1:{port}: address already in use\n"
        res = await run_cli("--json", "server", "--port", str(port), "--db", db)
        assert res.code == 1
        assert orjson.loads(res.err) == {
            "error": {
                "code": "UNKNOWN",
                "message": f"cannot listen on 127.0.0.1:{port}: address already in use",
            }
        }


@pytest.mark.parametrize(
    ("args", "code", "status", "words"),
    [
        (["status"], 2, "INVALID_ARGUMENT", "required: workflow_id"),
        (["run", "/nonexistent.yaml"], 2, "INVALID_ARGUMENT", "cannot read /nonexistent.yaml"),
        (["--target", "127.0.0.1:1", "metrics"], 1, "UNAVAILABLE", "127.0.0.1:1 is unavailable"),
    ],
)
async def test_errors_under_json_are_one_object(
    args: list[str], code: int, status: str, words: str
) -> None:
    res = await run_cli("--json", *args)
    assert (res.code, res.out) == (code, "")
    assert res.err.count("\n") == 1
    error = orjson.loads(res.err)["error"]
    assert error["code"] == status and words in error["message"]
    plain = await run_cli(*args)
    assert plain.code == code and plain.err.count("\n") == 1
    assert plain.err.startswith("error: ") and words in plain.err


async def test_a_cancelled_run_does_not_read_100_percent(
    cli: Cli, client: DweClient, py_agent: PyAgent
) -> None:
    spec = build_workflow_spec(
        "to-cancel",
        [
            {"step_id": "b", "agent_capability": "block"},
            {"step_id": "w", "agent_capability": "work", "dependencies": ["b"]},
        ],
    )
    wid = (await client.create_workflow(spec)).workflow_id
    await client.start_workflow(wid)
    await asyncio.wait_for(py_agent.started.get(), WAIT)
    assert (await client.cancel_workflow(wid)).cancelled

    res = await cli("status", wid)
    assert res.code == 0, res.err
    state = res.out.splitlines()[1]
    assert state.startswith("state      cancelled  0/2 steps completed (0.0%)"), state
    assert "100.0%" not in res.out
    watched = await cli("watch", wid)
    assert watched.code == 1
    assert re.search(r"workflow_cancelled  cancelled  success rate 0\.0% .* 0/2 steps", watched.out)


async def test_agent_prints_a_line_when_it_connects_and_reconnects(
    make_server: MakeServer, spawn_agent: Callable[..., Any]
) -> None:
    port = free_port()
    server = await make_server(port=port)
    agent = spawn_agent(server.address, DWE_TEST_AGENT_ID="liner", DWE_TEST_CAPS="a,b")
    line = (
        f"agent liner connected to {server.address} (capabilities a, b; namespace default; session "
    )
    await wait_for(lambda: line in agent.output(), WAIT, "the connect line")

    await server.stop(0.5)  # the agent is drained, then reconnects to the next server
    again = await make_server(port=port)
    reconnected = line.replace(" connected ", " reconnected ")
    await wait_for(lambda: reconnected in agent.output(), WAIT, "the reconnect line")
    assert "Traceback" not in agent.output()
    await again.stop(0.5)


async def test_agent_connect_line_under_json(server: DweServer) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dwe.cli",
        "agent",
        "tests.support.agents:counting",
        "--target",
        server.address,
        "--json",
        cwd=ROOT,
        env={**os.environ, "DWE_TEST_AGENT_ID": "json-liner", "DWE_TEST_CAPS": "x"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        row = orjson.loads(await asyncio.wait_for(proc.stdout.readline(), WAIT))
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), WAIT)
    assert row["event"] == "agent_connected"
    assert (row["agent_id"], row["target"], row["capabilities"]) == (
        "json-liner",
        server.address,
        ["x"],
    )
    assert row["namespace"] == "default" and row["session_id"]


async def test_run_json_watch_of_a_failure_ends_with_its_event(
    cli: Cli, client: DweClient, py_agent: PyAgent, tmp_path: Path
) -> None:
    path = write_workflow(
        tmp_path, {"name": "f", "steps": [{"step_id": "f", "agent_capability": "fail"}]}
    )
    res = await cli("--json", "run", path, "--watch")
    assert res.code == 1 and res.err == ""
    events = res.json_lines()
    assert {frozenset(e) for e in events} == {frozenset(EVENT_KEYS)}
    assert events[-1]["event"] == "workflow_failed"
    status = await client.get_workflow_status(events[0]["workflow_id"])
    assert WorkflowState.from_proto(status.state) is WorkflowState.FAILED
