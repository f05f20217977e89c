"""A consistent copy of a live SQLite store, with SQLite's online backup API.

The copy is read in one read transaction, so it is the database as of one
commit, while the server goes on writing (WAL lets a reader and the writer
work at once). It is written to ``<target>.partial`` and renamed into place
once complete, so ``target`` never holds half a copy. The copy is a single
file (journal mode DELETE); a server that opens it switches it back to WAL.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import NamedTuple

from .migrations import user_version


class BackupInfo(NamedTuple):
    """What a backup holds."""

    workflows: int
    schema_version: int
    size_bytes: int


def backup(source: str | Path, target: str | Path) -> BackupInfo:
    """Copy the dwe database at ``source`` to the new file ``target`` (its folder is
    created when missing).

    Raises:
        FileNotFoundError: ``source`` does not exist.
        FileExistsError: ``target`` exists already.
        ValueError: ``source`` is not a dwe database.
        sqlite3.Error: SQLite could not read or write (the partial copy is removed).
    """
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such database file")
    if target.exists():
        raise FileExistsError(f"{target} exists: choose a new file")
    partial = target.with_name(target.name + ".partial")
    src = sqlite3.connect(source)
    try:
        src.execute("PRAGMA query_only=ON")
        src.execute("PRAGMA busy_timeout=5000")
        if src.execute("SELECT 1 FROM sqlite_master WHERE name='workflows'").fetchone() is None:
            raise ValueError(f"{source} is not a dwe database (it has no workflows table)")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # every page in one step: one snapshot of the source
            dst.execute("PRAGMA journal_mode=DELETE")
            workflows = int(dst.execute("SELECT COUNT(*) FROM workflows").fetchone()[0])
            version = user_version(dst)
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"the copy fails quick_check: {check}")
        finally:
            dst.close()
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    finally:
        src.close()
    return BackupInfo(workflows, version, target.stat().st_size)
