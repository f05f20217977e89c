"""A disk that fills up under a running server, and gets its space back.

As root, a small tmpfs is mounted for the database and a filler file takes every
byte left on it. Otherwise the database's folder and files are made read-only,
which a server sees only when it opens them (a running server's open file stays
writable), so only the restart variant can use it. Without either, the tests skip.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Room for the database of a few dozen diamonds and its WAL.
TMPFS_SIZE = "16m"
CHUNK = 1 << 20


class Disk:
    """Where the database lives (``folder``) and how to take its space away."""

    kind = "none"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def db(self) -> Path:
        return self.folder / "dwe.db"

    def fill(self) -> None:
        raise NotImplementedError

    def free(self) -> None:
        raise NotImplementedError


class TmpfsDisk(Disk):
    """A tmpfs of TMPFS_SIZE; ``fill`` writes a filler file until ENOSPC."""

    kind = "tmpfs"

    @property
    def filler(self) -> Path:
        return self.folder / "filler"

    def fill(self) -> None:
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            size = CHUNK
            while size:  # smaller and smaller writes take the last bytes too
                try:
                    os.write(fd, b"\0" * size)
                except OSError as err:
                    if err.errno != errno.ENOSPC:
                        raise
                    size //= 2
        finally:
            os.close(fd)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def free_bytes(self) -> int:
        st = os.statvfs(self.folder)
        return st.f_bavail * st.f_frsize


class ReadOnlyDisk(Disk):
    """The database's folder and files lose their write permission (not as root)."""

    kind = "read-only"

    def _paths(self) -> list[Path]:
        return [p for p in self.folder.iterdir() if p.name.startswith(self.db.name)]

    def fill(self) -> None:
        for path in self._paths():
            path.chmod(stat.S_IRUSR | stat.S_IRGRP)
        self.folder.chmod(stat.S_IRUSR | stat.S_IXUSR)

    def free(self) -> None:
        self.folder.chmod(stat.S_IRWXU)
        for path in self._paths():
            path.chmod(stat.S_IRUSR | stat.S_IWUSR)


@contextlib.contextmanager
def small_disk(base: Path, *, live: bool) -> Iterator[Disk]:
    """A tmpfs as root; else a read-only database folder, unless ``live`` (the server
    keeps running while the disk is full), which only a real full disk can do."""
    folder = base / "disk"
    folder.mkdir()
    if os.geteuid() != 0:
        if live:
            pytest.skip("a full disk under a running server needs root (to mount a tmpfs)")
        yield ReadOnlyDisk(folder)
        return
    mount = ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(folder)]
    done = subprocess.run(mount, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield TmpfsDisk(folder)
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
