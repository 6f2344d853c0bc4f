"""`debatelab merge OUT.db IN.db...`: the shards of an experiment, run on many machines, as one store.

Every row is keyed by a stable id (debates by experiment, configuration fingerprint, scenario and
repeat; judgments by debate, rubric version, judge and sample), so shards never collide unless
they ran the same debate, and merging is a union: a row already present and equal is skipped
(merging twice changes nothing); a row present with different content is a conflict, reported
with its table, id and column, and nothing is written. A finished debate wins over the same
debate failed or interrupted elsewhere.

Inputs are read-only: a shard written by an older debatelab is upgraded in a temporary copy, never
in place (the machine that wrote it must still open it). The output is written all or nothing: a
new OUT is built in a temporary file beside it and moved into place only when the merge succeeded,
so a refused merge leaves no file behind. Reliability is recomputed by the caller from the merged
scores (`debatelab.judging`), since each shard computed it on its own part.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from debatelab.base import UserError
from debatelab.store.database import StoreNeedsUpgrade
from debatelab.store.schema import CREATION_ORDER, TABLES, TIMESTAMP_COLUMNS
from debatelab.store.store import Store

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


def _read_only_input(path: Path, scratch: Path) -> Store:
    """An input store to read from, never changed: a file of an older schema is upgraded in a copy."""
    try:
        return Store.open(path, create=False, read_only=True)
    except StoreNeedsUpgrade:
        copy = scratch / f"input-{len(list(scratch.iterdir()))}-{path.name}"
        for suffix in ("", "-wal"):  # a committed write may still be in the WAL
            if Path(f"{path}{suffix}").exists():
                shutil.copyfile(f"{path}{suffix}", f"{copy}{suffix}")
        return Store.open(copy, create=False)


def merge_stores(out_path: Path, inputs: list[Path]) -> dict[str, Any]:
    """Merge `inputs` into `out_path` (created if missing); returns counts. All or nothing."""
    if not inputs:
        raise UserError("merge: give the output database and at least one input database")
    resolved = {p.resolve() for p in inputs}
    if out_path.resolve() in resolved:
        raise UserError(f"merge: {out_path} is also an input; write the merge into a new file")
    for p in inputs:
        if not p.exists():
            raise UserError(f"merge: input {p} not found; nothing was written")
    out_dir = out_path.resolve().parent
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".debatelab-merge-") as tmp, ExitStack() as stack:
        scratch = Path(tmp)
        sources = [(p, stack.enter_context(_read_only_input(p, scratch))) for p in inputs]
        # A new output is built beside its final place and moved there only on success.
        fresh = not out_path.exists()
        target_path = scratch / "merged.db" if fresh else out_path
        with Store.open(target_path) as target:
            rows_by_table, added, same, kept_first = _plan(target, sources)
            target.insert_rows(rows_by_table)
        if fresh:
            os.replace(target_path, out_path)
    return {"added": added, "same": same, "kept_first": kept_first}


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
