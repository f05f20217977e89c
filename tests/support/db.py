"""Reading a test's database directly, whichever store it is (SQLite file or PostgreSQL)."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg

from dwe.server.store.opening import is_postgres


def query(db: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (written with ``?``) on the database ``db`` names, read-only."""
    if is_postgres(db):
        with psycopg.connect(db, autocommit=True) as conn:
            return conn.execute(sql.replace("?", "%s"), params).fetchall()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def count(db: str, table: str, where: str = "", params: tuple[Any, ...] = ()) -> int:
    sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
    return int(query(db, sql, params)[0][0])
