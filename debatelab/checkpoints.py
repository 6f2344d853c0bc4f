"""The LangGraph checkpoint database (SQLite) shared by debates and judgments.

One file in WAL mode with a 30 s busy timeout, so several processes can share it, and
`durability="sync"` on every run, so a kill -9 loses at most the model call in flight.

The saver is LangGraph's `SqliteSaver` with its async methods run inline on the event loop.
`AsyncSqliteSaver` sends each statement to a worker thread (aiosqlite), and those hops cost
several milliseconds per superstep - more than everything else debatelab adds to a model call
(see bench/overhead.py). The statements themselves take microseconds, because with
synchronous=NORMAL a WAL commit does not wait for fsync; blocking the loop for them is cheaper
than the hop. A kill -9 still loses nothing: a committed page is in the OS cache.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.sqlite import SqliteSaver

from debatelab.base.errors import UserError
from debatelab.sqlite_contention import is_lock_contention, retry_while_locked

DEFAULT_CHECKPOINTS = Path("checkpoints/debates.sqlite")
BUSY_TIMEOUT_S = 30.0


class InlineSqliteSaver(SqliteSaver):
    """SqliteSaver whose async API calls the sync methods directly (no thread hop)."""

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.get_tuple(config)

    async def alist(self, config: RunnableConfig | None, *, filter: dict[str, Any] | None = None,  # noqa: A002
                    before: RunnableConfig | None = None, limit: int | None = None) -> AsyncIterator[CheckpointTuple]:
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
                   new_versions: ChannelVersions) -> RunnableConfig:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str,
                          task_path: str = "") -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    def list_threads(self) -> Iterator[str]:
        """Thread ids in the file (LangGraph has no API for this)."""
        with self.cursor(transaction=False) as cur:
            cur.execute("SELECT DISTINCT thread_id FROM checkpoints WHERE checkpoint_ns = ''")
            for (thread_id,) in cur.fetchall():
                yield thread_id


def _open(path: Path) -> InlineSqliteSaver:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise UserError(f"cannot open checkpoint file {path} ({exc}); pass a writable --checkpoints path") from None
    saver = InlineSqliteSaver(conn)

    def prepare() -> None:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        saver.setup()

    try:
        retry_while_locked(prepare, conn=conn, timeout_s=BUSY_TIMEOUT_S)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_lock_contention(exc):
            raise UserError(f"checkpoint file {path} stayed locked by another process for {BUSY_TIMEOUT_S:.0f} s "
                            f"({exc}); wait for that run to finish or pass another --checkpoints path") from None
        raise UserError(
            f"{path} is not a checkpoint database ({exc}); move it away or pass another --checkpoints path"
        ) from None
    return saver


@asynccontextmanager
async def open_checkpointer(path: str | Path = DEFAULT_CHECKPOINTS) -> AsyncIterator[InlineSqliteSaver]:
    """A checkpoint saver on `path`, usable from async code, always closed."""
    saver = _open(Path(path))
    try:
        yield saver
    finally:
        saver.conn.close()
