"""A private PostgreSQL cluster for a test session: ``initdb`` and ``pg_ctl`` into a
temporary folder, listening on a free port of 127.0.0.1 only.

As root (CI), the cluster runs as the ``postgres`` user (``initdb`` refuses root). The
binaries are looked for on PATH, then in Debian's ``/usr/lib/postgresql/*/bin``.
Durability settings are relaxed (``fsync=off``): tests kill dwe, never PostgreSQL.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """One running cluster; ``database()`` makes a fresh database and returns its URL."""

    def __init__(self, bin_dir: Path, durable: bool = False) -> None:
        """``durable``: PostgreSQL's defaults (fsync, full page writes), for benchmarks;
        tests relax them, since they kill dwe, never PostgreSQL."""
        # Its own folder under /tmp, not pytest's: as root, pytest's folders are closed
        # to the postgres user the cluster runs as.
        folder = Path(tempfile.mkdtemp(prefix="dwe-pg-"))
        self.folder = folder
        self.data = folder / "data"
        self.port = _free_port()
        self._bin = bin_dir
        self._as_root = os.geteuid() == 0
        self._user = "postgres"
        if self._as_root:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:  # no PostgreSQL package made its user: any unprivileged one
                user = pwd.getpwnam("nobody")
                self._user = "nobody"
            os.chown(folder, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "dwe", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=300"
        if not durable:
            options += " -c fsync=off -c full_page_writes=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(folder / "log"), "-o", options, "-w", "start"
        )
        self.url = f"postgresql://dwe@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self._bin / tool), *args]
        if self._as_root:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode:
            raise RuntimeError(f"{tool} failed: {done.stdout}{done.stderr}")

    def listen_also(self, address: str, cidr: str) -> str:
        """Listen on ``address`` too and trust clients of ``cidr`` (a test network of the
        test's own); returns the cluster's URL there. Restarts the cluster."""
        with open(self.data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {cidr} trust\n")
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1,{address}"
            " -c max_connections=300 -c fsync=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "log"),
            "-o",
            options,
            "-w",
            "restart",
        )
        return f"postgresql://dwe@{address}:{self.port}"

    def database(self) -> str:
        """A new, empty database; its URL."""
        name = f"dwe_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql://dwe@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
