"""``dwe admin``: operating a server: prune ended workflows, back the database up."""

from __future__ import annotations

import argparse
import os

from dwe.cli import render
from dwe.cli.commands import client_tls
from dwe.clients.errors import DweError, ValidationError
from dwe.clients.sync import SyncDweClient
from dwe.common.durations import format_duration
from dwe.server.store.opening import is_postgres

__all__ = ["cmd_backup", "cmd_prune", "cmd_replicas"]


def _out(args: argparse.Namespace, obj: object, human: str) -> None:
    print(render.to_json_line(obj) if args.json else human, flush=True)


def cmd_prune(args: argparse.Namespace) -> int:
    """PruneWorkflows on the running server at ``--target``."""
    with SyncDweClient(args.target, tls=client_tls(args), token=args.token) as client:
        response = client.prune_workflows(args.older_than, args.dry_run, args.namespaces)
    result = {
        "workflows": response.workflows,
        "events": response.events,
        "older_than_seconds": args.older_than,
        "dry_run": args.dry_run,
        "namespaces": args.namespaces,
    }
    verb = "would prune" if args.dry_run else "pruned"
    where = f" in {', '.join(args.namespaces)}" if args.namespaces else ""
    human = (
        f"{verb} {response.workflows} workflows and {response.events} events{where}"
        f" that ended over {format_duration(args.older_than)} ago"
    )
    _out(args, result, human)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """A consistent copy of the database file, read directly (the server may be running)."""
    import sqlite3

    from dwe.server.store.backup import backup

    source = args.db or os.environ.get("DWE_DB") or "./dwe.db"
    if is_postgres(source):
        raise ValidationError(
            "dwe admin backup copies a SQLite file; back a PostgreSQL store up with"
            " pg_dump (docs/operations.md)"
        )
    try:
        info = backup(source, args.path)
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        raise ValidationError(str(err)) from err
    except (sqlite3.Error, OSError) as err:
        raise DweError(f"backup of {source} failed: {err}") from err
    result = {
        "source": source,
        "backup": args.path,
        "workflows": info.workflows,
        "schema_version": info.schema_version,
        "bytes": info.size_bytes,
    }
    human = (
        f"backed up {source} to {args.path}: {info.workflows} workflows,"
        f" schema version {info.schema_version}, {info.size_bytes:,} bytes"
    )
    _out(args, result, human)
    return 0


def cmd_replicas(args: argparse.Namespace) -> int:
    """The replicas and the owner of the workflows: read from a PostgreSQL ``--db``
    directly, else asked of the server at ``--target`` (GetServerInfo)."""
    db = args.db or os.environ.get("DWE_DB") or ""
    found = _replicas_in(db) if is_postgres(db) else None
    if found is None:
        with SyncDweClient(args.target, tls=client_tls(args), token=args.token) as client:
            info = client.get_server_info()
        found = [
            (r.replica_id, r.address, r.owner, r.heartbeat_age_seconds, r.epoch)
            for r in info.replicas
        ]
    rows = [
        {
            "replica_id": replica_id,
            "address": address,
            "role": "owner" if owner else "standby",
            "heartbeat_age_s": round(age, 1),
            "epoch": epoch,
        }
        for replica_id, address, owner, age, epoch in found
    ]
    owner = next((r["replica_id"] for r in rows if r["role"] == "owner"), "")
    lines = [
        f"{r['replica_id']:<28} {r['address']:<22} {r['role']:<8}"
        f" {r['heartbeat_age_s']:>6}s ago  epoch {r['epoch']}"
        for r in rows
    ]
    lines.append(f"owner of every workflow: {owner or 'none (the lease is free)'}")
    _out(args, {"replicas": rows, "owner": owner}, "\n".join(lines))
    return 0


def _replicas_in(db: str) -> list[tuple[str, str, bool, float, int]]:
    """(id, address, owner, heartbeat age, epoch) of every replica on ``db``."""
    import psycopg

    from dwe.server.store.pg_lease import replicas

    try:
        return [(r.replica_id, r.address, r.owner, r.heartbeat_age, r.epoch) for r in replicas(db)]
    except psycopg.Error as err:
        raise DweError(f"reading the replicas failed: {str(err).strip().splitlines()[0]}") from err
