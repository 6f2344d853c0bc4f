"""Whole tables, for merging shard databases into one."""

from __future__ import annotations

from typing import Any

from debatelab.store.database import StoreCore
from debatelab.store.schema import CREATION_ORDER, TABLES


class ShardRecords(StoreCore):
    def table_rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of one of the store's tables, in insertion order (merging shards)."""
        if table not in TABLES:
            raise KeyError(table)
        return self._rows(f"select * from [{table}] order by rowid")

    def insert_rows(self, rows_by_table: dict[str, list[dict[str, Any]]]) -> None:
        """Rows of several tables (from other stores, or a bulk load), parents first, in one transaction:
        all or nothing."""
        with self._transaction() as db:
            for table in CREATION_ORDER:
                rows = rows_by_table.get(table)
                if rows:
                    db.table(table).upsert_all(rows, pk=TABLES[table]["pk"], alter=False)
