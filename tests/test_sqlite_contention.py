"""Lock contention while several processes open one SQLite file: retried, then a clear message."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest

from debatelab.store import Store, open_checkpointer
from debatelab.store.contention import is_lock_contention, retry_while_locked
from tests.sql import query


def test_retries_lock_contention_until_the_action_succeeds():
    conn = sqlite3.connect(":memory:")
    attempts = []

    def action() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise sqlite3.OperationalError("database is locked")
        return "done"

    pauses: list[float] = []
    assert retry_while_locked(action, conn=conn, timeout_s=5, sleep=pauses.append) == "done"
    assert len(attempts) == 3 and len(pauses) == 2 and pauses[1] > pauses[0] / 2


def test_other_errors_are_not_retried():
    conn = sqlite3.connect(":memory:")
    attempts = []

    def action() -> None:
        attempts.append(1)
        raise sqlite3.OperationalError("no such table: debates")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        retry_while_locked(action, conn=conn, timeout_s=5, sleep=lambda _: None)
    assert attempts == [1]
    assert not is_lock_contention(sqlite3.DatabaseError("file is not a database"))


def test_gives_up_after_the_timeout_with_the_lock_error():
    conn = sqlite3.connect(":memory:")

    def action() -> None:
        raise sqlite3.OperationalError("database is locked")

    with pytest.raises(sqlite3.OperationalError, match="locked"):
        retry_while_locked(action, conn=conn, timeout_s=0.2)


def hold_exclusive_lock(path, seconds: float) -> threading.Thread:
    ready = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(str(path))
        conn.execute("BEGIN EXCLUSIVE")
        ready.set()
        time.sleep(seconds)
        conn.rollback()
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    ready.wait()
    return thread


def test_checkpoint_file_briefly_locked_by_another_process_still_opens(tmp_path):
    path = tmp_path / "cp.sqlite"

    async def threads() -> list[str]:
        async with open_checkpointer(path) as saver:
            return list(saver.list_threads())

    assert asyncio.run(threads()) == []
    holder = hold_exclusive_lock(path, 0.5)
    assert asyncio.run(threads()) == []
    holder.join()


def test_results_db_briefly_locked_by_another_process_still_opens(tmp_path):
    path = tmp_path / "results.db"
    Store.open(path).close()
    holder = hold_exclusive_lock(path, 0.5)
    store = Store.open(path)
    assert query(store, "select count(*) as n from experiments") == [{"n": 0}]
    holder.join()
