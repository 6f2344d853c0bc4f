"""`debatelab slurm submit`: write the scripts, then submit the shards still to do and a merge after them.

A folder belongs to one experiment file (its sha256 is recorded). Submitting into it again submits
only shards without `shards/K.done` that SLURM does not already hold, cancels a merge left waiting on
an earlier array (it could never start), and submits a new merge: nothing is submitted twice and no
finished shard is touched."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from debatelab.base import UserError, sha256_of
from debatelab.cluster import scheduler
from debatelab.cluster.layout import (
    SlurmOptions,
    SlurmRecord,
    Submission,
    read_record,
    write_record,
)
from debatelab.cluster.merge import unfinished_shards
from debatelab.cluster.scripts import job_names, write_scripts
from debatelab.studies import load_experiment, study_named


@dataclass(frozen=True)
class SubmitResult:
    out: Path
    array: Path
    merge: Path
    shards: list[int]  # submitted now (all, for a dry run)
    array_job: str | None
    merge_job: str | None
    note: str


def _plain(path: Path, what: str) -> None:
    if any(ch.isspace() for ch in str(path)) or "%" in str(path):
        raise UserError(f"{what} {path} has a space or '%' in it, which #SBATCH lines cannot hold; choose a path "
                        "without them")


def _record_for(experiment_file: Path, shards: int, out: Path, options: SlurmOptions) -> SlurmRecord:
    if shards < 1:
        raise UserError(f"--shards {shards}: give the number of array tasks, 1 or more")
    if not experiment_file.is_file():
        raise UserError(f"experiment file {experiment_file} not found; slurm submit needs the YAML file itself, "
                        "which every task reads")
    exp = load_experiment(str(experiment_file))
    study_named(exp.kind).refuse_shard((1, shards), str(experiment_file))
    _plain(out.resolve(), "--out")
    _plain(Path.cwd(), "the working directory")
    record = SlurmRecord(experiment=exp.name, experiment_file=str(experiment_file.resolve()),
                         experiment_sha256=sha256_of(experiment_file), shards=shards, python=sys.executable,
                         workdir=str(Path.cwd().resolve()), options=options)
    old = read_record(out) if out.exists() else None
    if out.exists() and old is None and any(out.iterdir()):
        raise UserError(f"--out {out} exists and was not written by `debatelab slurm submit`; give a new folder")
    if old is not None:
        if (old.experiment_file, old.experiment_sha256) != (record.experiment_file, record.experiment_sha256):
            raise UserError(f"--out {out} holds a run of {old.experiment_file} (experiment {old.experiment!r}, sha256 "
                            f"{old.experiment_sha256[:12]}), not of this file as it is now; give a new --out")
        if old.shards != shards:
            raise UserError(f"--out {out} was split into {old.shards} shards; submit again with --shards {old.shards}")
        record.submissions = old.submissions
    return record


def submit(experiment_file: Path, out: Path, shards: int, options: SlurmOptions, *, dry_run: bool) -> SubmitResult:
    record = _record_for(experiment_file, shards, out, options)
    if not dry_run:
        scheduler.require_sbatch()
        array_name, merge_name = job_names(out)
        held = {t.array_index for t in scheduler.queued(array_name) if t.array_index is not None}
    out.mkdir(parents=True, exist_ok=True)
    array, merge = write_scripts(out, record)
    if dry_run:
        write_record(out, record)
        return SubmitResult(out, array, merge, list(range(shards)), None, None,
                            f"dry run: nothing submitted. Submit with `sbatch {array}`, then "
                            f"`sbatch --dependency=afterok:JOBID {merge}`")
    unfinished = unfinished_shards(out, shards)
    todo = [k for k in unfinished if k not in held]
    waiting = sorted(k for k in held if k in unfinished)
    if waiting:
        write_record(out, record)
        raise UserError(f"shard(s) {', '.join(map(str, waiting))} are still queued or running (squeue --name "
                        f"{array_name}); wait for them, or scancel them, then submit again")
    for stale in scheduler.queued(merge_name):  # a merge after a failed or partial array never starts
        scheduler.scancel(stale.job_id)
    array_job = None
    if todo:
        array_job = scheduler.sbatch(array, f"--array={','.join(map(str, todo))}")
        record.submissions.append(Submission(array_job=array_job, merge_job="", shards=todo))
        write_record(out, record)  # the array is recorded even if the merge is refused
    merge_job = scheduler.sbatch(merge, *([f"--dependency=afterok:{array_job}"] if array_job else []))
    if record.submissions and record.submissions[-1].array_job == array_job and array_job:
        record.submissions[-1].merge_job = merge_job
    else:
        record.submissions.append(Submission(array_job="", merge_job=merge_job, shards=[]))
    write_record(out, record)
    note = (f"submitted shard(s) {', '.join(map(str, todo))} as array job {array_job} and the merge as job {merge_job}"
            if todo else f"every shard had finished; submitted the merge alone as job {merge_job}")
    return SubmitResult(out, array, merge, todo, array_job, merge_job, note)
