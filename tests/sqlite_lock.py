"""Another process holding a ledger's write lock (a real BEGIN EXCLUSIVE), released on demand.

It keeps running, and its connection open, after releasing: the lock is given back, not taken
away by the process dying.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_HOLDER = (
    "import sqlite3, sys, time\n"
    "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "conn.execute('BEGIN EXCLUSIVE')\n"
    "print('locked', flush=True)\n"
    "sys.stdin.readline()\n"
    "conn.execute('ROLLBACK')\n"
    "print('released', flush=True)\n"
    "time.sleep(600)\n"
)


class LockHolder:
    """The holding process; `release()` ends its transaction."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    def release(self) -> None:
        """ROLLBACK in the holder, and wait until it says so."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "released"


@contextmanager
def held_write_lock(db: Path, *, wait_s: float = 30.0) -> Iterator[LockHolder]:
    """Hold `db`'s write lock from another process until `release()` or the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "locked"
        yield LockHolder(process)
    finally:
        process.kill()
        process.wait(wait_s)
