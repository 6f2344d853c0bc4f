"""Opening a SQLite file that other processes are opening at the same moment.

Several `debatelab` processes may share one checkpoint file or one results database. SQLite's
busy timeout covers ordinary lock waits, but not all of them: when two connections on a
fresh file both switch it to WAL and create tables, SQLite may answer one of them
"database is locked" at once instead of waiting, to avoid a deadlock between the two.
The set-up statements are idempotent, so trying them again after a short pause is safe.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

LOCK_WORDS = ("database is locked", "database table is locked", "database schema is locked", "busy")


def is_lock_contention(exc: BaseException) -> bool:
    """Whether `exc` is SQLite saying another connection holds a lock (not a broken file)."""
    return isinstance(exc, sqlite3.OperationalError) and any(w in str(exc).lower() for w in LOCK_WORDS)


def retry_while_locked(action: Callable[[], T], *, conn: sqlite3.Connection, timeout_s: float,
                       sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `action`; while it fails with lock contention, roll back, pause and run it again.

    Gives up after `timeout_s` by re-raising the last error, so a file held by a stuck process
    still ends in a clear message rather than a hang.
    """
    deadline = time.monotonic() + timeout_s
    pause = 0.02
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not is_lock_contention(exc) or time.monotonic() + pause > deadline:
                raise
            if conn.in_transaction:
                conn.rollback()
            sleep(pause * (1 + random.random()))
            pause = min(pause * 2, 0.5)
