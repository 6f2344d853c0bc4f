"""SLURM: `slurm submit` (array + dependent merge), `slurm status`; `slurm task` and `slurm merge`
are what the written batch scripts call."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from debatelab.cli.common import out

slurm_app = typer.Typer(help="Run an experiment as a SLURM job array with a dependent merge; watch and resume it.",
                        no_args_is_help=True)


def _models(text: str | None) -> list[str]:
    return [m.strip() for m in (text or "").split(",") if m.strip()]


@slurm_app.command("submit")
def submit_cmd(
    experiment: Annotated[Path, typer.Argument(help="experiment YAML file (every task reads it)")],
    shards: Annotated[int, typer.Option("--shards", help="array tasks, one shard each")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder for scripts, shard databases, logs and the report")],
    partition: Annotated[str | None, typer.Option(help="#SBATCH --partition")] = None,
    time: Annotated[str | None, typer.Option(help="#SBATCH --time, e.g. 4:00:00")] = None,
    cpus_per_task: Annotated[int | None, typer.Option(min=1, help="#SBATCH --cpus-per-task")] = None,
    gpus_per_task: Annotated[str | None, typer.Option(help="#SBATCH --gpus-per-task, e.g. 1 or a100:1")] = None,
    mem: Annotated[str | None, typer.Option(help="#SBATCH --mem, e.g. 32G (none written unless given)")] = None,
    account: Annotated[str | None, typer.Option(help="#SBATCH --account")] = None,
    sbatch_arg: Annotated[list[str] | None, typer.Option(help="another #SBATCH line for the array, e.g. "
                                                              "--sbatch-arg=--qos=long (repeatable)")] = None,
    serve: Annotated[str | None, typer.Option(help="start a model server in each task: a command with {port}, e.g. "
                                                   "'vllm serve Qwen/Qwen2.5-7B-Instruct --port {port}'")] = None,
    serve_models: Annotated[str | None, typer.Option(help="TAG,...: the models the task's server serves "
                                                          "(default: every model of the experiment)")] = None,
    serve_timeout: Annotated[float, typer.Option(min=1, help="seconds to wait for the server to answer")] = 600.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="write the scripts, submit nothing")] = False,
) -> None:
    """Submit the experiment as an array (one task per shard) and a merge that runs after it.

    Submitting again into the same --out submits only shards that have not finished, and a new merge."""
    from debatelab.cluster import SlurmOptions, submit

    options = SlurmOptions(partition=partition, time=time, cpus_per_task=cpus_per_task, gpus_per_task=gpus_per_task,
                           mem=mem, account=account, sbatch_args=list(sbatch_arg or []), serve=serve,
                           serve_models=_models(serve_models), serve_timeout_s=serve_timeout)
    result = submit(experiment, out_dir, shards, options, dry_run=dry_run)
    out.print(f"wrote {result.array} and {result.merge}", highlight=False, soft_wrap=True)
    out.print(result.note, highlight=False, soft_wrap=True)
    if result.array_job or result.merge_job:
        out.print(f"array job: {result.array_job or '-'}\nmerge job: {result.merge_job}\n"
                  f"watch with: debatelab slurm status {out_dir}", highlight=False)


@slurm_app.command("status")
def status_cmd(out_dir: Annotated[Path, typer.Argument(help="the folder given to `slurm submit --out`")]) -> None:
    """Each shard's state (scheduler and database: debates, judgments, question calls) and the merge's."""
    from debatelab.cluster import cluster_status

    status = cluster_status(out_dir)
    table = Table(title=f"{status.experiment} in {out_dir}")
    for col in ("shard", "state", "scheduler", "debates finished", "judgments", "question calls"):
        table.add_column(col)
    for s in status.shards:
        table.add_row(str(s.shard), s.state, s.scheduler or "-", *("-" if v is None else str(v)
                                                                 for v in (s.debates, s.judgments, s.questions)))
    out.print(table)
    out.print(f"merge: {status.merge}; report: {out_dir / 'report' / 'report.html' if status.report else 'not yet'}",
              highlight=False, soft_wrap=True)


@slurm_app.command("task", hidden=True)
def task_cmd(out_dir: Annotated[Path, typer.Argument()], index: Annotated[int, typer.Argument()]) -> None:
    """One array task (called by array.sbatch): serve, run shard INDEX, stop the server."""
    from debatelab.cluster import run_task

    code = run_task(out_dir, index)
    if code:
        raise typer.Exit(code)


@slurm_app.command("merge", hidden=True)
def merge_cmd(out_dir: Annotated[Path, typer.Argument()]) -> None:
    """The merge job (called by merge.sbatch): every shard into results.db, then report/."""
    from debatelab.cluster import merge_shards

    result = merge_shards(out_dir)
    out.print(f"merged into {result['results']}: {result['added']} rows added, {result['same']} already there; "
              f"{result['note']}; report in {result['report']}", highlight=False)


COMMANDS: dict[str, object] = {}
GROUPS = {"slurm": slurm_app}
