"""WAL checkpoints happen on the checkpoint thread, not inside the writer's commits."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dwe.server.store.checkpoint import WAL_LIMIT_BYTES
from dwe.server.store.rows import EventRow, WriteBatch
from dwe.server.store.sqlite import SqliteStore

from ..conftest import wait_for
from .test_sqlite_store import create

PAYLOAD = b"x" * 4000  # about a page per event


def events(workflow_id: str, first: int, count: int) -> WriteBatch:
    batch = WriteBatch()
    for seq in range(first, first + count):
        batch.events.append(
            EventRow(workflow_id, seq, "agent_stream", 1.0, "a", 1, "ag", PAYLOAD, seq)
        )
    return batch


async def test_the_wal_is_checkpointed_off_the_writer_and_stays_bounded(tmp_path: Path) -> None:
    path = tmp_path / "dwe.db"
    store = SqliteStore(path)
    wal = Path(f"{path}-wal")
    try:
        writer_setting = store._w.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        assert writer_setting == 0  # the commits themselves never checkpoint
        create(store, ("wf", "req", 1.0))
        checkpointer = store._checkpointer
        assert checkpointer is not None
        seq, biggest = 1, 0
        for _ in range(12):  # 12 x 4 MB of events: three times past the limit each round
            for _ in range(4):
                store.write(events("wf", seq, 256))
                seq += 256
                biggest = max(biggest, wal.stat().st_size)
            done = checkpointer.checkpoints
            await wait_for(lambda d=done: checkpointer.checkpoints > d, what="a checkpoint")
        assert biggest < 8 * WAL_LIMIT_BYTES  # without checkpoints: 48 MB
        assert len(store.load_events("wf")) == seq - 1
    finally:
        store.close()
    assert not wal.exists() or wal.stat().st_size == 0  # the last close folds it in
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == seq - 1
