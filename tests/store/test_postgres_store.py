"""The PostgreSQL store on a real private cluster: the same contract as SQLite's."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
import pytest

from dwe.server.engine.model import AgentRegistration, EventType, StepSpec, WorkflowSpec
from dwe.server.store.base import WorkflowQuery
from dwe.server.store.mapping import workflow_insert
from dwe.server.store.migrations import SchemaError
from dwe.server.store.postgres import PostgresStore
from dwe.server.store.rows import EventRow, WorkflowUpdate, WriteBatch

SPEC = WorkflowSpec("w", (StepSpec("a"), StepSpec("b", dependencies=("a",))))


@pytest.fixture
def store(pg_url: str) -> Iterator[PostgresStore]:
    with contextlib.closing(PostgresStore(pg_url)) as opened:
        yield opened


def _new(
    store: PostgresStore, wid: str, request_id: str = "", namespace: str = "default"
) -> list[str]:
    row, steps = workflow_insert(wid, request_id, SPEC, 10.0, namespace)
    return store.write(WriteBatch(new_workflows=[row], new_steps=steps))


def test_a_workflow_round_trips_with_steps_and_events(store: PostgresStore) -> None:
    assert _new(store, "w1", "req-1") == []
    events = [
        EventRow("w1", seq, str(EventType.WORKFLOW_STARTED), 1.0, "", 0, "", b"e%d" % seq, seq)
        for seq in (1, 2)
    ]
    update = WorkflowUpdate("running", 11.0, 0.0, "s", b"{}", "", 0, "w1")
    store.write(WriteBatch(workflow_updates=[update], events=events))
    row = store.load_workflow("w1")
    assert row is not None and row.state == "running" and row.last_seq == 2
    assert [s.step_id for s in row.steps] == ["a", "b"] and row.spec == SPEC
    assert [e.data for e in store.load_events("w1", 1)] == [b"e2"]
    assert [r.workflow_id for r in store.load_unfinished()] == ["w1"]
    assert store.find_request("default", "req-1") == "w1"


def test_a_repeated_request_id_is_skipped_per_namespace(store: PostgresStore) -> None:
    assert _new(store, "w1", "same") == []
    assert _new(store, "w2", "same") == ["w2"]  # skipped, steps too, nothing raised
    assert _new(store, "w3", "same", "team-b") == []
    assert store.load_workflow("w2") is None
    assert store.find_request("team-b", "same") == "w3"
    listed = store.list_workflows(WorkflowQuery(namespaces=("team-b",)), 10, None)
    assert [(r.workflow_id, r.namespace) for r in listed] == [("w3", "team-b")]


def test_agents_upsert_and_prune(store: PostgresStore) -> None:
    from dwe.server.store.mapping import agent_row

    reg = AgentRegistration("ag", "t", ("x",), 2, {"k": 1}, "team-a")
    store.write(WriteBatch(agents=[agent_row(reg)]))
    store.write(WriteBatch(agents=[agent_row(AgentRegistration("ag", "t", ("y",), 3))]))
    assert store.load_agents() == [AgentRegistration("ag", "t", ("y",), 3, {}, "default")]
    _new(store, "old", "r")
    done = WorkflowUpdate("completed", 11.0, 12.0, "s", b"{}", "", 2, "old")
    store.write(WriteBatch(workflow_updates=[done]))
    assert store.count_prunable(100.0) == (1, 0)
    assert store.prune(100.0, 10).workflows == [("old", "r", "default")]
    assert store.load_workflow("old") is None and store.find_request("default", "r") is None


def test_a_foreign_or_newer_database_is_refused(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE something_else (x int)")
    with pytest.raises(SchemaError, match="does not recognise"):
        PostgresStore(pg_url)


def test_a_newer_schema_is_refused(pg_url: str) -> None:
    PostgresStore(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE dwe_schema SET version = 99")
    with pytest.raises(SchemaError, match="newer than this server"):
        PostgresStore(pg_url)


def test_listing_filters_by_name_and_time_on_postgresql(store: PostgresStore) -> None:
    for wid, created in (("w1", 10.0), ("w2", 20.0)):
        row, steps = workflow_insert(wid, "", SPEC, created, "default")
        store.write(WriteBatch(new_workflows=[row], new_steps=steps))

    def ids(query: WorkflowQuery) -> list[str]:
        return [r.workflow_id for r in store.list_workflows(query, 10, None)]

    assert ids(WorkflowQuery(name_prefix=SPEC.name[:2])) == ["w2", "w1"]
    assert ids(WorkflowQuery(name_prefix="%")) == []
    assert ids(WorkflowQuery(created_after=20.0)) == ["w2"]
    assert ids(WorkflowQuery(created_before=20.0)) == ["w1"]
    assert ids(WorkflowQuery(namespaces=())) == []
