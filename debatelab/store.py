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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlite_utils

from debatelab.base.errors import UserError
from debatelab.sqlite_contention import is_lock_contention, retry_while_locked

SCHEMA_VERSION = 5
# Version history (each upgrade runs in one transaction when an older file is opened):
#   1 (debatelab 0.1): epoch-float timestamps, no foreign keys.
#   2: ISO-8601 UTC timestamps (text); foreign keys turns/judgments/model_calls -> debates,
#      scores/model_calls -> judgments, debates -> experiments.
#   3: judge audits (`judge_audits`, and `audit_calls` with one row per item and order).
#   4: pairwise judging (`pair_judgments`, one per pair, judge and order; `pair_verdicts` per criterion).
#   5: `model_calls.digest`, the model digest the host reported (identity is the tag, never the host).
MARKER_TABLE = "debatelab_meta"

TABLES: dict[str, dict[str, Any]] = {
    "experiments": {
        "columns": {"name": str, "description": str, "kind": str, "spec": str, "source_file": str,
                    "created_at": str, "updated_at": str},
        "pk": "name",
    },
    "debates": {
        "columns": {"debate_id": str, "experiment": str, "config": str, "config_fingerprint": str,
                    "kind": str, "topology": str, "scenario_id": str, "scenario_set": str, "category": str,
                    "motion": str, "repeat": int, "status": str, "error": str, "verdict_winner": str,
                    "verdict_confidence": float, "verdict": str, "turns": int, "calls": int,
                    "input_tokens": int, "output_tokens": int, "duration_s": float, "models": str,
                    "source": str, "started_at": str, "finished_at": str},
        "pk": "debate_id",
        "foreign_keys": [("experiment", "experiments", "name")],
        "indexes": [["experiment", "status"], ["experiment", "config"], ["experiment", "scenario_id", "repeat"]],
    },
    "turns": {
        "columns": {"turn_id": str, "debate_id": str, "idx": int, "round": int, "role": str, "agent": str,
                    "model": str, "stance": str, "kind": str, "text": str, "thinking": str, "input_tokens": int,
                    "output_tokens": int, "duration_s": float, "done_reason": str, "truncated": int, "calls": int},
        "pk": "turn_id",
        "foreign_keys": [("debate_id", "debates", "debate_id")],
        "indexes": [["debate_id", "idx"]],
    },
    "model_calls": {
        "columns": {"call_id": str, "experiment": str, "debate_id": str, "judgment_id": str, "stage": str,
                    "agent": str, "host": str, "model": str, "digest": str, "calls": int, "input_tokens": int,
                    "output_tokens": int, "duration_s": float, "cached": int},
        "pk": "call_id",
        "foreign_keys": [("debate_id", "debates", "debate_id"), ("judgment_id", "judgments", "judgment_id")],
        "indexes": [["experiment", "stage"], ["debate_id"], ["judgment_id"]],
    },
    "judgments": {
        "columns": {"judgment_id": str, "experiment": str, "debate_id": str, "rubric": str, "rubric_version": str,
                    "judge": str, "sample": int, "permuted": int, "overall": float, "n_scored": int,
                    "n_unscored": int, "speaker_order": str, "finished_at": str},
        "pk": "judgment_id",
        "foreign_keys": [("debate_id", "debates", "debate_id")],
        "indexes": [["experiment", "rubric_version"], ["debate_id"]],
    },
    "scores": {
        "columns": {"score_id": str, "judgment_id": str, "experiment": str, "debate_id": str, "rubric": str,
                    "rubric_version": str, "judge": str, "sample": int, "permuted": int, "criterion": str,
                    "score": int, "unscored_reason": str, "rationale": str, "attempts": int},
        "pk": "score_id",
        "foreign_keys": [("judgment_id", "judgments", "judgment_id")],
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
        "columns": {"key": str, "experiment": str, "name": str, "value": str, "computed_at": str},
        "pk": "key",
        "indexes": [["experiment"]],
    },
    "pair_judgments": {
        "columns": {"pair_judgment_id": str, "experiment": str, "pair_key": str, "debate_a": str, "debate_b": str,
                    "config_a": str, "config_b": str, "scenario_id": str, "repeat": int, "rubric": str,
                    "rubric_version": str, "judge": str, "ord": str, "finished_at": str},
        "pk": "pair_judgment_id",
        "foreign_keys": [("debate_a", "debates", "debate_id"), ("debate_b", "debates", "debate_id")],
        "indexes": [["experiment", "rubric_version"], ["debate_a"], ["debate_b"]],
    },
    "pair_verdicts": {
        "columns": {"verdict_id": str, "pair_judgment_id": str, "experiment": str, "criterion": str, "winner": str,
                    "reasons": str, "unscored_reason": str, "attempts": int, "input_tokens": int,
                    "output_tokens": int, "duration_s": float},
        "pk": "verdict_id",
        "foreign_keys": [("pair_judgment_id", "pair_judgments", "pair_judgment_id")],
        "indexes": [["pair_judgment_id"], ["experiment", "criterion"]],
    },
    "judge_audits": {
        "columns": {"audit_id": str, "judge": str, "pair_set": str, "n": int, "seed": int, "provenance": str,
                    "metrics": str, "accuracy": float, "position_consistency": float, "computed_at": str},
        "pk": "audit_id",
        "indexes": [["judge", "computed_at"]],
    },
    "audit_calls": {
        "columns": {"call_id": str, "audit_id": str, "judge": str, "pair_set": str, "item_id": str, "category": str,
                    "ord": str, "chosen": str, "label": str, "correct": int, "len_a": int, "len_b": int,
                    "model_a": str, "model_b": str, "reasons": str, "unscored_reason": str, "attempts": int,
                    "input_tokens": int, "output_tokens": int, "duration_s": float, "finished_at": str},
        "pk": "call_id",
        "indexes": [["audit_id"]],
    },
    "reliability": {
        "columns": {"key": str, "experiment": str, "rubric": str, "rubric_version": str, "criterion": str,
                    "alpha_ordinal": float, "judges": int, "flip_rate": float, "flip_pairs": int,
                    "unscored_rate": float, "criterion_judgments": int, "computed_at": str},
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


TIMESTAMP_COLUMNS = ("created_at", "updated_at", "started_at", "finished_at", "computed_at")
# Tables are created parents first, so every foreign key points at a table that exists.
CREATION_ORDER = ["experiments", "debates", "judgments", "turns", "model_calls", "scores", "qa_calls", "results",
                  "reliability", "judge_audits", "audit_calls", "pair_judgments", "pair_verdicts"]


def iso_timestamp(value: float | str | None = None) -> str | None:
    """ISO-8601 UTC with milliseconds (`2026-11-23T18:36:00.123+00:00`); now when no value is given."""
    if isinstance(value, str):
        return value
    seconds = time.time() if value is None else float(value)
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def _with_iso_times(row: dict[str, Any]) -> dict[str, Any]:
    """Callers may pass epoch seconds; the file always holds ISO-8601 text."""
    fixed = {k: iso_timestamp(v) for k, v in row.items() if k in TIMESTAMP_COLUMNS and isinstance(v, int | float)}
    return {**row, **fixed} if fixed else row


class Store:
    """The results database. Open it with `Store.open(path)`; read and write it with its methods."""

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
        else:
            version = store.schema_version()
            if version > SCHEMA_VERSION:
                raise UserError(f"{p} was written by a newer debatelab (schema {version}, this one reads up to "
                                f"{SCHEMA_VERSION}); upgrade debatelab or pass another --db")
            if version < SCHEMA_VERSION or not set(TABLES) <= names or store._missing_columns():
                store._create()  # an older store: upgrade it in place (one transaction)
        conn.execute("PRAGMA foreign_keys=ON")
        return store

    def schema_version(self) -> int:
        rows = self._rows(f"select value from {MARKER_TABLE} where key = 'schema_version'")
        try:
            return int(rows[0]["value"]) if rows else 1
        except ValueError:
            raise UserError(f"{self.path}: unreadable schema version {rows[0]['value']!r}; pass another --db") from None

    def _create(self) -> None:
        try:
            retry_while_locked(self._create_tables, conn=self.db.conn, timeout_s=BUSY_TIMEOUT_S)
        except sqlite3.Error as exc:
            raise _friendly(self.path, exc) from None

    def _missing_columns(self) -> bool:
        return any(set(spec["columns"]) - set(self.db.table(name).columns_dict) for name, spec in TABLES.items())

    def _create_tables(self) -> None:
        """Create or upgrade every table. Idempotent, so a retry after lock contention is safe."""
        self.db.conn.execute("PRAGMA foreign_keys=OFF")  # tables are rebuilt in place during an upgrade
        with self.db.atomic():
            for name in CREATION_ORDER:
                spec = TABLES[name]
                table = self.db.table(name)
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
            self.db.table(MARKER_TABLE).insert({"key": "schema_version", "value": str(SCHEMA_VERSION)},
                                               pk="key", replace=True)
        self.db.execute("PRAGMA journal_mode=WAL")

    def _upgrade_table(self, name: str, spec: dict[str, Any]) -> None:
        """Schema 1 -> 2: epoch timestamps become ISO text, and foreign keys are declared."""
        table = self.db.table(name)
        stamps = [c for c in TIMESTAMP_COLUMNS if c in spec["columns"]]
        for column in stamps:
            self.db.execute(f"update [{name}] set [{column}] = strftime('%Y-%m-%dT%H:%M:%f+00:00', [{column}], "
                            f"'unixepoch') where typeof([{column}]) in ('real', 'integer')")
        have = {(fk.column, fk.other_table, fk.other_column) for fk in table.foreign_keys}
        missing = [fk for fk in spec.get("foreign_keys", []) if tuple(fk) not in have]
        retype = {c: str for c in stamps if table.columns_dict.get(c) is not str}
        if missing or retype:
            table.transform(types=retype, add_foreign_keys=missing)

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
    def _rows(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        try:
            return list(self.db.query(sql, params or {}))
        except sqlite3.Error as exc:
            raise _friendly(self.path, exc) from None

    def query(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        """Ad-hoc read-only SQL for notebooks and tests; the lab itself uses the typed methods."""
        return self._rows(sql, params)

    def _frame(self, sql: str, params: dict[str, Any]) -> pd.DataFrame:
        # pandas reads the cursor directly: 210,000 score rows without a dict per row.
        try:
            return pd.read_sql_query(sql, self.db.conn, params=params)
        except (sqlite3.Error, pd.errors.DatabaseError) as exc:
            raise UserError(f"results database {self.path}: {exc}") from None

    def experiment(self, name: str) -> dict[str, Any] | None:
        rows = self._rows("select * from experiments where name = :n", {"n": name})
        return rows[0] if rows else None

    def require_experiment(self, name: str) -> dict[str, Any]:
        row = self.experiment(name)
        if row is None:
            known = ", ".join(r["name"] for r in self._rows("select name from experiments order by name")) or "none"
            raise UserError(f"no experiment {name!r} in {self.path} (experiments: {known})")
        return row

    def experiment_overview(self) -> list[dict[str, Any]]:
        """Per experiment: debates finished/running/failed, judgments, unscored criteria, question calls."""
        return self._rows(
            "select e.name, e.kind, "
            "(select count(*) from debates d where d.experiment = e.name and d.status = 'finished') as finished, "
            "(select count(*) from debates d where d.experiment = e.name and d.status = 'running') as running, "
            "(select count(*) from debates d where d.experiment = e.name and d.status = 'failed') as failed, "
            "(select count(*) from judgments j where j.experiment = e.name) as judgments, "
            "(select coalesce(sum(j.n_unscored), 0) from judgments j where j.experiment = e.name) as unscored, "
            "(select count(*) from qa_calls q where q.experiment = e.name) as qa "
            "from experiments e order by e.updated_at desc")

    def debate_status(self, debate_id: str) -> str | None:
        rows = self._rows("select status from debates where debate_id = :d", {"d": debate_id})
        return rows[0]["status"] if rows else None

    def debates(self, experiment: str, *, finished_only: bool = False, limit: int | None = None
                ) -> list[dict[str, Any]]:
        """An experiment's debates in a stable order (configuration, scenario, repeat)."""
        where = " and status = 'finished'" if finished_only else ""
        bound = " limit :n" if limit is not None else ""
        return self._rows(f"select * from debates where experiment = :e{where} order by config, scenario_id, repeat"
                          f"{bound}", {"e": experiment, "n": limit})

    def count_debates(self, experiment: str, status: str) -> int:
        return self._rows("select count(*) as n from debates where experiment = :e and status = :s",
                          {"e": experiment, "s": status})[0]["n"]

    def debate_models(self, experiment: str) -> list[str]:
        """Every model label that spoke in the experiment's debates."""
        rows = self._rows("select distinct models from debates where experiment = :e", {"e": experiment})
        return sorted({m for r in rows for m in (r["models"] or "").split(",") if m})

    def turns(self, debate_id: str) -> list[dict[str, Any]]:
        return self._rows("select * from turns where debate_id = :d order by idx", {"d": debate_id})

    def turns_of(self, debate_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        marks = ",".join("?" for _ in debate_ids)
        for t in self._rows(f"select * from turns where debate_id in ({marks}) order by debate_id, idx", debate_ids):
            out.setdefault(t["debate_id"], []).append(t)
        return out

    def judgments_of_debate(self, debate_id: str, *, with_scores: bool = False) -> list[dict[str, Any]]:
        judgments = self._rows("select * from judgments where debate_id = :d", {"d": debate_id})
        if with_scores:
            for j in judgments:
                j["scores"] = self._rows("select criterion, score, unscored_reason, rationale, attempts from scores "
                                         "where judgment_id = :j", {"j": j["judgment_id"]})
        return judgments

    def experiment_judges(self, experiment: str) -> list[str]:
        """The judges (TAG@HOST) that scored this experiment's debates."""
        return [r["judge"] for r in self._rows("select distinct judge from judgments where experiment = :e "
                                               "order by judge", {"e": experiment})]

    def finished_judgments(self, experiment: str) -> set[str]:
        return {r["judgment_id"] for r in self._rows(
            "select judgment_id from judgments where experiment = :e", {"e": experiment})}

    def scores(self, experiment: str, rubric_version: str) -> list[dict[str, Any]]:
        return self._rows("select * from scores where experiment = :e and rubric_version = :v",
                          {"e": experiment, "v": rubric_version})

    def score_export_rows(self, experiment: str) -> list[dict[str, Any]]:
        """One row per criterion score with its debate's metadata (the CSV export)."""
        return self._rows(
            "select d.debate_id, d.config, d.kind, d.topology, d.scenario_id, d.category, d.repeat, "
            "s.rubric, s.rubric_version, s.judge, s.sample, s.permuted, s.criterion, s.score, s.unscored_reason "
            "from scores s join debates d on d.debate_id = s.debate_id where d.experiment = :e "
            "order by d.config, d.scenario_id, d.repeat, s.judge, s.sample, s.criterion", {"e": experiment})

    def reliability(self, experiment: str, rubric_version: str | None) -> list[dict[str, Any]]:
        return self._rows("select * from reliability where experiment = :e and rubric_version = :v "
                          "order by criterion = '__all__', key", {"e": experiment, "v": rubric_version or ""})

    def analysis_frames(self, experiment: str) -> dict[str, pd.DataFrame]:
        """Debates, judgments and model calls of an experiment as DataFrames (statistics)."""
        return {
            "debates": self._frame(
                "select debate_id, config, kind, topology, scenario_id, category, repeat, status, models "
                "from debates where experiment = :e", {"e": experiment}),
            "judgments": self._frame(
                "select judgment_id, debate_id, rubric, rubric_version, judge, sample, permuted, overall "
                "from judgments where experiment = :e", {"e": experiment}),
            "calls": self._frame(
                "select debate_id, judgment_id, stage, model, calls, input_tokens, output_tokens, duration_s "
                "from model_calls where experiment = :e", {"e": experiment}),
        }

    def scores_frame(self, experiment: str, rubric_version: str | None, judges: str = "all") -> pd.DataFrame:
        """Per-criterion scores in insertion order (= the rubric's order); judges: all, llm or human."""
        who = {"all": "", "human": " and judge like 'human:%'", "llm": " and judge not like 'human:%'"}[judges]
        return self._frame(
            "select debate_id, judge, sample, permuted, criterion, score from scores "
            f"where experiment = :e and rubric_version = :v{who} order by rowid",
            {"e": experiment, "v": rubric_version or ""})

    def human_rated_scores(self, experiment: str, rubric_version: str) -> list[dict[str, Any]]:
        """Every judge's scores of the debates that people rated (what agreement compares)."""
        return self._rows(
            "select debate_id, judge, sample, permuted, criterion, score from scores where experiment = :e "
            "and rubric_version = :v and debate_id in (select debate_id from judgments where experiment = :e "
            "and rubric_version = :v and judge like 'human:%')", {"e": experiment, "v": rubric_version})

    def human_rated_judgments(self, experiment: str, rubric_version: str) -> list[dict[str, Any]]:
        return self._rows(
            "select debate_id, judge, sample, permuted, overall from judgments where experiment = :e "
            "and rubric_version = :v and debate_id in (select debate_id from judgments where experiment = :e "
            "and rubric_version = :v and judge like 'human:%')", {"e": experiment, "v": rubric_version})

    # -- question experiments (weak-to-strong) ---------------------------------------------------
    def qa_call_ids(self, experiment: str) -> set[str]:
        return {r["call_id"] for r in self._rows("select call_id from qa_calls where experiment = :e",
                                                 {"e": experiment})}

    def qa_call(self, call_id: str) -> dict[str, Any] | None:
        rows = self._rows("select * from qa_calls where call_id = :c", {"c": call_id})
        return rows[0] if rows else None

    def qa_calls(self, experiment: str, *, kind: str | None = None, question_id: str | None = None,
                 split: str | None = None) -> list[dict[str, Any]]:
        """An experiment's question calls, optionally of one kind, question and split, by sample."""
        where, params = ["experiment = :e"], {"e": experiment}
        for column, value in (("kind", kind), ("question_id", question_id), ("split", split)):
            if value is not None:
                where.append(f"{column} = :{column}")
                params[column] = value
        return self._rows(f"select * from qa_calls where {' and '.join(where)} order by sample, call_id", params)

    def write_qa_call(self, row: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.table("qa_calls").upsert(row, pk="call_id")

    def result(self, key: str) -> Any | None:
        """A computed result stored as JSON (e.g. an experiment's weak-to-strong table)."""
        rows = self._rows("select value from results where key = :k", {"k": key})
        return json.loads(rows[0]["value"]) if rows else None

    def write_result(self, key: str, experiment: str, name: str, value: Any) -> None:
        with self.transaction() as db:
            db.table("results").upsert({"key": key, "experiment": experiment, "name": name,
                                        "value": json.dumps(value), "computed_at": iso_timestamp()}, pk="key")

    # -- pairwise judging ----------------------------------------------------------------------
    def finished_pair_judgments(self, experiment: str) -> set[str]:
        return {r["pair_judgment_id"] for r in self._rows(
            "select pair_judgment_id from pair_judgments where experiment = :e", {"e": experiment})}

    def write_pair_judgment(self, judgment: dict[str, Any], verdicts: list[dict[str, Any]]) -> None:
        with self.transaction() as db:
            db.table("pair_judgments").upsert(_with_iso_times(judgment), pk="pair_judgment_id")
            db.table("pair_verdicts").upsert_all(verdicts, pk="verdict_id")

    def pair_rubric_versions(self, experiment: str) -> list[str]:
        """Rubric versions of the experiment's pairwise judgments, most used first."""
        return [r["rubric_version"] for r in self._rows(
            "select rubric_version, count(*) as n from pair_judgments where experiment = :e group by rubric_version "
            "order by n desc", {"e": experiment})]

    def pair_verdict_rows(self, experiment: str, rubric_version: str | None) -> list[dict[str, Any]]:
        """One row per (pair, judge, order, criterion), with the pair's configurations and unit."""
        return self._rows(
            "select j.pair_key || '|' || j.judge as pair_key, j.config_a, j.config_b, "
            "j.scenario_id || '#' || j.repeat as unit, j.judge, j.ord, "
            "v.criterion, v.winner from pair_verdicts v join pair_judgments j using (pair_judgment_id) "
            "where j.experiment = :e and j.rubric_version = :v", {"e": experiment, "v": rubric_version or ""})

    # -- judge audits -------------------------------------------------------------------------
    def audit_call_ids(self, audit_id: str) -> set[str]:
        return {r["call_id"] for r in self._rows("select call_id from audit_calls where audit_id = :a", {"a": audit_id})}

    def audit_calls(self, audit_id: str) -> list[dict[str, Any]]:
        return self._rows("select * from audit_calls where audit_id = :a order by item_id, ord", {"a": audit_id})

    def write_audit_call(self, row: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.table("audit_calls").upsert(row, pk="call_id")

    def write_audit(self, row: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.table("judge_audits").upsert(row, pk="audit_id")

    def latest_audit(self, judge_model: str) -> dict[str, Any] | None:
        """The most recent audit of a judge (by its tag: the host it ran on does not matter)."""
        rows = self._rows("select * from judge_audits where judge = :j order by computed_at desc limit 1",
                          {"j": judge_model.split("@")[0]})
        return rows[0] if rows else None

    # -- the viewer --------------------------------------------------------------------------
    def debate(self, debate_id: str) -> dict[str, Any] | None:
        rows = self._rows("select * from debates where debate_id = :d", {"d": debate_id})
        return rows[0] if rows else None

    def browse_debates(self, *, experiment: str | None = None, config: str | None = None,
                       scenario: str | None = None, category: str | None = None, judge: str | None = None,
                       unscored_only: bool = False, text: str | None = None, limit: int = 50, offset: int = 0,
                       ) -> tuple[list[dict[str, Any]], int]:
        """One page of debates matching every given filter, and how many match in all.

        Every value is a bound parameter; the text filter is a substring search in the turns
        (LIKE with its wildcards escaped, so `%` and `_` in a search mean themselves)."""
        where, params = self._browse_filters(experiment, config, scenario, category, judge, unscored_only, text)
        clause = f" where {' and '.join(where)}" if where else ""
        total = self._rows(f"select count(*) as n from debates d{clause}", params)[0]["n"]
        rows = self._rows(
            "select d.debate_id, d.experiment, d.config, d.kind, d.topology, d.scenario_id, d.category, d.repeat, "
            "d.status, d.verdict_winner, d.turns, d.models, "
            "(select round(avg(j.overall), 2) from judgments j where j.debate_id = d.debate_id "
            " and j.judge not like 'human:%') as llm_overall, "
            "(select count(*) from judgments j where j.debate_id = d.debate_id) as n_judgments "
            f"from debates d{clause} order by d.experiment, d.scenario_id, d.repeat, d.config "
            "limit :limit offset :offset", {**params, "limit": int(limit), "offset": int(offset)})
        return rows, total

    @staticmethod
    def _browse_filters(experiment: str | None, config: str | None, scenario: str | None, category: str | None,
                        judge: str | None, unscored_only: bool, text: str | None) -> tuple[list[str], dict[str, Any]]:
        where: list[str] = []
        params: dict[str, Any] = {}
        for column, value in (("experiment", experiment), ("config", config), ("scenario_id", scenario),
                              ("category", category)):
            if value:
                where.append(f"d.{column} = :{column}")
                params[column] = value
        if judge:
            where.append("exists (select 1 from judgments j where j.debate_id = d.debate_id and j.judge = :judge)")
            params["judge"] = judge
        if unscored_only:
            where.append("exists (select 1 from judgments j where j.debate_id = d.debate_id and j.n_unscored > 0)")
        if text:
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("exists (select 1 from turns t where t.debate_id = d.debate_id "
                         "and t.text like :text escape '\\')")
            params["text"] = f"%{escaped}%"
        return where, params

    def experiment_names(self) -> list[str]:
        return [r["name"] for r in self._rows("select name from experiments order by name")]

    def facet_values(self, experiment: str | None) -> dict[str, list[str]]:
        """Distinct configurations, scenarios, categories and judges (the viewer's filter menus)."""
        params = {"e": experiment}
        scope = " where experiment = :e" if experiment else ""
        out = {}
        for name, column, table in (("config", "config", "debates"), ("scenario", "scenario_id", "debates"),
                                    ("category", "category", "debates"), ("judge", "judge", "judgments")):
            out[name] = [r["v"] for r in self._rows(
                f"select distinct {column} as v from {table}{scope} order by v", params) if r["v"] is not None]
        return out

    def matched_debates(self, debate: dict[str, Any]) -> list[dict[str, Any]]:
        """The same scenario and repeat in the same experiment under the other configurations."""
        return self._rows(
            "select debate_id, config, kind, status from debates where experiment = :e and scenario_id = :s "
            "and repeat = :r and debate_id != :d order by kind, config",
            {"e": debate["experiment"], "s": debate["scenario_id"], "r": debate["repeat"], "d": debate["debate_id"]})

    def judgment_scores(self, debate_id: str) -> list[dict[str, Any]]:
        """Every judgment of a debate with its per-criterion scores, reasons and unscored reasons."""
        judgments = self._rows("select * from judgments where debate_id = :d order by judge like 'human:%', judge, "
                               "rubric_version, sample", {"d": debate_id})
        scores = self._rows("select judgment_id, criterion, score, unscored_reason, rationale, attempts from scores "
                            "where debate_id = :d order by rowid", {"d": debate_id})
        by_judgment: dict[str, list[dict[str, Any]]] = {}
        for s in scores:
            by_judgment.setdefault(s["judgment_id"], []).append(s)
        for j in judgments:
            j["scores"] = by_judgment.get(j["judgment_id"], [])
        return judgments

    def question_ids(self, experiment: str, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """A page of a question experiment's questions, with how many calls answered each correctly."""
        total = self._rows("select count(distinct question_id) as n from qa_calls where experiment = :e",
                           {"e": experiment})[0]["n"]
        rows = self._rows(
            "select question_id, split, max(truth) as truth, count(*) as calls, sum(correct) as correct, "
            "sum(unanswered_reason is not null and unanswered_reason != '') as unanswered "
            "from qa_calls where experiment = :e group by question_id, split order by question_id "
            "limit :limit offset :offset", {"e": experiment, "limit": int(limit), "offset": int(offset)})
        return rows, total

    def experiment_debate_ids(self, experiment: str) -> list[str]:
        """Finished debates of an experiment by id (the rating queue shuffles them per rater)."""
        return [r["debate_id"] for r in self._rows(
            "select debate_id from debates where experiment = :e and status = 'finished' order by debate_id",
            {"e": experiment})]

    def rated_debate_ids(self, experiment: str, judge: str, rubric_version: str) -> set[str]:
        return {r["debate_id"] for r in self._rows(
            "select debate_id from judgments where experiment = :e and judge = :j and rubric_version = :v",
            {"e": experiment, "j": judge, "v": rubric_version})}

    def debate_ids_known(self, debate_ids: list[str]) -> dict[str, str]:
        """Which of these debate ids exist, mapped to their experiment."""
        out: dict[str, str] = {}
        for start in range(0, len(debate_ids), 500):
            chunk = debate_ids[start:start + 500]
            marks = ",".join("?" for _ in chunk)
            out.update({r["debate_id"]: r["experiment"] for r in self._rows(
                f"select debate_id, experiment from debates where debate_id in ({marks})", chunk)})
        return out

    def has_human_judgments(self, experiment: str, rubric_version: str) -> bool:
        return bool(self._rows("select 1 from judgments where experiment = :e and rubric_version = :v "
                               "and judge like 'human:%' limit 1", {"e": experiment, "v": rubric_version}))

    def data_stamp(self, experiment: str) -> tuple[Any, ...]:
        """Changes whenever the experiment's debates, judgments or scores change (cache keys)."""
        row = self._rows(
            "select (select count(*) from debates where experiment = :e) as debates, "
            "(select count(*) from debates where experiment = :e and status = 'finished') as finished, "
            "(select count(*) from judgments where experiment = :e) as judgments, "
            "(select max(finished_at) from judgments where experiment = :e) as last_judgment, "
            "(select max(rowid) from scores) as last_score", {"e": experiment})[0]
        return tuple(row.values())

    def human_score_rows(self, experiment: str | None = None) -> list[dict[str, Any]]:
        """Every human rating as one row per criterion (what `ratings export` writes)."""
        scope = " and s.experiment = :e" if experiment else ""
        return self._rows(
            "select s.debate_id, substr(s.judge, 7) as rater, s.criterion, s.score, s.rationale as reason, "
            f"s.rubric, s.rubric_version from scores s where s.judge like 'human:%'{scope} "
            "order by s.experiment, s.debate_id, s.judge, s.rowid", {"e": experiment})

    # -- writes -----------------------------------------------------------------------------
    def upsert_experiment(self, name: str, *, description: str, kind: str, spec: dict[str, Any],
                          source_file: str) -> None:
        now = iso_timestamp()
        existing = self.experiment(name)
        with self.transaction() as db:
            db.table("experiments").upsert({
                "name": name, "description": description, "kind": kind, "spec": json.dumps(spec),
                "source_file": source_file, "created_at": existing["created_at"] if existing else now,
                "updated_at": now,
            }, pk="name")

    def mark_debate(self, row: dict[str, Any]) -> None:
        """Record a debate's identity and status (running/failed) before or after it runs."""
        self.mark_debates([row])

    def mark_debates(self, rows: list[dict[str, Any]]) -> None:
        """`mark_debate` for many debates in one transaction (an experiment starting them all)."""
        with self.transaction() as db:
            db.table("debates").upsert_all([_with_iso_times(r) for r in rows], pk="debate_id", alter=False)

    def write_finished_debate(self, row: dict[str, Any], turns: list[dict[str, Any]],
                              calls: list[dict[str, Any]]) -> None:
        with self.transaction() as db:
            db.execute("delete from turns where debate_id = ?", [row["debate_id"]])
            db.execute("delete from model_calls where debate_id = ? and stage = 'debate'", [row["debate_id"]])
            db.table("debates").upsert(_with_iso_times(row), pk="debate_id")
            if turns:
                db.table("turns").insert_all(turns, pk="turn_id")
            if calls:
                db.table("model_calls").insert_all(calls, pk="call_id")

    def write_judgment(self, judgment: dict[str, Any], scores: list[dict[str, Any]],
                       calls: list[dict[str, Any]]) -> None:
        with self.transaction() as db:
            db.table("judgments").upsert(_with_iso_times(judgment), pk="judgment_id")
            db.table("scores").upsert_all(scores, pk="score_id")
            if calls:
                db.table("model_calls").upsert_all(calls, pk="call_id")

    def write_judgments(self, items: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
        """Many judgments (with their scores, no model calls) in one transaction: all or nothing."""
        with self.transaction() as db:
            for judgment, scores in items:
                db.table("judgments").upsert(_with_iso_times(judgment), pk="judgment_id")
                db.table("scores").upsert_all(scores, pk="score_id")

    def judgment_scores_by_id(self, judgment_id: str) -> list[dict[str, Any]]:
        return self._rows("select score_id, criterion, score, rationale, unscored_reason from scores "
                          "where judgment_id = :j", {"j": judgment_id})

    def judged_rubric_versions(self) -> list[tuple[str, str, str]]:
        """(experiment, rubric id, rubric version) of every judged experiment."""
        return [(r["experiment"], r["rubric"], r["rubric_version"]) for r in self._rows(
            "select distinct experiment, rubric, rubric_version from judgments where judge not like 'human:%' "
            "order by experiment")]

    def table_rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of one of the store's tables, in insertion order (merging shards)."""
        if table not in TABLES:
            raise KeyError(table)
        return self._rows(f"select * from [{table}] order by rowid")

    def insert_merged(self, rows_by_table: dict[str, list[dict[str, Any]]]) -> None:
        """Rows from other stores, parents first, in one transaction: all or nothing."""
        with self.transaction() as db:
            for table in CREATION_ORDER:
                rows = rows_by_table.get(table)
                if rows:
                    db.table(table).upsert_all(rows, pk=TABLES[table]["pk"], alter=False)

    def write_reliability(self, rows: list[dict[str, Any]]) -> None:
        with self.transaction() as db:
            db.table("reliability").upsert_all([_with_iso_times(r) for r in rows], pk="key")
