"""What `debatelab slurm` keeps in its folder, and the record that ties the folder to one experiment.

DIR/
  slurm.json        the experiment (path, name, sha256), shards, options and every submission
  array.sbatch      one array task per shard (runs on its own: `sbatch --array=0,2 DIR/array.sbatch`)
  merge.sbatch      merges every shard into results.db and writes report/
  shards/K.db       shard K's results; shards/K.done once its run ended cleanly
  checkpoints/K.sqlite  shard K's LangGraph checkpoints (a resubmitted shard resumes from them)
  logs/             SLURM's output per task and the model server's log per task
  results.db, report/   written by the merge job
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field

from debatelab.base import UserError

RECORD = "slurm.json"


class SlurmOptions(BaseModel):
    """Resources and the per-task model server; each resource becomes an `#SBATCH` line only when given."""

    partition: str | None = None
    time: str | None = None
    cpus_per_task: int | None = None
    gpus_per_task: str | None = None
    mem: str | None = None
    account: str | None = None
    sbatch_args: list[str] = Field(default_factory=list)
    serve: str | None = None
    serve_models: list[str] = Field(default_factory=list)
    serve_timeout_s: float = 600.0


class Submission(BaseModel):
    array_job: str
    merge_job: str
    shards: list[int]


class SlurmRecord(BaseModel):
    """slurm.json: what the folder belongs to. A second `submit` checks it before touching anything."""

    experiment: str
    experiment_file: str
    experiment_sha256: str
    shards: int
    python: str
    workdir: str
    options: SlurmOptions
    submissions: list[Submission] = Field(default_factory=list)


def shard_db(out: Path, index: int) -> Path:
    return out / "shards" / f"{index}.db"


def shard_done(out: Path, index: int) -> Path:
    return out / "shards" / f"{index}.done"


def shard_checkpoints(out: Path, index: int) -> Path:
    return out / "checkpoints" / f"{index}.sqlite"


def read_record(out: Path) -> SlurmRecord | None:
    path = out / RECORD
    if not path.exists():
        return None
    try:
        return SlurmRecord.model_validate(json.loads(path.read_text()))
    except (ValueError, OSError) as exc:
        raise UserError(f"{path}: not a debatelab slurm record ({str(exc).splitlines()[0]}); use a new --out "
                        "folder") from None


def write_record(out: Path, record: SlurmRecord) -> None:
    path = out / RECORD
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record.model_dump(), indent=2) + "\n")
    tmp.replace(path)


def require_record(out: Path) -> SlurmRecord:
    record = read_record(out)
    if record is None:
        raise UserError(f"{out} has no {RECORD}: it was not written by `debatelab slurm submit`; give the folder "
                        "you passed as --out")
    return record
