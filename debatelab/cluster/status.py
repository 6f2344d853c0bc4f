"""`debatelab slurm status`: each shard's state from the scheduler (where it answers) and from its
own database, and the merge's. Shard databases are opened read-only: looking never changes them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from debatelab.base import UserError
from debatelab.cluster import scheduler
from debatelab.cluster.layout import require_record, shard_db, shard_done
from debatelab.cluster.scripts import job_names
from debatelab.store import Store


@dataclass(frozen=True)
class ShardState:
    shard: int
    state: str  # finished, queued, running, stopped (ran, did not finish), not submitted
    scheduler: str  # what SLURM says, or "" where it does not know the task
    debates: int | None
    judgments: int | None
    questions: int | None


@dataclass(frozen=True)
class ClusterStatus:
    experiment: str
    shards: list[ShardState]
    merge: str
    report: bool


def _counts(db: Path, experiment: str) -> tuple[int | None, int | None, int | None]:
    if not db.exists():
        return None, None, None
    try:
        with Store.open(db, read_only=True) as store:
            row = next((r for r in store.experiment_overview() if r["name"] == experiment), None)
    except UserError:
        return None, None, None
    if row is None:
        return 0, 0, 0
    return row["finished"], row["judgments"], row["qa"]


def _scheduler_view(name: str) -> dict[str, str] | None:
    try:
        return {t.job_id: t.state for t in scheduler.queued(name)}
    except UserError:
        return None  # no squeue here: the databases still answer


def cluster_status(out: Path) -> ClusterStatus:
    record = require_record(out)
    array_name, merge_name = job_names(out)
    queue = _scheduler_view(array_name)
    merges = _scheduler_view(merge_name)
    submitted = {k for s in record.submissions for k in s.shards}
    accounting = scheduler.finished_states([s.array_job for s in record.submissions if s.array_job]) or {}
    shards = []
    for k in range(record.shards):
        live = next((state for job, state in (queue or {}).items() if job.endswith(f"_{k}")), "")
        past = next((state for job, state in accounting.items() if job.endswith(f"_{k}")), "")
        if shard_done(out, k).exists():
            state = "finished"
        elif live:
            state = "running" if live == "RUNNING" else "queued"
        elif shard_db(out, k).exists() or k in submitted:
            state = "stopped"
        else:
            state = "not submitted"
        shards.append(ShardState(k, state, live or past, *_counts(shard_db(out, k), record.experiment)))
    if merges:
        merge = ", ".join(f"job {job} {state}" for job, state in merges.items())
    elif (out / "report" / "report.json").exists():
        merge = "done"
    else:
        merge = "not queued" if merges is not None else "unknown (no squeue here)"
    return ClusterStatus(record.experiment, shards, merge, (out / "report" / "report.json").exists())
