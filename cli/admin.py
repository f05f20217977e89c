"""``dwe admin``: operating a server: prune ended workflows, back the database up."""

from __future__ import annotations

import argparse
import os

from dwe.cli import render
from dwe.cli.commands import client_tls
from dwe.clients.errors import DweError, ValidationError
from dwe.clients.sync import SyncDweClient
from dwe.common.durations import format_duration

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
    if source.startswith(("postgresql://", "postgres://")):
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
    """The replicas on a PostgreSQL database, read from it directly."""
    import psycopg

    from dwe.server.store.pg_lease import replicas

    db = args.db or os.environ.get("DWE_DB") or ""
    if not db.startswith(("postgresql://", "postgres://")):
        raise ValidationError("dwe admin replicas needs --db postgresql://... (replicas share one)")
    try:
        found = replicas(db)
    except psycopg.Error as err:
        raise DweError(f"reading the replicas failed: {str(err).strip().splitlines()[0]}") from err
    rows = [
        {
            "replica_id": r.replica_id,
            "address": r.address,
            "role": "owner" if r.owner else "standby",
            "heartbeat_age_s": round(r.heartbeat_age, 1),
            "epoch": r.epoch,
        }
        for r in found
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
