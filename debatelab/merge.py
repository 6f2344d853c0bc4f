"""`debatelab merge OUT.db IN.db...`: the shards of an experiment, run on many machines, as one store.

Every row is keyed by a stable id (debates by experiment, configuration fingerprint, scenario and
repeat; judgments by debate, rubric version, judge and sample), so shards never collide unless
they ran the same debate, and merging is a union: a row already present and equal is skipped
(merging twice changes nothing); a row present with different content is a conflict, reported
with its table, id and column, and nothing is written. A finished debate wins over the same
debate failed or interrupted elsewhere. Reliability is recomputed from the merged scores rather
than copied, since each shard computed it on its own part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from debatelab.base.errors import UserError
from debatelab.store import CREATION_ORDER, TABLES, TIMESTAMP_COLUMNS, Store

RECOMPUTED = {"reliability"}
IGNORED_COLUMNS = set(TIMESTAMP_COLUMNS) | {"source_file", "duration_s"}  # when and how fast, not what
# A judge audit is a property of the judge, run again by each shard: the first one is kept.
FIRST_WINS = {"judge_audits", "audit_calls"}


def _same(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """The first column (other than timestamps) where two rows differ, or None."""
    for column in a:
        if column not in IGNORED_COLUMNS and a[column] != b.get(column):
            return column
    return None


def merge_stores(out_path: Path, inputs: list[Path]) -> dict[str, Any]:
    if not inputs:
        raise UserError("merge: give the output database and at least one input database")
    resolved = {p.resolve() for p in inputs}
    if out_path.resolve() in resolved:
        raise UserError(f"merge: {out_path} is also an input; write the merge into a new file")
    sources = [(p, Store.open(p, create=False)) for p in inputs]  # refuses missing or foreign files
    target = Store.open(out_path)
    try:
        rows_by_table, added, same, kept_first = _plan(target, sources)
        target.insert_merged(rows_by_table)
        note = _recompute_reliability(target)
    finally:
        target.close()
        for _, store in sources:
            store.close()
    return {"added": added, "same": same, "kept_first": kept_first, "reliability": note}


def _plan(target: Store, sources: list[tuple[Path, Store]]) -> tuple[dict[str, list[dict[str, Any]]], int, int, int]:
    rows_by_table: dict[str, list[dict[str, Any]]] = {}
    added = same = kept_first = 0
    for table in CREATION_ORDER:
        if table in RECOMPUTED:
            continue
        pk = TABLES[table]["pk"]
        known: dict[Any, tuple[str, dict[str, Any]]] = {r[pk]: (str(target.path), r) for r in target.table_rows(table)}
        chosen: dict[Any, dict[str, Any]] = {}
        for path, store in sources:
            for row in store.table_rows(table):
                key = row[pk]
                if key not in known:
                    known[key] = (str(path), row)
                    chosen[key] = row
                    continue
                where, other = known[key]
                column = _same(row, other)
                if column is None:
                    same += 1
                elif table == "debates" and row["status"] == "finished" and other["status"] != "finished":
                    known[key] = (str(path), row)
                    chosen[key] = row
                elif table == "debates" and other["status"] == "finished" and row["status"] != "finished":
                    same += 1
                elif table in FIRST_WINS:
                    kept_first += 1
                else:
                    raise UserError(
                        f"merge: {path}: table {table}, row {key!r}: column {column} differs from {where} "
                        f"({str(row[column])[:40]!r} vs {str(other[column])[:40]!r}); the two databases ran the same "
                        f"item differently (different code or settings). Nothing was written; merge the others, or "
                        f"leave one of these out")
        rows_by_table[table] = list(chosen.values())
        added += len(chosen)
    return rows_by_table, added, same, kept_first


def _recompute_reliability(store: Store) -> str:
    from debatelab.judging_phase import update_reliability
    from debatelab.rubric.schema import RUBRICS_DIR, load_rubric

    done, skipped = [], []
    for experiment, rubric_id, version in store.judged_rubric_versions():
        if (RUBRICS_DIR / f"{rubric_id}.yaml").is_file() and load_rubric(rubric_id).version == version:
            update_reliability(store, experiment, load_rubric(rubric_id))
            done.append(f"{experiment} ({rubric_id})")
        else:
            skipped.append(f"{experiment} ({rubric_id}@{version})")
    note = f"reliability recomputed for {', '.join(done)}" if done else "no judgments to compute reliability on"
    if skipped:
        note += (f"; not for {', '.join(skipped)} (rubric not shipped in this version): "
                 f"`debatelab judge --experiment NAME --rubric FILE` recomputes it")
    return note
