"""WAL checkpoints on a thread of their own, off the commit path.

By default SQLite checkpoints inside the COMMIT that takes the WAL past 1,000
pages: that commit copies the WAL into the database file and fsyncs it, several
milliseconds during which the writer, and every caller waiting on the commit, is
held up (W2 in docs/benchmarks.md saw a 9-10 ms COMMIT every few commits). The
writer turns automatic checkpoints off; this thread runs a PASSIVE checkpoint,
which never blocks the writer or the readers, once the WAL file has grown past the
same size. ``journal_size_limit`` truncates the WAL back to that size when SQLite
restarts it after a complete checkpoint, so its size stays a fair trigger.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable

log = logging.getLogger("dwe.server.store")

#: About SQLite's own trigger: 1,000 pages of 4 KiB.
WAL_LIMIT_BYTES = 4 * 1024 * 1024


class Checkpointer:
    """Checkpoints ``path``'s WAL on its own connection and thread when told it grew."""

    def __init__(self, path: str, connect: Callable[[], sqlite3.Connection]) -> None:
        self._wal = path + "-wal"
        self._conn = connect()
        self._wanted = threading.Event()
        self._stopping = False
        self.checkpoints = 0  # completed calls (tests, metrics)
        self._thread = threading.Thread(target=self._run, name="dwe-wal-checkpoint", daemon=True)
        self._thread.start()

    @staticmethod
    def configure_writer(conn: sqlite3.Connection) -> None:
        """The writer's settings: no checkpoint in its commits, the WAL kept to the limit."""
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")

    def committed(self) -> None:
        """Called after each commit (on the writer thread): wake the checkpoint when due."""
        try:
            if os.stat(self._wal).st_size > WAL_LIMIT_BYTES:
                self._wanted.set()
        except OSError:
            pass  # no WAL file (yet): nothing to checkpoint

    def close(self) -> None:
        """Stop the thread and close its connection; safe to call twice."""
        if self._stopping:
            return
        self._stopping = True
        self._wanted.set()
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            if self._stopping:
                return
            self._wanted.clear()
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                self.checkpoints += 1
            except sqlite3.Error as exc:  # e.g. disk full: the WAL keeps every commit
                log.warning("WAL checkpoint failed; the next commit tries again: %s", exc)
