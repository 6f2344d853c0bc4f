"""The two batch scripts: an array with one task per shard, and the merge that waits for it.

Both call back into debatelab (`slurm task`, `slurm merge`) with the Python that submitted them, so a
task runs the same installation, and the scripts stay short enough to read before submitting."""

from __future__ import annotations

import hashlib
import shlex
from pathlib import Path

from debatelab.cluster.layout import SlurmOptions, SlurmRecord


def job_names(out: Path) -> tuple[str, str]:
    """The array's and the merge's job names: unique to the folder, so `squeue --name` finds this
    folder's tasks (also those submitted by hand) and no one else's."""
    tag = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:8]
    return f"debatelab-{tag}", f"debatelab-merge-{tag}"


def _resource_lines(options: SlurmOptions, *, task: bool) -> list[str]:
    given = [("partition", options.partition), ("time", options.time), ("account", options.account)]
    if task:  # the merge reads SQLite files: it needs no GPU, no extra cores, no memory request
        given += [("cpus-per-task", options.cpus_per_task), ("gpus-per-task", options.gpus_per_task),
                  ("mem", options.mem)]
    lines = [f"#SBATCH --{name}={value}" for name, value in given if value is not None]
    if task:
        lines += [f"#SBATCH {arg}" for arg in options.sbatch_args]
    return lines


def _script(out: Path, record: SlurmRecord, *, what: str, name: str, output: str, extra: list[str],
            call: list[str], task: bool) -> str:
    return "\n".join([
        "#!/bin/bash",
        f"# debatelab: {what}",
        *extra[:1],
        f"#SBATCH --job-name={name}",
        *extra[1:],
        f"#SBATCH --output={out.resolve() / 'logs' / output}",
        f"#SBATCH --chdir={record.workdir}",
        *_resource_lines(record.options, task=task),
        "",
        f"exec {shlex.join([record.python, '-m', 'debatelab', 'slurm', *call[:-1], str(out.resolve())])}{call[-1]}",
        "",
    ])


def array_script(out: Path, record: SlurmRecord) -> str:
    return _script(out, record, what=f"experiment {record.experiment} in {record.shards} shard(s), one array task each.",
                   name=job_names(out)[0], output="shard-%a.out",
                   extra=["# Run some shards alone: sbatch --array=K[,K...] THIS_FILE (K from 0)",
                          f"#SBATCH --array=0-{record.shards - 1}"],
                   call=["task", ' "$SLURM_ARRAY_TASK_ID"'], task=True)


def merge_script(out: Path, record: SlurmRecord) -> str:
    return _script(out, record, what=f"merge the shards of {record.experiment} into results.db and write report/.",
                   name=job_names(out)[1], output="merge.out", extra=[], call=["merge", ""], task=False)


def write_scripts(out: Path, record: SlurmRecord) -> tuple[Path, Path]:
    for sub in ("shards", "checkpoints", "logs"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    array, merge = out / "array.sbatch", out / "merge.sbatch"
    array.write_text(array_script(out, record))
    merge.write_text(merge_script(out, record))
    return array, merge
