"""The dwe CLI as a real process against the real server: exit codes, human and --json output.

Every command that talks to a server runs ``python -m dwe.cli`` in a subprocess
against the ``server`` fixture (real gRPC, real SQLite); workflows are executed by real
agents, either ``dwe agent`` processes (``agent_process``) or an in-process SDK agent.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path
from typing import Any

import orjson
import pytest
from realkit import AgentProcess, Cli, PyAgent, run_cli, wait_for

from dwe.cli import render
from dwe.cli.main import main
from dwe.clients import DweClient, StepState, WorkflowState
from dwe.clients.events import event_name
from dwe.clients.spec import build_workflow_spec
from dwe.server.app import DweServer
from tests.support.procs import run_module, spawn_module

WID = re.compile(r"^[0-9a-f]{32}$")

TWO_STEPS_YAML = """\
name: cli-yaml
priority: high
steps:
  - step_id: a
    agent_capability: a
    description: first step
  - step_id: b
    agent_capability: b
    dependencies: [a]
"""


def write_json(path: Path, obj: Any) -> str:
    path.write_bytes(orjson.dumps(obj))
    return str(path)


async def state_of(client: DweClient, workflow_id: str) -> WorkflowState | None:
    return WorkflowState.from_proto((await client.get_workflow_status(workflow_id)).state)


async def state_of_is(client: DweClient, wid: str, want: WorkflowState) -> bool:
    return await state_of(client, wid) is want


async def completed_workflow(client: DweClient, steps: list[dict[str, Any]]) -> str:
    """Runs a workflow to completion with the typed client (for commands that read one)."""
    created = await client.create_workflow(build_workflow_spec("done", steps))
    async for event in client.execute_workflow(created.workflow_id):
        last = event
    assert last.WhichOneof("detail") == "workflow_completed"
    return created.workflow_id


# run --watch


async def test_run_yaml_watch_completes_with_agent_process(
    client: DweClient, cli: Cli, agent_process: AgentProcess, tmp_path: Path
) -> None:
    # The agent runs through the CLI too: `dwe agent tests.support.agents:counting`.
    agent = await agent_process(
        DWE_TEST_AGENT_ID="cli-agent",
        DWE_TEST_CAPS="a,b",
        DWE_TEST_MAX=2,
        DWE_TEST_DELAY=0.01,
    )
    path = tmp_path / "wf.yaml"
    path.write_text(TWO_STEPS_YAML)

    res = await cli("run", str(path), "--watch", "--context", '{"k": 1}', "--session-id", "s-9")

    assert res.code == 0, res.err + agent.output()
    assert res.err == ""
    lines = res.out.splitlines()
    wid = lines[0]
    assert WID.match(wid)
    assert lines[1] == "[seq 1] workflow_started  cli-yaml  (2 steps, parallel, high)"
    assert "[seq 2] agent_started  a  (agent cli-agent) first step" in lines
    assert any(
        re.fullmatch(r"\[seq \d+\] agent_completed  b  \(agent cli-agent\) in .*", line)
        for line in lines
    )
    assert re.fullmatch(
        r"\[seq \d+\] workflow_completed  completed  success rate 100\.0%  total \S+  2/2 steps",
        lines[-1],
    )
    # The server really ran it, with the context and session from the command line.
    status = await client.get_workflow_status(wid)
    assert WorkflowState.from_proto(status.state) is WorkflowState.COMPLETED
    events = [e async for e in client.watch_workflow(wid)]
    started = events[0]
    assert orjson.loads(started.workflow_started.context.data) == {"k": 1}
    assert started.workflow_started.session_id == "s-9"


async def test_run_json_watch_prints_json_lines(
    cli: Cli, agent_process: AgentProcess, tmp_path: Path
) -> None:
    await agent_process(DWE_TEST_AGENT_ID="json-agent", DWE_TEST_CAPS="a,b", DWE_TEST_DELAY=0.01)
    path = write_json(
        tmp_path / "wf.json",
        {
            "name": "cli-json",
            "context": {"base": True},
            "steps": [
                {"step_id": "a", "agent_capability": "a"},
                {"step_id": "b", "agent_capability": "b", "dependencies": ["a"]},
            ],
        },
    )

    res = await cli("--json", "run", path, "--watch", "--context", '{"k": 2}')

    assert res.code == 0, res.err
    head, *events = res.json_lines()
    assert head["event"] == "workflow_created" and head["seq"] == 0
    assert head["data"]["created"] is True and WID.match(head["workflow_id"])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {e["workflow_id"] for e in events} == {head["workflow_id"]}
    assert events[0]["event"] == "workflow_started"
    assert events[0]["data"]["context"] == {"base": True, "k": 2}
    done = {
        e["data"]["step_id"]: e["data"]["result"] for e in events if e["event"] == "agent_completed"
    }
    assert done["a"]["agent"] == done["b"]["agent"] == "json-agent"
    assert (done["a"]["step"], done["b"]["step"]) == ("a", "b")
    final = events[-1]
    assert final["event"] == "workflow_completed"
    assert final["data"]["final_output"]["results"] == done
    assert final["data"]["final_output"]["success_rate"] == 1.0


async def test_run_watch_of_a_failing_workflow_exits_1(
    client: DweClient, cli: Cli, py_agent: PyAgent, tmp_path: Path
) -> None:
    path = write_json(
        tmp_path / "wf.json",
        {"name": "fails", "steps": [{"step_id": "f", "agent_capability": "fail"}]},
    )

    res = await cli("run", path, "--watch")

    assert res.code == 1, res.out + res.err
    lines = res.out.splitlines()
    wid = lines[0]
    assert any(
        re.fullmatch(
            r"\[seq \d+\] agent_error  f  \(agent py-agent\) "
            r"NonRetryableError: boom",
            line,
        )
        for line in lines
    ), lines
    assert re.match(r"\[seq \d+\] workflow_failed  failed  success rate 0\.0%", lines[-1])
    assert await state_of(client, wid) is WorkflowState.FAILED

    res = await cli("--json", "run", path, "--watch")
    assert res.code == 1
    assert res.json_lines()[-1]["event"] == "workflow_failed"


async def test_run_without_watch_starts_and_returns(
    client: DweClient, cli: Cli, py_agent: PyAgent, tmp_path: Path
) -> None:
    path = write_json(
        tmp_path / "wf.json",
        {"name": "bg", "steps": [{"step_id": "w", "agent_capability": "work"}]},
    )

    res = await cli("run", path, "--json", "--context", '{"x": "y"}')

    assert res.code == 0, res.err
    [line] = res.json_lines()
    assert line["created"] is True
    wid = line["workflow_id"]
    await wait_for(lambda: state_of_is(client, wid, WorkflowState.COMPLETED), what="completed")
    status = await client.get_workflow_status(wid)
    assert orjson.loads(status.steps[0].output.data)["context"] == {"x": "y"}

    res = await cli("run", path)  # human: just the id
    assert res.code == 0 and WID.match(res.out.strip())


# status / watch / list / agents / metrics


async def test_status_human_and_json(client: DweClient, cli: Cli, py_agent: PyAgent) -> None:
    wid = await completed_workflow(
        client,
        [
            {"step_id": "a", "agent_capability": "work"},
            {"step_id": "b", "agent_capability": "work", "dependencies": ["a"]},
        ],
    )

    res = await cli("status", wid, "--json")
    assert res.code == 0, res.err
    [status] = res.json_lines()
    assert (status["workflow_id"], status["name"], status["state"]) == (wid, "done", "completed")
    assert status["progress"] == 1.0
    assert [(s["step_id"], s["state"], s["agent_id"]) for s in status["steps"]] == [
        ("a", "completed", "py-agent"),
        ("b", "completed", "py-agent"),
    ]
    assert status["steps"][1]["output"]["inputs"] == {"a": status["steps"][0]["output"]}

    res = await cli("status", wid)
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert lines[0] == f"workflow   {wid}  done"
    assert lines[1].startswith("state      completed  2/2 steps completed (100.0%)")
    assert re.match(r"  a\s+completed\s+attempts 1 .* agent py-agent$", lines[-2])
    assert re.match(r"  b\s+completed\s+attempts 1 .* agent py-agent$", lines[-1])


async def test_watch_after_seq_replays_the_rest(
    client: DweClient, cli: Cli, py_agent: PyAgent
) -> None:
    wid = await completed_workflow(client, [{"step_id": "s", "agent_capability": "stream"}])
    everything = [e.seq async for e in client.watch_workflow(wid)]
    assert len(everything) > 3

    res = await cli("--json", "watch", wid, "--after-seq", "2")
    assert res.code == 0, res.err
    events = res.json_lines()
    assert [e["seq"] for e in events] == everything[2:]
    streamed = [e["data"]["content"] for e in events if e["event"] == "agent_stream"]
    assert streamed == ["one", "two"]
    assert events[-1]["event"] == "workflow_completed"

    res = await cli("watch", wid, "--after-seq", str(everything[-2]))
    assert res.code == 0, res.err
    [line] = res.out.splitlines()
    assert line.startswith(f"[seq {everything[-1]}] workflow_completed  completed")


async def test_watch_follows_a_running_workflow_live(
    client: DweClient, py_agent: PyAgent, server: DweServer
) -> None:
    created = await client.create_workflow(
        build_workflow_spec("live", [{"step_id": "gate", "agent_capability": "block"}])
    )
    wid = created.workflow_id
    await client.start_workflow(wid)
    assert await asyncio.wait_for(py_agent.started.get(), 15) == "gate"

    proc = await spawn_module("dwe.cli", "--target", server.address, "--json", "watch", wid)
    try:
        seen = []
        assert proc.stdout is not None
        while not seen or seen[-1]["event"] != "agent_started":  # the replayed part
            seen.append(orjson.loads(await asyncio.wait_for(proc.stdout.readline(), 15)))
        assert proc.returncode is None  # still following
        py_agent.gate.set()  # the rest happens after the watcher subscribed
        out, err = await asyncio.wait_for(proc.communicate(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    seen += [orjson.loads(line) for line in out.splitlines()]
    assert [e["event"] for e in seen] == [
        "workflow_started",
        "agent_started",
        "agent_completed",
        "workflow_completed",
    ]
    assert seen[2]["data"]["result"] == {"released": "gate"}


async def test_list_pages_and_filters(client: DweClient, cli: Cli, py_agent: PyAgent) -> None:
    done = await completed_workflow(client, [{"step_id": "a", "agent_capability": "work"}])
    pending = []
    for i in range(2):
        created = await client.create_workflow(
            build_workflow_spec(f"p{i}", [{"step_id": "a", "agent_capability": "work"}])
        )
        pending.append(created.workflow_id)

    res = await cli("list", "--json")
    assert res.code == 0, res.err
    rows = res.json_lines()
    assert [r["workflow_id"] for r in rows] == [pending[1], pending[0], done]  # newest first
    assert [r["state"] for r in rows] == ["pending", "pending", "completed"]
    assert rows[2]["completed_steps"] == rows[2]["total_steps"] == 1

    res = await cli("list", "--limit", "2")
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert lines[0].split() == ["WORKFLOW", "NAMESPACE", "STATE", "STEPS", "CREATED", "NAME"]
    assert [line.split()[0] for line in lines[1:3]] == [pending[1], pending[0]]
    assert lines[3].startswith("more: --page-token ")
    token = lines[3].removeprefix("more: --page-token ")

    res = await cli("list", "--limit", "2", "--page-token", token, "--json")
    assert [r["workflow_id"] for r in res.json_lines()] == [done]

    res = await cli("list", "--state", "completed", "--json")
    assert [r["workflow_id"] for r in res.json_lines()] == [done]
    res = await cli("list", "--state", "pending", "--state", "completed", "--json")
    assert len(res.json_lines()) == 3


async def test_agents_human_and_json(client: DweClient, cli: Cli, py_agent: PyAgent) -> None:
    from dwe.v1 import agent_pb2

    await client.register_agent(
        agent_pb2.AgentInfo(
            agent_id="offline",
            agent_type="scout",
            capabilities=["data_fetch"],
            max_concurrent_tasks=3,
        )
    )

    res = await cli("agents", "--json")
    assert res.code == 0, res.err
    agents = {a["agent_id"]: a for a in res.json_lines()}
    assert set(agents) == {"py-agent", "offline"}
    assert agents["py-agent"]["connected"] is True
    assert sorted(agents["py-agent"]["capabilities"]) == ["block", "fail", "stream", "work"]
    assert agents["py-agent"]["max_concurrent_tasks"] == 8
    assert agents["offline"]["connected"] is False
    assert (agents["offline"]["agent_type"], agents["offline"]["capabilities"]) == (
        "scout",
        ["data_fetch"],
    )

    res = await cli("agents")
    assert res.code == 0, res.err
    rows = {line.split()[0]: line for line in res.out.splitlines()[1:]}
    assert re.fullmatch(
        r"py-agent\s+py\s+default\s+connected\s+0/8\s+block, fail, stream, work", rows["py-agent"]
    )
    assert re.fullmatch(
        r"offline\s+scout\s+default\s+registered\s+0/3\s+data_fetch", rows["offline"]
    )


async def test_metrics_human_and_json(
    client: DweClient, cli: Cli, py_agent: PyAgent, server: DweServer
) -> None:
    await completed_workflow(client, [{"step_id": "a", "agent_capability": "work"}])
    wid = (
        await client.create_workflow(
            build_workflow_spec("f", [{"step_id": "f", "agent_capability": "fail"}])
        )
    ).workflow_id
    async for _ in client.execute_workflow(wid):
        pass

    res = await cli("metrics", "--json")
    assert res.code == 0, res.err
    [metrics] = res.json_lines()
    assert (metrics["completed_workflows"], metrics["failed_workflows"]) == (1, 1)
    assert metrics["active_workflows"] == 0
    assert metrics["completed_steps"] == 1
    assert isinstance(metrics["performance_metrics"]["workflow_count"], list)

    res = await cli("metrics")
    assert res.code == 0, res.err
    lines = {line.split()[0]: line.split()[1:] for line in res.out.splitlines()}
    assert lines["completed_workflows"] == ["1"]
    assert lines["failed_workflows"] == ["1"]


# cancel


async def test_cancel_a_running_workflow(
    client: DweClient, cli: Cli, agent_process: AgentProcess
) -> None:
    await agent_process(DWE_TEST_AGENT_ID="slow", DWE_TEST_CAPS="slow", DWE_TEST_DELAY=30)
    wid = (
        await client.create_workflow(
            build_workflow_spec("long", [{"step_id": "s", "agent_capability": "slow"}])
        )
    ).workflow_id
    await client.start_workflow(wid)

    async def step_running() -> bool:
        [step] = (await client.get_workflow_status(wid)).steps
        return StepState.from_proto(step.state) is StepState.RUNNING and step.agent_id == "slow"

    await wait_for(step_running, what="step running on the slow agent")
    assert [a.current_load for a in await client.list_agents()] == [1]

    res = await cli("cancel", wid, "--reason", "operator said so")
    assert (res.code, res.out, res.err) == (0, "cancelled\n", "")
    status = await client.get_workflow_status(wid)
    assert WorkflowState.from_proto(status.state) is WorkflowState.CANCELLED
    assert "operator said so" in status.error_message
    events = [e async for e in client.watch_workflow(wid)]
    assert event_name(events[-1].type) == "workflow_cancelled"

    async def slot_freed() -> bool:  # the agent confirmed its handler was cancelled
        [agent] = await client.list_agents()
        return agent.agent_id == "slow" and agent.current_load == 0

    await wait_for(slot_freed, 10, "the agent process confirmed the cancel")

    # Again: nothing to cancel, which is not an error.
    res = await cli("cancel", wid)
    assert (res.code, res.out) == (0, "not cancelled: workflow already cancelled\n")
    res = await cli("cancel", wid, "--json")
    assert res.json_lines() == [{"workflow_id": wid, "cancelled": False, "state": "cancelled"}]


async def test_cancel_json_reports_the_new_state(
    client: DweClient, cli: Cli, py_agent: PyAgent
) -> None:
    wid = (
        await client.create_workflow(
            build_workflow_spec("blocked", [{"step_id": "b", "agent_capability": "block"}])
        )
    ).workflow_id
    await client.start_workflow(wid)
    await asyncio.wait_for(py_agent.started.get(), 15)

    res = await cli("--json", "cancel", wid)
    assert res.code == 0, res.err
    assert res.json_lines() == [{"workflow_id": wid, "cancelled": True, "state": "cancelled"}]
    assert await state_of(client, wid) is WorkflowState.CANCELLED


# errors


async def test_server_side_validation_error_exits_2(
    client: DweClient, cli: Cli, tmp_path: Path
) -> None:
    path = write_json(
        tmp_path / "cycle.json",
        {
            "name": "cyclic",
            "steps": [
                {"step_id": "A", "agent_capability": "work", "dependencies": ["B"]},
                {"step_id": "B", "agent_capability": "work", "dependencies": ["A"]},
            ],
        },
    )
    res = await cli("run", path, "--watch")
    assert (res.code, res.out) == (2, "")
    assert res.err == "error: INVALID_ARGUMENT: dependency cycle: A -> B -> A\n"

    path = write_json(
        tmp_path / "dangling.json",
        {
            "name": "d",
            "steps": [{"step_id": "A", "agent_capability": "work", "dependencies": ["ghost"]}],
        },
    )
    res = await cli("run", path)
    assert res.code == 2
    assert res.err.startswith("error: ") and "ghost" in res.err

    assert list((await client.list_workflows()).workflows) == []  # nothing was stored


@pytest.mark.parametrize("command", [["status", "nope"], ["cancel", "nope"], ["watch", "nope"]])
async def test_unknown_workflow_exits_1(cli: Cli, command: list[str]) -> None:
    res = await cli(*command)
    assert (res.code, res.out) == (1, "")
    assert res.err == "error: NOT_FOUND: workflow 'nope' not found\n"
    res = await cli("--json", *command)
    assert (res.code, res.out) == (1, "")
    error = {"code": "NOT_FOUND", "message": "workflow 'nope' not found"}
    assert orjson.loads(res.err) == {"error": error} and res.err.count("\n") == 1


async def test_run_twice_with_the_same_request_id(
    client: DweClient, cli: Cli, py_agent: PyAgent, tmp_path: Path
) -> None:
    path = write_json(
        tmp_path / "wf.json",
        {"name": "once", "steps": [{"step_id": "w", "agent_capability": "work"}]},
    )
    first = await cli("run", path, "--request-id", "req-1", "--watch", "--json")
    assert first.code == 0, first.err
    wid = first.json_lines()[0]["workflow_id"]

    again = await cli("run", path, "--request-id", "req-1", "--json")
    # A retried run is idempotent: same workflow, not started twice, not an error.
    assert again.json_lines() == [{"workflow_id": wid, "created": False, "namespace": "default"}]
    assert (again.code, again.err) == (0, "")
    watched = await cli("run", path, "--request-id", "req-1", "--watch", "--json")
    lines = watched.json_lines()
    assert watched.code == 0, watched.err
    assert lines[0]["event"] == "workflow_created"
    assert lines[0]["data"] == {"workflow_id": wid, "created": False, "namespace": "default"}
    # With --watch it replays that run's events instead of starting it again.
    assert [e["event"] for e in lines[1:]][-1] == "workflow_completed"
    assert [e["seq"] for e in lines[1:]] == list(range(1, len(lines)))
    assert len((await client.list_workflows()).workflows) == 1


async def test_unreachable_server_exits_1() -> None:
    res = await run_cli("--target", "127.0.0.1:1", "metrics")
    assert res.code == 1
    assert res.err.startswith("error: UNAVAILABLE: dwe server at 127.0.0.1:1 is unavailable")
    assert res.err.count("\n") == 1


# server and agent subcommands


async def start_server_process(*args: str, env: dict[str, str]) -> tuple[Any, str]:
    """``dwe server ARGS`` in a subprocess; returns it and the address it reports."""
    proc = await spawn_module("dwe.cli", "server", *args, env=env)
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    address = line.removeprefix("dwe server listening on ").strip()
    if not re.fullmatch(r"127\.0\.0\.1:\d+", address) or address.endswith(":0"):
        proc.kill()  # not left running when the test fails here
        await proc.wait()
        raise AssertionError(f"not a listening line: {line!r}")
    return proc, address


async def stop_server_process(proc: Any) -> tuple[int, str]:
    """SIGTERM, then the exit code and stderr (the logs)."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode, err.decode()


async def test_server_command_serves_until_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "served.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DWE_")}
    proc, address = await start_server_process(
        "--host", "127.0.0.1", "--port", "0", "--db", str(db), "--log-format", "json", env=env
    )
    try:
        res = await run_cli(
            "--target",
            address,
            "run",
            write_json(
                tmp_path / "wf.json",
                {"name": "w", "steps": [{"step_id": "a", "agent_capability": "x"}]},
            ),
            "--json",
        )
        assert res.code == 0, res.err
        wid = res.json_lines()[0]["workflow_id"]
    finally:
        code, logs = await stop_server_process(proc)
    assert code == 0, logs
    assert db.is_file()  # --db was used
    assert [orjson.loads(line) for line in logs.splitlines()], "--log-format json: JSON lines"

    # Flags not given do not override the environment: the file comes from DWE_DB here.
    # The workflow started above (no agent had its capability) is still running there.
    proc, address = await start_server_process("--port", "0", env={**env, "DWE_DB": str(db)})
    try:
        res = await run_cli("--target", address, "status", wid, "--json")
        assert res.code == 0, res.err
        assert res.json_lines()[0]["state"] == "running"
    finally:
        code, logs = await stop_server_process(proc)
    assert code == 0, logs
    assert "resumed 1 unfinished workflows" in logs


async def test_agent_bad_spec_is_a_usage_error() -> None:
    res = await run_cli("agent", "no_colon", "--target", "127.0.0.1:1")
    assert res.code == 2
    assert res.err.startswith("error: cannot load agent 'no_colon'")


async def test_old_module_path_dwe_clients_cli_still_runs_the_command() -> None:
    res = await run_module("dwe.clients.cli", "agent", "no_colon", "--target", "127.0.0.1:1")
    assert res.code == 2
    assert res.err.startswith("error: cannot load agent 'no_colon'")


def test_every_command_is_in_the_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    from dwe.cli.main import build_parser

    monkeypatch.delenv("DWE_TARGET", raising=False)
    listed = {
        line.split()[0] for line in build_parser().format_help().splitlines() if line[:4] == "    "
    }
    assert listed >= {
        "server",
        "agent",
        "run",
        "intent",
        "watch",
        "status",
        "cancel",
        "agents",
        "metrics",
        "list",
    }
    args = build_parser().parse_args(["server", "--max-concurrent-workflows", "3", "--db", "x"])
    assert (args.max_concurrent_workflows, args.db, args.target) == (3, "x", "127.0.0.1:50051")


# offline input checks (no server involved)


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("{not json", ".json", "is not valid JSON"),
        ("name: [", ".yaml", "is not valid YAML"),
        (
            '{"name": "w", "steps": [{"step_id": "a", "retries": 1}]}',
            ".json",
            "step 'a': unknown key 'retries'",
        ),
    ],
)
def test_run_rejects_bad_files_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, suffix: str, message: str
) -> None:
    path = tmp_path / f"wf{suffix}"
    path.write_text(content)
    assert main(["--target", "127.0.0.1:1", "run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert message in err


def test_run_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--target", "127.0.0.1:1", "run", "/nonexistent/wf.json"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_run_bad_context_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_json(tmp_path / "wf.json", {"name": "w", "steps": [{"step_id": "a"}]})
    assert main(["--target", "127.0.0.1:1", "run", path, "--context", "[1]"]) == 2
    assert capsys.readouterr().err == "error: --context must be a JSON object\n"


@pytest.mark.parametrize(
    ("event", "want"),
    [
        (
            {
                "event": "agent_started",
                "seq": 3,
                "data": {
                    "step_id": "fetch_account_data",
                    "agent_id": "zoho_scout",
                    "task": "Retrieve account information",
                },
            },
            "[seq 3] agent_started  fetch_account_data  (agent zoho_scout) "
            "Retrieve account information",
        ),
        (
            {
                "event": "agent_error",
                "seq": 5,
                "data": {
                    "step_id": "a",
                    "agent_id": "x",
                    "error_type": "ValueError",
                    "error_message": "boom",
                    "will_retry": True,
                },
            },
            "[seq 5] agent_error  a  (agent x) ValueError: boom  (will retry)",
        ),
        (
            {
                "event": "agent_retrying",
                "seq": 6,
                "data": {"step_id": "a", "next_attempt": 2, "delay": 1.5, "reason": "boom"},
            },
            "[seq 6] agent_retrying  a  attempt 2 in 1.50s  boom",
        ),
    ],
)
def test_format_event(event: dict[str, Any], want: str) -> None:
    assert render.format_event(event) == want
