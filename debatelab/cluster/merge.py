"""The merge job: every finished shard into DIR/results.db, then DIR/report/.

Merging is idempotent and reads each shard through a read-only copy, so a resubmission's merge adds
only the new shard's rows and leaves the finished shards' files byte-identical."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from debatelab.base import UserError
from debatelab.cluster.layout import require_record, shard_db, shard_done
from debatelab.judging import recompute_reliability
from debatelab.store import Store, merge_stores
from debatelab.studies import ReportOptions, study_of_experiment


def unfinished_shards(out: Path, shards: int) -> list[int]:
    return [k for k in range(shards) if not shard_done(out, k).exists()]


def merge_shards(out: Path) -> dict[str, Any]:
    record = require_record(out)
    missing = unfinished_shards(out, record.shards)
    if missing:
        raise UserError(f"shard(s) {', '.join(map(str, missing))} of {out} have not finished (no shards/K.done); "
                        f"`debatelab slurm submit` with the same --out resubmits them and a new merge")
    results = out / "results.db"
    counts = merge_stores(results, [shard_db(out, k) for k in range(record.shards)])
    with Store.open(results, create=False) as store:
        note = recompute_reliability(store)
        study = study_of_experiment(store.require_experiment(record.experiment))
        study.report(store, record.experiment, out / "report", ReportOptions())
    return {**counts, "note": note, "results": str(results), "report": str(out / "report")}
