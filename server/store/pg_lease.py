"""The scheduler lease of replicas on one PostgreSQL database: who owns the workflows.

One replica at a time holds the lease and owns every workflow; the others wait. The
lease has an epoch that grows each time another replica takes it over. Every group
commit of the owner checks, in its own transaction and with a share lock, that the
lease row still names it with its epoch: a takeover (an UPDATE of that row) waits for
commits in flight, and any commit after it fails. So a replica that lost its lease,
paused or cut off past its expiry, cannot write anything more (``LeaseLost``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

LEASE = "scheduler"

_TAKE = """
INSERT INTO dwe_leases (name, owner, epoch, expires_at)
VALUES (%(name)s, %(me)s, 1, now() + %(ttl)s * interval '1 second')
ON CONFLICT (name) DO UPDATE SET
    owner = EXCLUDED.owner,
    epoch = CASE WHEN dwe_leases.owner = EXCLUDED.owner
                 THEN dwe_leases.epoch ELSE dwe_leases.epoch + 1 END,
    expires_at = EXCLUDED.expires_at
WHERE dwe_leases.owner = EXCLUDED.owner OR dwe_leases.expires_at < now()
RETURNING epoch
"""
_BEAT = """
INSERT INTO dwe_replicas (id, address, started_at, heartbeat_at)
VALUES (%(me)s, %(address)s, now(), now())
ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, heartbeat_at = now()
"""
_FENCE = "SELECT epoch FROM dwe_leases WHERE name = %s AND owner = %s FOR SHARE"


class LeaseLost(RuntimeError):
    """Another replica took the scheduler lease over: this one may not write."""


@dataclass(frozen=True, slots=True)
class Replica:
    """A row of ``dwe admin replicas``."""

    replica_id: str
    address: str
    heartbeat_age: float  # seconds since its last heartbeat
    owner: bool
    epoch: int


class SchedulerLease:
    """Takes and keeps the lease for ``replica_id``; checks it inside commits."""

    def __init__(self, url: str, replica_id: str, address: str, ttl: float) -> None:
        self.url = url
        self.replica_id = replica_id
        self.address = address
        self.ttl = ttl
        self.epoch = 0  # held epoch; 0 while not the owner
        self._conn: psycopg.Connection[Any] | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self.url, autocommit=True)
        return self._conn

    def beat(self) -> int:
        """Heartbeat, and take or renew the lease; the epoch held (0: another owns it).

        Raises:
            LeaseLost: This replica held the lease and another took it over.
        """
        conn = self._connection()
        params = {"name": LEASE, "me": self.replica_id, "ttl": self.ttl, "address": self.address}
        with conn.transaction():
            conn.execute(_BEAT, params)
            row = conn.execute(_TAKE, params).fetchone()
        epoch = int(row[0]) if row else 0
        if self.epoch and epoch != self.epoch:
            raise LeaseLost(self._lost(epoch))
        self.epoch = epoch
        return epoch

    def owner_address(self) -> str:
        """Where the replica that holds an unexpired lease listens ('' when none does)."""
        row = (
            self._connection()
            .execute(
                "SELECT r.address FROM dwe_leases l JOIN dwe_replicas r ON r.id = l.owner"
                " WHERE l.name = %s AND l.expires_at > now()",
                (LEASE,),
            )
            .fetchone()
        )
        return str(row[0]) if row else ""

    def fence(self, conn: Any) -> None:
        """Inside a write transaction on ``conn``: LeaseLost unless the lease still names
        this replica with its epoch (the row stays share-locked until the commit)."""
        row = conn.execute(_FENCE, (LEASE, self.replica_id)).fetchone()
        if row is None or int(row[0]) != self.epoch:
            raise LeaseLost(self._lost(int(row[0]) if row else 0))

    def _lost(self, found: int) -> str:
        return (
            f"replica {self.replica_id} lost the scheduler lease (it held epoch {self.epoch};"
            f" now {found or 'another owner'}): it stops without writing"
        )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def replicas(url: str) -> list[Replica]:
    """The replicas that ever heartbeated on ``url``'s database, the owner marked."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT r.id, r.address, extract(epoch FROM now() - r.heartbeat_at),"
            " l.owner IS NOT NULL, coalesce(l.epoch, 0)"
            " FROM dwe_replicas r LEFT JOIN dwe_leases l"
            " ON l.name = %s AND l.owner = r.id AND l.expires_at > now() ORDER BY r.id",
            (LEASE,),
        ).fetchall()
    return [Replica(r[0], r[1], float(r[2]), bool(r[3]), int(r[4])) for r in rows]
