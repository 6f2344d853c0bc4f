"""The LangGraph checkpoint database (SQLite) shared by debates and judgments.

One file, WAL mode (set by the saver), a 30 s busy timeout so several processes can share it,
and `durability="sync"` on every run so a kill -9 loses at most the call in flight.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from debatelab.errors import UserError

DEFAULT_CHECKPOINTS = Path("checkpoints/debates.sqlite")
BUSY_TIMEOUT_S = 30.0


@asynccontextmanager
async def open_checkpointer(path: str | Path = DEFAULT_CHECKPOINTS) -> AsyncIterator[AsyncSqliteSaver]:
    """An AsyncSqliteSaver on `path`, created inside the running loop and always closed."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(p), timeout=BUSY_TIMEOUT_S)
    except (OSError, sqlite3.Error) as exc:
        raise UserError(f"cannot open checkpoint file {p} ({exc}); pass a writable --checkpoints path") from None
    try:
        saver = AsyncSqliteSaver(conn)
        try:
            await saver.setup()
        except sqlite3.DatabaseError as exc:
            raise UserError(
                f"{p} is not a checkpoint database ({exc}); move it away or pass another --checkpoints path"
            ) from None
        yield saver
    finally:
        await conn.close()
