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
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from debatelab.base import (
    DEFAULT_CHECKPOINTS,  # re-exported
    UserError,
    redact_exception,
)
from debatelab.store.contention import is_lock_contention, retry_while_locked

BUSY_TIMEOUT_S = 30.0


class InlineSqliteSaver(SqliteSaver):
    """SqliteSaver whose async API calls the sync methods directly (no thread hop).

    What others keep on the saver (the graphs compiled for it) registers `on_close`, so closing it
    lets them go without the store knowing about graphs."""

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call `callback` when `open_checkpointer` closes this saver."""
        self.__dict__.setdefault("_debatelab_on_close", []).append(callback)

    def run_close_callbacks(self) -> None:
        for callback in self.__dict__.pop("_debatelab_on_close", []):
            callback()

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

    def put_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str,
                   task_path: str = "") -> None:
        """A failed node's error is stored with its message redacted: a server that echoes the
        bearer key in its error body must not put the key on disk."""
        for _, value in writes:
            if isinstance(value, BaseException):
                redact_exception(value)
        super().put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    def list_threads(self) -> Iterator[str]:
        """Thread ids in the file (LangGraph has no API for this)."""
        with self.cursor(transaction=False) as cur:
            cur.execute("SELECT DISTINCT thread_id FROM checkpoints WHERE checkpoint_ns = ''")
            for (thread_id,) in cur.fetchall():
                yield thread_id


def data_only_serializer() -> JsonPlusSerializer:
    """Checkpoints decode data, never code.

    LangGraph's default msgpack decoder rebuilds any `module.function(arg)` a file names (with
    only a warning), so a crafted checkpoint file would run code when a shared debate resumes.
    With an allow-list of None only LangGraph's safe types decode (plain data, datetimes,
    messages, Send); debatelab's state holds nothing else. Pickle stays off.
    """
    return JsonPlusSerializer(allowed_msgpack_modules=None, pickle_fallback=False)


CHECKPOINT_TABLES = {"checkpoints", "writes"}  # what LangGraph's SqliteSaver creates


def check_checkpoint_file(path: Path) -> None:
    """Look at an existing file read-only before anything writes to it: a SQLite file of another
    application, or a file that is not SQLite at all, is refused and left byte-for-byte unchanged."""
    if not path.exists():
        return
    if path.is_dir():
        raise UserError(f"--checkpoints {path} is a directory; give a file path")
    if path.stat().st_size == 0:
        return
    with path.open("rb") as fh:
        header = fh.read(16)
    if header != b"SQLite format 3\x00":
        raise UserError(f"{path} is not a SQLite file (a corrupt or foreign file?); move it away or pass another "
                        f"--checkpoints path")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if is_lock_contention(exc):
            return  # another debatelab process is writing to it: _open waits for it
        raise UserError(f"{path} is a damaged SQLite file ({exc}); move it away or pass another "
                        f"--checkpoints path") from None
    foreign = sorted(n for n in names - CHECKPOINT_TABLES if not n.startswith("sqlite_"))
    if foreign:
        raise UserError(f"{path} is another application's SQLite database (tables: {', '.join(foreign[:5])}), not a "
                        f"checkpoint file; pass another --checkpoints path")


def _open(path: Path) -> InlineSqliteSaver:
    check_checkpoint_file(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise UserError(f"cannot open checkpoint file {path} ({exc}); pass a writable --checkpoints path") from None
    saver = InlineSqliteSaver(conn, serde=data_only_serializer())

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
        saver.run_close_callbacks()  # the graphs compiled for it go with it
        saver.conn.close()
