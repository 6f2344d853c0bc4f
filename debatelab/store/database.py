"""Opening the results database: create it, upgrade an older one in one transaction, refuse a file
debatelab did not make, and turn SQLite's errors into one line a user can act on.

`StoreCore` is what every domain part of `Store` builds on: the connection (private), reads
(`_rows`, `_frame`) and all-or-nothing writes (`_transaction`). Nothing outside this package
holds the connection or writes SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pandas as pd
import sqlite_utils

from debatelab.base import (
    DEFAULT_RESULTS,  # re-exported
    UserError,
)
from debatelab.store.contention import is_lock_contention, retry_while_locked
from debatelab.store.schema import CREATION_ORDER, MARKER_TABLE, SCHEMA_VERSION, TABLES, TIMESTAMP_COLUMNS

BUSY_TIMEOUT_S = 30.0


def friendly_error(path: Path, exc: sqlite3.Error) -> UserError:
    msg = str(exc)
    if "readonly" in msg or "read-only" in msg:
        return UserError(f"results database {path} is read-only ({msg}); make it writable or pass another --db")
    if "disk" in msg and ("full" in msg or "I/O" in msg):
        return UserError(f"results database {path}: disk full or I/O error ({msg}); nothing was half-written, "
                         f"free space and re-run to resume")
    if is_lock_contention(exc):
        return UserError(f"results database {path} stayed locked by another process for {BUSY_TIMEOUT_S:.0f} s "
                         f"({msg}); wait for that run to finish or pass another --db")
    if "not a database" in msg or "malformed" in msg:
        return UserError(f"{path} is not a debatelab database ({msg}); pass another --db")
    return UserError(f"results database {path}: {msg}")


def _schema_objects(db: sqlite_utils.Database) -> dict[str, str]:
    """Every named object in the file (table, view, index, trigger) and its type."""
    return {name: kind for name, kind in db.execute("select name, type from sqlite_master where name not like "
                                                    "'sqlite_%'").fetchall()}


def _foreign_problem(path: Path, objects: dict[str, str]) -> str | None:
    """Why a file holding debatelab's marker is still not a store debatelab made, or None.

    A results table may be a VIEW in a file someone else assembled (sqlite-utils then refuses to
    write to it, mid-command); such a file is refused up front, before anything reads or writes it.
    """
    for name in (MARKER_TABLE, *TABLES):
        kind = objects.get(name)
        if kind is not None and kind != "table":
            return (f"{path}: '{name}' is a {kind}, not a table debatelab made; this file is not a debatelab "
                    f"database as debatelab wrote it (nothing was changed); pass another --db")
    return None


READABLE_AS_IS_FROM = 8  # upgrades from schema 8 on only add tables: an older file reads without one


class StoreNeedsUpgrade(UserError):
    """A store of an older schema was opened read-only: reading it needs an upgrade, on a copy."""


class StoreCore:
    """The connection and the primitives the domain parts of `Store` share. Open with `Store.open`,
    and close it (it is a context manager): `with Store.open(path) as store: ...`."""

    def __init__(self, db: sqlite_utils.Database, path: Path) -> None:
        self._db = db
        self.path = path

    @classmethod
    def open(cls, path: str | Path = DEFAULT_RESULTS, *, create: bool = True, read_only: bool = False) -> Self:
        """Open (and create, or upgrade in place) a results database; refuse a foreign file.

        `read_only`: never write to the file, not even to upgrade it (an older store raises
        `StoreNeedsUpgrade`); what merge does to its inputs."""
        p = Path(path)
        if not p.exists() and (not create or read_only):
            raise UserError(f"results database {p} not found; run an experiment first or pass --db")
        if p.is_dir():
            raise UserError(f"results database {p} is a directory; pass a file path with --db")
        try:
            if create and not read_only:
                p.parent.mkdir(parents=True, exist_ok=True)
            if read_only:
                conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
            else:
                conn = sqlite3.connect(str(p), timeout=BUSY_TIMEOUT_S)
            db = sqlite_utils.Database(conn)
            objects = retry_while_locked(lambda: _schema_objects(db), conn=conn, timeout_s=BUSY_TIMEOUT_S)
            if not read_only:
                # WAL + NORMAL: a committed debate survives a kill -9 (it is in the OS cache) without
                # an fsync per transaction; only a power cut could lose the last commits.
                conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise friendly_error(p, exc) from None
        except OSError as exc:
            raise UserError(f"cannot open results database {p} ({exc.strerror}); pass another --db") from None
        names = {n for n, kind in objects.items() if kind == "table"}
        store = cls(db, p)
        try:
            if objects and MARKER_TABLE not in objects:
                raise UserError(f"{p} is a SQLite file but not a debatelab database (tables: "
                                f"{', '.join(sorted(names)[:5]) or 'none'}); pass another --db")
            problem = _foreign_problem(p, objects)
            if problem:
                raise UserError(problem)
            if MARKER_TABLE not in names:
                if not create or read_only:
                    raise UserError(f"{p} is not a debatelab database; pass another --db")
                store._create()
            else:
                version = store.schema_version()
                if version > SCHEMA_VERSION:
                    raise UserError(f"{p} was written by a newer debatelab (schema {version}, this one reads up to "
                                    f"{SCHEMA_VERSION}); upgrade debatelab or pass another --db")
                if version < SCHEMA_VERSION or not set(TABLES) <= names or store._missing_columns(names):
                    if read_only and not (version >= READABLE_AS_IS_FROM and not store._missing_columns(names)):
                        raise StoreNeedsUpgrade(f"{p} has schema {version}; reading it needs an upgrade to "
                                                f"{SCHEMA_VERSION}, which is never done to a file opened read-only")
                    if read_only:
                        store._shadow_tables(set(TABLES) - names)
                    else:
                        store._create()  # an older store: upgrade it in place (one transaction)
        except BaseException:
            store.close()
            raise
        if not read_only:
            conn.execute("PRAGMA foreign_keys=ON")
        return store

    def schema_version(self) -> int:
        rows = self._rows(f"select value from {MARKER_TABLE} where key = 'schema_version'")
        try:
            return int(rows[0]["value"]) if rows else 1
        except (ValueError, TypeError):  # a NULL or a word where the version should be
            raise UserError(f"{self.path}: unreadable schema version {rows[0]['value']!r}; pass another --db") from None

    def _create(self) -> None:
        try:
            retry_while_locked(self._create_tables, conn=self._db.conn, timeout_s=BUSY_TIMEOUT_S)
        except sqlite3.Error as exc:
            raise friendly_error(self.path, exc) from None

    def _missing_columns(self, names: set[str] | None = None) -> bool:
        """Whether a table the file has lacks a column (with `names`: tables it lacks do not count)."""
        return any(set(spec["columns"]) - set(self._db.table(name).columns_dict) for name, spec in TABLES.items()
                   if names is None or name in names)

    def _shadow_tables(self, missing: set[str]) -> None:
        """An older store opened read-only lacks tables added since (nothing else changed since
        READABLE_AS_IS_FROM): empty TEMP tables of the same shape stand in, in this connection only,
        so reads see "none yet" and the file is not touched."""
        kinds = {str: "TEXT", int: "INTEGER", float: "REAL"}
        for name in sorted(missing):
            columns = ", ".join(f"[{c}] {kinds.get(k, 'TEXT')}" for c, k in TABLES[name]["columns"].items())
            self._db.conn.execute(f"CREATE TEMP TABLE [{name}] ({columns})")

    def _create_tables(self) -> None:
        """Create or upgrade every table. Idempotent, so a retry after lock contention is safe."""
        self._db.conn.execute("PRAGMA foreign_keys=OFF")  # tables are rebuilt in place during an upgrade
        with self._db.atomic():
            for name in CREATION_ORDER:
                spec = TABLES[name]
                table = self._db.table(name)
                fks = spec.get("foreign_keys", [])
                if not table.exists():
                    table.create(spec["columns"], pk=spec["pk"], foreign_keys=fks)
                else:
                    for column, kind in spec["columns"].items():
                        if column not in table.columns_dict:
                            table.add_column(column, kind)
                    self._upgrade_table(name, spec)
                for cols in spec.get("indexes", []):
                    table.create_index(cols, if_not_exists=True)
            self._db.table(MARKER_TABLE).insert({"key": "schema_version", "value": str(SCHEMA_VERSION)},
                                                pk="key", replace=True)
        self._db.execute("PRAGMA journal_mode=WAL")

    def _upgrade_table(self, name: str, spec: dict[str, Any]) -> None:
        """Schema 1 -> 2: epoch timestamps become ISO text, and foreign keys are declared."""
        table = self._db.table(name)
        stamps = [c for c in TIMESTAMP_COLUMNS if c in spec["columns"]]
        for column in stamps:
            self._db.execute(f"update [{name}] set [{column}] = strftime('%Y-%m-%dT%H:%M:%f+00:00', [{column}], "
                             f"'unixepoch') where typeof([{column}]) in ('real', 'integer')")
        have = {(fk.column, fk.other_table, fk.other_column) for fk in table.foreign_keys}
        missing = [fk for fk in spec.get("foreign_keys", []) if tuple(fk) not in have]
        retype = {c: str for c in stamps if table.columns_dict.get(c) is not str}
        if missing or retype:
            table.transform(types=retype, add_foreign_keys=missing)
        if name in ("judgments", "scores"):  # schema 5 -> 6: judgments made before prompt versions used "1"
            self._db.execute(f"update [{name}] set prompt_version = '1' where prompt_version is null "
                             f"and judge not like 'human:%'")
        if name == "reliability":
            self._db.execute("update reliability set prompt_version = '1' where prompt_version is null")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite_utils.Database]:
        """All-or-nothing writes, with clear messages for read-only or full disks."""
        try:
            with self._db.atomic():
                yield self._db
        except sqlite3.Error as exc:
            raise friendly_error(self.path, exc) from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _rows(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        try:
            return list(self._db.query(sql, params or {}))
        except sqlite3.Error as exc:
            raise friendly_error(self.path, exc) from None

    def _frame(self, sql: str, params: dict[str, Any]) -> pd.DataFrame:
        # pandas reads the cursor directly: 210,000 score rows without a dict per row.
        try:
            return pd.read_sql_query(sql, self._db.conn, params=params)
        except (sqlite3.Error, pd.errors.DatabaseError) as exc:
            raise UserError(f"results database {self.path}: {exc}") from None
