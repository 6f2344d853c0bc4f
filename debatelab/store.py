"""The results database (SQLite through sqlite-utils): what ran, what it said, what it cost, how it scored.

Rows are written in one transaction when a debate or a judgment finishes, keyed by stable ids,
so a re-run upserts instead of duplicating and a crash never leaves half a debate. The file is
plain SQLite that Datasette can browse as is.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from debatelab.errors import UserError
from debatelab.sqlite_contention import is_lock_contention, retry_while_locked

SCHEMA_VERSION = 1
MARKER_TABLE = "debatelab_meta"

TABLES: dict[str, dict[str, Any]] = {
    "experiments": {
        "columns": {"name": str, "description": str, "kind": str, "spec": str, "source_file": str,
                    "created_at": float, "updated_at": float},
        "pk": "name",
    },
    "debates": {
        "columns": {"debate_id": str, "experiment": str, "config": str, "config_fingerprint": str,
                    "kind": str, "topology": str, "scenario_id": str, "scenario_set": str, "category": str,
                    "motion": str, "repeat": int, "status": str, "error": str, "verdict_winner": str,
                    "verdict_confidence": float, "verdict": str, "turns": int, "calls": int,
                    "input_tokens": int, "output_tokens": int, "duration_s": float, "models": str,
                    "source": str, "started_at": float, "finished_at": float},
        "pk": "debate_id",
        "indexes": [["experiment", "status"], ["experiment", "config"], ["experiment", "scenario_id", "repeat"]],
    },
    "turns": {
        "columns": {"turn_id": str, "debate_id": str, "idx": int, "round": int, "role": str, "agent": str,
                    "model": str, "stance": str, "kind": str, "text": str, "thinking": str, "input_tokens": int,
                    "output_tokens": int, "duration_s": float, "done_reason": str, "truncated": int, "calls": int},
        "pk": "turn_id",
        "indexes": [["debate_id", "idx"]],
    },
    "model_calls": {
        "columns": {"call_id": str, "experiment": str, "debate_id": str, "judgment_id": str, "stage": str,
                    "agent": str, "host": str, "model": str, "calls": int, "input_tokens": int,
                    "output_tokens": int, "duration_s": float, "cached": int},
        "pk": "call_id",
        "indexes": [["experiment", "stage"], ["debate_id"]],
    },
    "judgments": {
        "columns": {"judgment_id": str, "experiment": str, "debate_id": str, "rubric": str, "rubric_version": str,
                    "judge": str, "sample": int, "permuted": int, "overall": float, "n_scored": int,
                    "n_unscored": int, "speaker_order": str, "finished_at": float},
        "pk": "judgment_id",
        "indexes": [["experiment", "rubric_version"], ["debate_id"]],
    },
    "scores": {
        "columns": {"score_id": str, "judgment_id": str, "experiment": str, "debate_id": str, "rubric": str,
                    "rubric_version": str, "judge": str, "sample": int, "permuted": int, "criterion": str,
                    "score": int, "unscored_reason": str, "rationale": str, "attempts": int},
        "pk": "score_id",
        "indexes": [["experiment", "rubric_version", "criterion"], ["debate_id"], ["judgment_id"]],
    },
    "qa_calls": {
        "columns": {"call_id": str, "experiment": str, "split": str, "question_id": str, "agent": str, "kind": str,
                    "sample": int, "letter": str, "truth": str, "correct": int, "text": str,
                    "unanswered_reason": str, "model": str, "input_tokens": int, "output_tokens": int,
                    "duration_s": float, "calls": int, "option_probs": str, "option_mass": float},
        "pk": "call_id",
        "indexes": [["experiment", "kind", "split"], ["experiment", "question_id"]],
    },
    "results": {
        "columns": {"key": str, "experiment": str, "name": str, "value": str, "computed_at": float},
        "pk": "key",
        "indexes": [["experiment"]],
    },
    "reliability": {
        "columns": {"key": str, "experiment": str, "rubric": str, "rubric_version": str, "criterion": str,
                    "alpha_ordinal": float, "judges": int, "flip_rate": float, "flip_pairs": int,
                    "unscored_rate": float, "criterion_judgments": int, "computed_at": float},
        "pk": "key",
        "indexes": [["experiment", "rubric_version"]],
    },
}

BUSY_TIMEOUT_S = 30.0


def _friendly(path: Path, exc: sqlite3.Error) -> UserError:
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


class Store:
    """The results database. Open it with `Store.open(path)`."""

    def __init__(self, db: sqlite_utils.Database, path: Path):
        self.db = db
        self.path = path

    @classmethod
    def open(cls, path: str | Path = "results.db", *, create: bool = True) -> Store:
        p = Path(path)
        if not p.exists() and not create:
            raise UserError(f"results database {p} not found; run an experiment first or pass --db")
        try:
            if create:
                p.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(p), timeout=BUSY_TIMEOUT_S)
            db = sqlite_utils.Database(conn)
            names = set(retry_while_locked(db.table_names, conn=conn, timeout_s=BUSY_TIMEOUT_S))
            # WAL + NORMAL: a committed debate survives a kill -9 (it is in the OS cache) without
            # an fsync per transaction; only a power cut could lose the last commits.
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise _friendly(p, exc) from None
        except OSError as exc:
            raise UserError(f"cannot open results database {p} ({exc.strerror}); pass another --db") from None
        if names and MARKER_TABLE not in names:
            raise UserError(f"{p} is a SQLite file but not a debatelab database (tables: "
                            f"{', '.join(sorted(names)[:5])}); pass another --db")
        store = cls(db, p)
        if MARKER_TABLE not in names:
            if not create:
                raise UserError(f"{p} is not a debatelab database; pass another --db")
            store._create()
        elif not set(TABLES) <= names or store._missing_columns():
            store._create()  # a database from an earlier debatelab: add the tables and columns it lacks
        return store

    def _create(self) -> None:
        try:
            retry_while_locked(self._create_tables, conn=self.db.conn, timeout_s=BUSY_TIMEOUT_S)
        except sqlite3.Error as exc:
            raise _friendly(self.path, exc) from None

    def _missing_columns(self) -> bool:
        return any(set(spec["columns"]) - set(self.db.table(name).columns_dict) for name, spec in TABLES.items())

    def _create_tables(self) -> None:
        """Idempotent (IF NOT EXISTS, replace), so a retry after lock contention is safe."""
        with self.db.atomic():
            for name, spec in TABLES.items():
                table = self.db.table(name)
                table.create(spec["columns"], pk=spec["pk"], if_not_exists=True)
                for column, kind in spec["columns"].items():
                    if column not in table.columns_dict:
                        table.add_column(column, kind)
                for cols in spec.get("indexes", []):
                    table.create_index(cols, if_not_exists=True)
            self.db.table(MARKER_TABLE).insert({"key": "schema_version", "value": str(SCHEMA_VERSION)},
                                               pk="key", replace=True)
        self.db.execute("PRAGMA journal_mode=WAL")

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """All-or-nothing writes, with clear messages for read-only or full disks."""
        try:
            with self.db.atomic():
                yield self.db
        except sqlite3.Error as exc:
            raise _friendly(self.path, exc) from None

    def close(self) -> None:
        self.db.close()

    # -- reads ------------------------------------------------------------------------------
    def query(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        try:
            return list(self.db.query(sql, params or {}))
        except sqlite3.Error as exc:
            raise _friendly(self.path, exc) from None

    def experiment(self, name: str) -> dict[str, Any] | None:
        rows = self.query("select * from experiments where name = :n", {"n": name})
        return rows[0] if rows else None

    def require_experiment(self, name: str) -> dict[str, Any]:
        row = self.experiment(name)
        if row is None:
            known = ", ".join(r["name"] for r in self.query("select name from experiments order by name")) or "none"
            raise UserError(f"no experiment {name!r} in {self.path} (experiments: {known})")
        return row

    def debate_status(self, debate_id: str) -> str | None:
        rows = self.query("select status from debates where debate_id = :d", {"d": debate_id})
        return rows[0]["status"] if rows else None

    def finished_judgments(self, experiment: str) -> set[str]:
        return {r["judgment_id"] for r in self.query(
            "select judgment_id from judgments where experiment = :e", {"e": experiment})}

    # -- writes -----------------------------------------------------------------------------
    def upsert_experiment(self, name: str, *, description: str, kind: str, spec: dict[str, Any],
                          source_file: str) -> None:
        now = time.time()
        existing = self.experiment(name)
        with self.transaction() as db:
            db.table("experiments").upsert({
                "name": name, "description": description, "kind": kind, "spec": json.dumps(spec),
                "source_file": source_file, "created_at": existing["created_at"] if existing else now,
                "updated_at": now,
            }, pk="name")

    def mark_debate(self, row: dict[str, Any]) -> None:
        """Record a debate's identity and status (running/failed) before or after it runs."""
        with self.transaction() as db:
            db.table("debates").upsert(row, pk="debate_id", alter=False)

    def write_finished_debate(self, row: dict[str, Any], turns: list[dict[str, Any]],
                              calls: list[dict[str, Any]]) -> None:
        with self.transaction() as db:
            db.execute("delete from turns where debate_id = ?", [row["debate_id"]])
            db.execute("delete from model_calls where debate_id = ? and stage = 'debate'", [row["debate_id"]])
            db.table("debates").upsert(row, pk="debate_id")
            if turns:
                db.table("turns").insert_all(turns, pk="turn_id")
            if calls:
                db.table("model_calls").insert_all(calls, pk="call_id")

    def write_judgment(self, judgment: dict[str, Any], scores: list[dict[str, Any]],
                       calls: list[dict[str, Any]]) -> None:
        with self.transaction() as db:
            db.table("judgments").upsert(judgment, pk="judgment_id")
            db.table("scores").upsert_all(scores, pk="score_id")
            if calls:
                db.table("model_calls").upsert_all(calls, pk="call_id")

    def write_reliability(self, rows: list[dict[str, Any]]) -> None:
        with self.transaction() as db:
            db.table("reliability").upsert_all(rows, pk="key")
