"""A replica on a shared PostgreSQL database: it owns the workflows only while it holds
the scheduler lease (``store/pg_lease.py``).

Before it opens (resumes workflows, serves calls) a replica waits for the lease; the
others wait as standbys, heartbeating, and take it over once its holder stops renewing
for ``--lease-seconds``. The owner renews it three times per lease period. A replica
that loses the lease, or cannot tell for a whole period whether it still holds it,
stops at once without writing anything more (fail-stop): its in-memory state may be
stale, and the new owner restores the workflows from the store as a restart does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time

import psycopg

from .store.base import Store
from .store.pg_lease import LeaseLost, SchedulerLease
from .store.postgres import PostgresStore

log = logging.getLogger("dwe.server.replica")

#: The exit status of a replica that lost its lease (EX_TEMPFAIL: start it again).
LOST_EXIT = 75


def default_replica_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Replica:
    """The lease side of one server process on PostgreSQL."""

    def __init__(self, store: Store, replica_id: str, ttl: float) -> None:
        if not isinstance(store, PostgresStore):
            raise TypeError("replicas need the PostgreSQL store")
        self.lease = SchedulerLease(store.url, replica_id or default_replica_id(), "", ttl)
        store.lease = self.lease
        store.on_lease_lost = self.lost
        self._task: asyncio.Task[None] | None = None
        self._renewed = time.monotonic()
        # While a standby: where the owner listens, for forwarded calls ('' unknown).
        self.owner_address = ""

    @property
    def replica_id(self) -> str:
        return self.lease.replica_id

    async def try_now(self, address: str) -> bool:
        """One attempt at the lease: True when this replica now owns the workflows."""
        self.lease.address = address
        epoch = await self._beat()
        if epoch:
            self._renewed = time.monotonic()
            log.info("replica %s owns the workflows (lease epoch %d)", self.replica_id, epoch)
        return bool(epoch)

    async def _beat(self) -> int:
        try:
            epoch = await asyncio.to_thread(self.lease.beat)
            if not epoch:
                self.owner_address = await asyncio.to_thread(self.lease.owner_address)
            return epoch
        except psycopg.Error as exc:
            log.warning("replica %s: the lease cannot be read: %s", self.replica_id, exc)
            return 0

    async def acquire(self, address: str) -> int:
        """Wait until this replica holds the lease; its epoch."""
        self.lease.address = address
        waiting = False
        while True:
            epoch = await self._beat()
            if epoch:
                self._renewed = time.monotonic()
                log.info("replica %s owns the workflows (lease epoch %d)", self.replica_id, epoch)
                return epoch
            if not waiting:
                log.info(
                    "replica %s is a standby: another replica holds the lease", self.replica_id
                )
                waiting = True
            await asyncio.sleep(self.lease.ttl / 3)

    def start(self) -> None:
        """Renew the lease in the background until ``stop``."""
        self._task = asyncio.get_running_loop().create_task(self._renew(), name="dwe-lease")

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease.ttl / 3)
            try:
                await asyncio.to_thread(self.lease.beat)
                self._renewed = time.monotonic()
            except LeaseLost as exc:
                self.lost(exc)
            except psycopg.Error as exc:
                if time.monotonic() - self._renewed >= self.lease.ttl:
                    self.lost(LeaseLost(f"{exc}; the lease may have passed to another replica"))
                log.warning("replica %s: renewing the lease failed: %s", self.replica_id, exc)

    def lost(self, exc: BaseException) -> None:
        """Fail-stop: log why and end the process now, without another write."""
        log.critical("%s", exc)
        logging.shutdown()
        os._exit(LOST_EXIT)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.lease.close()
