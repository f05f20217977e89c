"""Which store ``--db`` names: a PostgreSQL URL, or else a SQLite file (the default)."""

from __future__ import annotations

from .base import Store
from .migrations import EventUpgrade
from .sqlite import SqliteStore


def is_postgres(db: str) -> bool:
    """``db`` is a PostgreSQL URL (``postgresql://`` or ``postgres://``)."""
    return db.startswith(("postgresql://", "postgres://"))


def open_store(
    db: str, sqlite_synchronous: str = "NORMAL", upgrade_event: EventUpgrade | None = None
) -> Store:
    """``postgresql://...`` or ``postgres://...`` opens a PostgreSQL store; anything else
    is the path of a SQLite file."""
    if is_postgres(db):
        from .postgres import PostgresStore  # imported only when used: SQLite needs no driver

        return PostgresStore(db)
    return SqliteStore(db, sqlite_synchronous, upgrade_event=upgrade_event)
