"""Reading a results database with SQL, for tests only: the product reads it through `Store`'s
methods, but a test may check what is in the file itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from debatelab.store import Store


def query(where: Store | Path | str, sql: str, params: Any = None) -> list[dict[str, Any]]:
    """Rows of `sql` on a store's file (or a path), as dicts, through a connection of its own."""
    path = where.path if isinstance(where, Store) else Path(where)
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params or {})]
    finally:
        conn.close()
