"""``dwe admin prune`` and ``dwe admin backup`` as real processes against a running server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from realkit import Cli, PyAgent, run_cli

from dwe.clients import DweClient
from dwe.clients.errors import NotFoundError
from dwe.clients.spec import build_workflow_spec
from dwe.server.app import DweServer
from dwe.server.store.migrations import LATEST
from tests.conftest import TEST_STORE, MakeServer

STEPS = [
    {"step_id": "a", "agent_capability": "work"},
    {"step_id": "b", "agent_capability": "work", "dependencies": ["a"]},
]


async def completed(client: DweClient) -> str:
    created = await client.create_workflow(build_workflow_spec("done", STEPS))
    async for _ in client.execute_workflow(created.workflow_id):
        pass
    return created.workflow_id


async def test_prune_dry_run_then_prune(client: DweClient, cli: Cli, py_agent: PyAgent) -> None:
    done = [await completed(client) for _ in range(2)]
    live = build_workflow_spec("live", [{"step_id": "a", "agent_capability": "nobody"}])
    running = (await client.create_workflow(live)).workflow_id
    await client.start_workflow(running)

    dry = await cli("admin", "prune", "--older-than", "0", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    (counted,) = dry.json_lines()
    assert counted["workflows"] == 2 and counted["events"] > 0 and counted["dry_run"] is True
    recent = await cli("admin", "prune", "--older-than", "7d")
    assert (recent.code, recent.out.strip()) == (
        0,
        "pruned 0 workflows and 0 events that ended over 7d ago",
    )

    pruned = await cli("admin", "prune", "--older-than", "0s")

    assert pruned.code == 0, pruned.err
    want = f"pruned 2 workflows and {counted['events']} events that ended over 0s ago"
    assert pruned.out.strip() == want
    for workflow_id in done:
        with pytest.raises(NotFoundError):
            await client.get_workflow_status(workflow_id)
    assert (await client.get_workflow_status(running)).workflow_id == running


async def test_prune_needs_a_duration(cli: Cli) -> None:
    missing = await cli("admin", "prune")
    assert missing.code == 2 and "--older-than" in missing.err
    bad = await cli("admin", "prune", "--older-than", "a week")
    assert bad.code == 2 and "'a week' is not a duration" in bad.err


@pytest.mark.skipif(TEST_STORE == "postgres", reason="copies a SQLite file (pg_dump's job)")
async def test_backup_of_a_live_server_opens_with_the_same_workflows(
    server: DweServer, client: DweClient, cli: Cli, py_agent: PyAgent, make_server: MakeServer
) -> None:
    done = [await completed(client) for _ in range(3)]
    live = build_workflow_spec("live", [{"step_id": "a", "agent_capability": "nobody"}])
    pending = (await client.create_workflow(live)).workflow_id
    out = Path(server.config.db_path).with_name("backup.db")

    made = await cli("admin", "backup", str(out), "--db", server.config.db_path, "--json")

    assert made.code == 0, made.err
    (info,) = made.json_lines()
    assert (info["workflows"], info["schema_version"]) == (4, LATEST)
    assert info["bytes"] == out.stat().st_size
    assert not out.with_name("backup.db.partial").exists()
    again = await cli("admin", "backup", str(out), "--db", server.config.db_path)
    assert again.code == 2 and "exists" in again.err

    restored = await make_server(db_path=str(out))
    async with DweClient(restored.address) as copy:
        listed = await copy.list_workflows()
        original = await client.list_workflows()
        assert [(w.workflow_id, w.state) for w in listed.workflows] == [
            (w.workflow_id, w.state) for w in original.workflows
        ]
        assert {w.workflow_id for w in listed.workflows} == {*done, pending}
        for workflow_id in done:
            want = [(e.seq, e.type) async for e in client.watch_workflow(workflow_id)]
            assert [(e.seq, e.type) async for e in copy.watch_workflow(workflow_id)] == want


async def test_backup_refuses_what_is_not_a_dwe_database(tmp_path: Path) -> None:
    missing = await run_cli("admin", "backup", str(tmp_path / "b.db"), "--db", "nope.db")
    assert missing.code == 2 and "no such database file" in missing.err
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.close()
    refused = await run_cli("admin", "backup", str(tmp_path / "b.db"), "--db", str(other))
    assert refused.code == 2 and "is not a dwe database" in refused.err
    assert not (tmp_path / "b.db").exists()


def test_server_retention_flags_parse_durations() -> None:
    from dwe.cli.main import build_parser

    args = build_parser().parse_args(["server", "--retention", "7d", "--prune-interval", "5m"])
    assert (args.retention, args.prune_interval) == (604800.0, 300.0)


async def test_server_refuses_a_newer_database_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.execute("CREATE TABLE workflows (id TEXT)")
    db.close()
    res = await run_cli("server", "--port", "0", "--db", str(path))
    assert res.code == 1
    assert res.err.strip().splitlines()[-1] == (
        f"error: {path} has schema version 99, newer than this server understands ({LATEST}):"
        " upgrade dwe or use another database"
    )
    assert "Traceback" not in res.err


async def test_server_refuses_a_prune_interval_of_zero(tmp_path: Path) -> None:
    res = await run_cli(
        "server", "--port", "0", "--db", str(tmp_path / "x.db"), "--prune-interval", "0"
    )
    assert (res.code, res.err.strip()) == (2, "error: prune_interval must be more than 0")


async def test_server_refuses_a_database_it_cannot_open_in_one_line(tmp_path: Path) -> None:
    """Found by the fault suite (a full disk at start gave a traceback): SQLite's reason
    in one line. Here the path is a directory, which SQLite cannot open as root either."""
    path = tmp_path / "a-directory.db"
    path.mkdir()
    res = await run_cli("server", "--port", "0", "--db", str(path))
    assert res.code == 1
    assert res.err.strip().splitlines()[-1] == (
        f"error: cannot open the database {path}: unable to open database file"
    )
    assert "Traceback" not in res.err


async def test_backup_of_a_postgresql_store_points_to_pg_dump(tmp_path: Path) -> None:
    made = await run_cli(
        "admin", "backup", str(tmp_path / "b.db"), "--db", "postgresql://dwe@127.0.0.1/dwe"
    )
    assert made.code == 2
    assert made.err.strip() == (
        "error: dwe admin backup copies a SQLite file; back a PostgreSQL store up with"
        " pg_dump (docs/operations.md)"
    )
