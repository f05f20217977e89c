"""The SQLite store on its own: real files in tmp_path, no server, no mocks."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from dwe.server.engine.model import (
    AgentRegistration,
    Blob,
    ErrorInfo,
    EventType,
    Priority,
    StepSpec,
    StepState,
    WorkflowSpec,
    WorkflowState,
)
from dwe.server.engine.runs import WorkflowRun
from dwe.server.store.base import StepRow, WorkflowQuery, WorkflowRow
from dwe.server.store.codec import dumps, spec_to_json
from dwe.server.store.mapping import agent_row, step_update, workflow_insert, workflow_update
from dwe.server.store.migrations import LATEST
from dwe.server.store.rows import EventRow, WriteBatch
from dwe.server.store.sqlite import SchemaError, SqliteStore

SPEC = WorkflowSpec(
    "report",
    (StepSpec("a", capability="fetch"), StepSpec("b", capability="sum", dependencies=("a",))),
    priority=Priority.HIGH,
    context={"k": 1},
)
AGENT = AgentRegistration("ag-1", "worker", ("fetch", "sum"), 4, {"zone": "eu"})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "dwe.db")
    yield s
    s.close()


def create(store: SqliteStore, *workflows: tuple[str, str, float]) -> None:
    """Commit new workflows (id, request id, created_at) of SPEC in one batch."""
    batch = WriteBatch()
    for workflow_id, request_id, created_at in workflows:
        row, steps = workflow_insert(workflow_id, request_id, SPEC, created_at)
        batch.new_workflows.append(row)
        batch.new_steps.extend(steps)
    store.write(batch)


def event(workflow_id: str, seq: int, type_: EventType = EventType.AGENT_STREAM) -> EventRow:
    return EventRow(
        workflow_id=workflow_id,
        seq=seq,
        type=str(type_),
        time=100.0 + seq,
        step_id="a",
        attempt=1,
        agent_id="ag-1",
        event=b"wire-%d" % seq,
        position=seq,
    )


# The schema exactly as dwe created it at user_version 2 (sqlite-utils for workflows
# and agents, hand-written DDL for steps and events).
V2_SCHEMA = [
    """CREATE TABLE "workflows" (
   "id" TEXT PRIMARY KEY,
   "request_id" TEXT,
   "name" TEXT,
   "spec" BLOB,
   "state" TEXT,
   "priority" INTEGER,
   "mode" TEXT,
   "created_at" REAL,
   "started_at" REAL,
   "finished_at" REAL,
   "session_id" TEXT,
   "context" BLOB,
   "error_message" TEXT,
   "completed_steps" INTEGER,
   "total_steps" INTEGER
)""",
    'CREATE UNIQUE INDEX "idx_workflows_request_id"\n    ON "workflows" ("request_id")',
    'CREATE INDEX "idx_workflows_created_at_id"\n    ON "workflows" ("created_at", "id")',
    'CREATE INDEX "idx_workflows_state"\n    ON "workflows" ("state")',
    """CREATE TABLE steps (
                    workflow_id TEXT NOT NULL, step_id TEXT NOT NULL, idx INTEGER NOT NULL,
                    state TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0,
                    agent_id TEXT NOT NULL DEFAULT '', attempt_id TEXT NOT NULL DEFAULT '',
                    assigned_at REAL NOT NULL DEFAULT 0, started_at REAL NOT NULL DEFAULT 0,
                    finished_at REAL NOT NULL DEFAULT 0,
                    output_encoding TEXT, output BLOB,
                    error_message TEXT NOT NULL DEFAULT '', error_type TEXT NOT NULL DEFAULT '',
                    PRIMARY KEY (workflow_id, step_id)) WITHOUT ROWID""",
    """CREATE TABLE events (
                    workflow_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL,
                    time REAL NOT NULL, step_id TEXT NOT NULL, attempt INTEGER NOT NULL,
                    agent_id TEXT NOT NULL, event BLOB NOT NULL,
                    PRIMARY KEY (workflow_id, seq)) WITHOUT ROWID""",
    """CREATE TABLE "agents" (
   "agent_id" TEXT PRIMARY KEY,
   "agent_type" TEXT,
   "capabilities" TEXT,
   "max_concurrent_tasks" INTEGER,
   "config" BLOB
)""",
]


def make_v2_database(path: Path) -> None:
    with sqlite3.connect(path) as db:
        for sql in V2_SCHEMA:
            db.execute(sql)
        db.execute("PRAGMA user_version=2")
    db.close()


def fill_v2_database(path: Path, events: int) -> None:
    """Rows as a version-2 server wrote them: two workflows, their steps, events, an agent."""
    spec = WorkflowSpec("old", (StepSpec("a"), StepSpec("b", dependencies=("a",))))
    db = sqlite3.connect(path)
    with db:
        for wid, state in (("w1", "completed"), ("w2", "running")):
            db.execute(
                "INSERT INTO workflows VALUES (?, ?, 'old', ?, ?, 2, 'parallel', 1.0, 2.0, 0,"
                " 's1', ?, '', 1, 2)",
                (wid, f"req-{wid}", spec_to_json(spec), state, dumps({"k": wid})),
            )
            db.execute(
                "INSERT INTO steps VALUES (?, 'a', 0, 'completed', 1, 'ag', 'x', 1, 1, 2,"
                " 'json/plain', ?, '', '')",
                (wid, b'"A"'),
            )
            db.execute(
                "INSERT INTO steps (workflow_id, step_id, idx, state) VALUES (?, 'b', 1, ?)",
                (wid, "pending"),
            )
        db.executemany(
            "INSERT INTO events VALUES (?, ?, 'agent_stream', ?, 'a', 1, 'ag', ?)",
            [(f"w{n % 2 + 1}", n, float(n), b"old-%d" % n) for n in range(1, events + 1)],
        )
        db.execute("INSERT INTO agents VALUES ('ag', 't', '[\"c\"]', 3, ?)", (dumps({}),))
    db.close()


def table_rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def set_user_version(path: Path, version: int) -> None:
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={version}")
    db.close()


def user_version(path: Path) -> int:
    return int(table_rows(path, "PRAGMA user_version")[0][0])


def schema_of(path: Path) -> dict[str, object]:
    """Columns, keys, indexes and WITHOUT ROWID of every table, comparable across DDL text."""
    db = sqlite3.connect(path)
    try:
        out: dict[str, object] = {}
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for t in sorted(tables):
            indexes = db.execute(f"PRAGMA index_list({t})").fetchall()
            out[t] = {
                "columns": db.execute(f"PRAGMA table_info({t})").fetchall(),
                "indexes": sorted(
                    (name, unique, origin, [c[2] for c in db.execute(f"PRAGMA index_info({name})")])
                    for _seq, name, unique, origin, _partial in indexes
                ),
                "without_rowid": "WITHOUT ROWID"
                in db.execute("SELECT sql FROM sqlite_master WHERE name=?", (t,)).fetchone()[0],
            }
        return out
    finally:
        db.close()


# -- round trips ----------------------------------------------------------------------


@pytest.fixture
def filled(store: SqliteStore) -> SqliteStore:
    """w1 running (step a done, b waiting to retry) with 3 events, w2 completed,
    w3 pending (w2 and w3 created at the same time), one agent."""
    create(store, ("w1", "req-1", 10.0), ("w2", "", 20.0), ("w3", "", 20.0))
    run = WorkflowRun("w1", SPEC, 10.0, "req-1")
    run.state, run.started_at, run.session_id = WorkflowState.RUNNING, 11.0, "sess"
    run.context, run.completed = {"k": 2, "found": [1, 2]}, 1
    a, b = run.steps["a"], run.steps["b"]
    a.state, a.attempt, a.agent_id, a.attempt_id = StepState.COMPLETED, 1, "ag-1", "w1.a.1"
    a.assigned_at, a.started_at, a.finished_at = 11.0, 11.5, 12.0
    a.output = Blob("json/plain", b'{"rows":3}')
    b.state, b.attempt, b.error = StepState.RETRY_WAIT, 2, ErrorInfo("boom", "ValueError")
    done = WorkflowRun("w2", SPEC, 20.0)
    done.state, done.finished_at = WorkflowState.COMPLETED, 30.0
    store.write(
        WriteBatch(
            workflow_updates=[workflow_update(run), workflow_update(done)],
            step_updates=[step_update(a), step_update(b)],
            events=[event("w1", 1, EventType.WORKFLOW_STARTED), event("w1", 2), event("w1", 3)],
            agents=[agent_row(AGENT)],
        )
    )
    return store


def ids(rows: list[WorkflowRow]) -> list[str]:
    return [r.workflow_id for r in rows]


def test_workflow_and_its_steps_read_back_as_written(filled: SqliteStore) -> None:
    row = filled.load_workflow("w1")

    assert row is not None
    expected_steps = [
        StepRow("a", 0, "completed", 1, "ag-1", "w1.a.1", 11.0, 11.5, 12.0,
                Blob("json/plain", b'{"rows":3}'), "", ""),
        StepRow("b", 1, "retry_wait", 2, "", "", 0.0, 0.0, 0.0, None, "boom", "ValueError"),
    ]  # fmt: skip
    assert row == WorkflowRow(
        workflow_id="w1",
        request_id="req-1",
        spec=SPEC,
        state="running",
        created_at=10.0,
        started_at=11.0,
        finished_at=0.0,
        session_id="sess",
        context={"k": 2, "found": [1, 2]},
        error_message="",
        completed_steps=1,
        last_seq=3,
        steps=expected_steps,
    )
    without_steps = filled.load_workflow("w1", with_steps=False)
    assert without_steps is not None and without_steps.steps == []
    assert (without_steps.state, without_steps.last_seq) == ("running", 3)
    assert filled.load_workflow("nope") is None


def test_events_read_back_in_order_after_a_seq(filled: SqliteStore) -> None:
    assert [(e.seq, e.type, e.data) for e in filled.load_events("w1", after_seq=1)] == [
        (2, EventType.AGENT_STREAM, b"wire-2"),
        (3, EventType.AGENT_STREAM, b"wire-3"),
    ]
    assert [e.seq for e in filled.load_events("w1")] == [1, 2, 3]
    assert filled.load_events("w1")[0].type is EventType.WORKFLOW_STARTED
    assert filled.load_events("w1", after_seq=3) == []
    assert filled.load_events("w2") == []


def test_request_id_finds_its_workflow(filled: SqliteStore) -> None:
    assert filled.find_request("default", "req-1") == "w1"
    assert filled.find_request("default", "req-2") is None
    assert filled.find_request("default", "") is None  # no key is stored as NULL, never matched


def test_listing_is_newest_first_and_pages_strictly_before(filled: SqliteStore) -> None:
    every = WorkflowQuery()
    assert ids(filled.list_workflows(every, 2, None)) == ["w3", "w2"]  # id breaks the tie
    assert ids(filled.list_workflows(every, 2, (20.0, "w2"))) == ["w1"]
    assert ids(filled.list_workflows(every, 10, (20.0, "w3"))) == ["w2", "w1"]
    running = WorkflowQuery(states=("completed", "running"))
    assert ids(filled.list_workflows(running, 10, None)) == ["w2", "w1"]
    assert filled.list_workflows(WorkflowQuery(states=("failed",)), 10, None) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (WorkflowQuery(name_prefix="rep"), ["w3", "w2", "w1"]),
        (WorkflowQuery(name_prefix="report"), ["w3", "w2", "w1"]),
        (WorkflowQuery(name_prefix="reports"), []),
        (WorkflowQuery(name_prefix="%"), []),  # no wildcards
        (WorkflowQuery(created_after=20.0), ["w3", "w2"]),  # at or after
        (WorkflowQuery(created_before=20.0), ["w1"]),  # strictly before
        (WorkflowQuery(created_after=10.0, created_before=15.0), ["w1"]),
        (WorkflowQuery(namespaces=("default",), states=("pending",)), ["w3"]),
        (WorkflowQuery(namespaces=()), []),
    ],
)
def test_listing_filters_by_name_time_state_and_namespace(
    filled: SqliteStore, query: WorkflowQuery, expected: list[str]
) -> None:
    assert ids(filled.list_workflows(query, 10, None)) == expected


def test_unfinished_workflows_load_with_their_steps(filled: SqliteStore) -> None:
    unfinished = filled.load_unfinished()

    assert ids(unfinished) == ["w1", "w3"]
    assert [[s.state for s in r.steps] for r in unfinished] == [
        ["completed", "retry_wait"],
        ["pending", "pending"],
    ]
    assert filled.load_agents() == [AGENT]


def test_registering_an_agent_again_replaces_its_entry(store: SqliteStore) -> None:
    store.write(WriteBatch(agents=[agent_row(AGENT)]))
    again = AgentRegistration("ag-1", "worker", ("sum",), 1)
    store.write(WriteBatch(agents=[agent_row(again)]))
    assert store.load_agents() == [again]


def test_output_metadata_round_trips_with_the_blob(store: SqliteStore, tmp_path: Path) -> None:
    create(store, ("w1", "", 1.0))
    run = WorkflowRun("w1", SPEC, 1.0)
    a, b = run.steps["a"], run.steps["b"]
    a.state = b.state = StepState.COMPLETED
    a.output = Blob("proto/dwe.Rows", b"\x08\x03", (("schema", "v2"), ("zone", "é")))
    b.output = Blob("json/plain", b"[]")
    store.write(WriteBatch(step_updates=[step_update(a), step_update(b)]))

    row = store.load_workflow("w1")
    assert row is not None
    assert [s.output for s in row.steps] == [a.output, b.output]
    stored = table_rows(tmp_path / "dwe.db", "SELECT output_metadata FROM steps ORDER BY idx")
    assert stored == [('{"schema":"v2","zone":"é"}',), ("",)]


def test_empty_batch_is_false_and_any_row_makes_it_true() -> None:
    assert not WriteBatch()
    assert WriteBatch(events=[event("w", 1)])
    assert WriteBatch(new_steps=workflow_insert("w", "", SPEC, 0.0)[1])


# -- failed writes ------------------------------------------------------------------


def test_write_on_a_full_disk_raises_sqlite_full_and_commits_nothing(store: SqliteStore) -> None:
    create(store, ("w1", "", 1.0))
    # A file that cannot grow: the writer connection's limit set to the pages it has now.
    writer = store._w
    pages = writer.execute("PRAGMA page_count").fetchone()[0]
    assert writer.execute(f"PRAGMA max_page_count={pages}").fetchone()[0] == pages
    row, steps = workflow_insert("w2", "req-2", SPEC, 2.0)
    big = WriteBatch(
        new_workflows=[row],
        new_steps=steps,
        events=[event("w2", seq)._replace(event=b"x" * 4000) for seq in range(1, 40)],
    )

    with pytest.raises(sqlite3.OperationalError, match="full") as err:
        store.write(big)

    assert err.value.sqlite_errorname == "SQLITE_FULL"
    assert store.load_workflow("w2") is None
    assert store.find_request("default", "req-2") is None
    assert store.load_events("w2") == []
    run = WorkflowRun("w1", SPEC, 1.0)
    run.state = WorkflowState.RUNNING
    store.write(WriteBatch(workflow_updates=[workflow_update(run)], events=[event("w1", 1)]))
    row1 = store.load_workflow("w1", with_steps=False)
    assert row1 is not None and (row1.state, row1.last_seq) == ("running", 1)


def test_failed_write_rolls_back_its_earlier_rows_and_the_next_write_succeeds(
    store: SqliteStore,
) -> None:
    create(store, ("w1", "", 1.0))
    store.write(WriteBatch(events=[event("w1", 1)]))
    row, steps = workflow_insert("w2", "", SPEC, 2.0)
    duplicate = WriteBatch(new_workflows=[row], new_steps=steps, events=[event("w1", 1)])

    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        store.write(duplicate)

    assert store.load_workflow("w2") is None
    store.write(WriteBatch(events=[event("w1", 2)]))
    assert [e.seq for e in store.load_events("w1")] == [1, 2]


# -- threads ----------------------------------------------------------------------


def test_readers_in_several_threads_see_whole_commits_while_a_writer_commits(
    store: SqliteStore,
) -> None:
    create(store, ("w1", "", 1.0))
    commits, readers = 150, 4
    start = threading.Barrier(readers + 1)

    def write() -> None:
        start.wait()
        run = WorkflowRun("w1", SPEC, 1.0)
        for seq in range(1, commits + 1):
            run.completed = seq  # same transaction as event ``seq``
            batch = WriteBatch(workflow_updates=[workflow_update(run)], events=[event("w1", seq)])
            store.write(batch)

    def read() -> int:
        start.wait()
        last, reads = 0, 0
        while last < commits:
            row = store.load_workflow("w1")
            assert row is not None
            assert row.completed_steps == row.last_seq >= last  # a whole commit, never half
            events = store.load_events("w1", after_seq=last)
            assert [e.seq for e in events] == list(range(last + 1, last + 1 + len(events)))
            assert all(e.data == b"wire-%d" % e.seq for e in events)
            last, reads = (events[-1].seq if events else last), reads + 1
        return reads

    with ThreadPoolExecutor(readers + 1) as pool:
        reading = [pool.submit(read) for _ in range(readers)]
        writing = pool.submit(write)
        writing.result()
        assert all(f.result() >= 1 for f in reading)
    assert [e.seq for e in store.load_events("w1")] == list(range(1, commits + 1))


def test_close_is_idempotent_and_ends_reads_in_every_thread(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "dwe.db")
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(store.load_agents).result() == []  # this thread has a reader now
        store.close()
        store.close()
        with pytest.raises(sqlite3.ProgrammingError):
            pool.submit(store.load_agents).result()
    with pytest.raises(sqlite3.ProgrammingError):
        store.find_request("default", "r")  # a thread that never read before


# -- schema versions ---------------------------------------------------------------


def test_new_database_gets_the_latest_schema(tmp_path: Path) -> None:
    path = tmp_path / "dwe.db"
    SqliteStore(path).close()
    assert user_version(path) == LATEST


def test_new_database_has_the_same_schema_as_an_upgraded_old_one(tmp_path: Path) -> None:
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    make_v2_database(old)
    SqliteStore(old).close()
    SqliteStore(new).close()
    assert schema_of(new) == schema_of(old)


def test_newer_schema_is_refused_with_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "dwe.db"
    SqliteStore(path).close()
    set_user_version(path, LATEST + 4)
    with pytest.raises(SchemaError) as err:
        SqliteStore(path)
    message = str(err.value)
    assert str(path) in message
    assert f"schema version {LATEST + 4}, newer than this server understands ({LATEST})" in message
    assert user_version(path) == LATEST + 4


def test_tables_without_a_schema_version_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    db.close()
    with pytest.raises(SchemaError, match="does not recognise"):
        SqliteStore(path)


def test_version_2_database_is_upgraded_keeping_every_row(tmp_path: Path) -> None:
    path = tmp_path / "dwe.db"
    make_v2_database(path)
    fill_v2_database(path, events=1100)  # more than one migration chunk
    before = {
        sql: table_rows(path, sql)
        for sql in (
            "SELECT * FROM workflows ORDER BY id",
            "SELECT * FROM steps ORDER BY workflow_id, step_id",
            "SELECT workflow_id, seq, type, time, step_id, attempt, agent_id FROM events"
            " ORDER BY workflow_id, seq",
            "SELECT * FROM agents",
        )
    }
    old_events = table_rows(path, "SELECT type, event FROM events")
    seen: list[tuple[str, bytes]] = []

    def upgrade(type_: str, event: bytes) -> bytes:
        seen.append((type_, event))
        return b"new:" + event

    SqliteStore(path, upgrade_event=upgrade).close()

    assert user_version(path) == LATEST
    assert sorted(seen) == sorted(old_events)  # every event, exactly once
    steps_sql = "SELECT * FROM steps ORDER BY workflow_id, step_id"
    # v3 added output_metadata, v4 the PIPELINE counters, v6 the stored progress index:
    # empty for old rows; v7 the namespace of workflows and registry entries: 'default'.
    grown = {
        steps_sql: ("", "", 0),
        "SELECT * FROM workflows ORDER BY id": ("default",),
        "SELECT * FROM agents": ("default",),
    }
    after = {sql: table_rows(path, sql) for sql in before}
    assert after == {
        sql: [(*row, *grown.get(sql, ())) for row in rows] for sql, rows in before.items()
    }
    assert sorted(table_rows(path, "SELECT event FROM events")) == sorted(
        (b"new:" + event,) for _type, event in old_events
    )

    with contextlib.closing(SqliteStore(path, upgrade_event=upgrade)) as again:
        assert len(seen) == len(old_events)  # already at the latest version: no migration
        row = again.load_workflow("w1")
        assert row is not None and row.spec.name == "old" and row.last_seq == 1100
        assert row.steps[0].output == Blob("json/plain", b'"A"')  # no metadata before v3
        assert [r.workflow_id for r in again.load_unfinished()] == ["w2"]


def test_upgrade_without_a_hook_keeps_event_bytes(tmp_path: Path) -> None:
    path = tmp_path / "dwe.db"
    make_v2_database(path)
    fill_v2_database(path, events=3)
    old = table_rows(path, "SELECT workflow_id, seq, event FROM events ORDER BY 1, 2")
    SqliteStore(path).close()
    assert user_version(path) == LATEST
    assert table_rows(path, "SELECT workflow_id, seq, event FROM events ORDER BY 1, 2") == old


def test_failing_upgrade_hook_leaves_the_old_version_untouched(tmp_path: Path) -> None:
    path = tmp_path / "dwe.db"
    make_v2_database(path)
    fill_v2_database(path, events=3)
    old = table_rows(path, "SELECT * FROM events ORDER BY 1, 2")

    def broken(type_: str, event: bytes) -> bytes:
        raise ValueError(f"cannot read {type_}")

    with pytest.raises(ValueError, match="cannot read agent_stream"):
        SqliteStore(path, upgrade_event=broken)
    assert user_version(path) == 2
    assert table_rows(path, "SELECT * FROM events ORDER BY 1, 2") == old
    assert "output_metadata" not in str(table_rows(path, "PRAGMA table_info(steps)"))
