"""Running experiments: `run` (any experiment, or one shard of it) and `demo` (the README's demo)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from debatelab.base import ExitCode
from debatelab.cli.common import DEFAULT_CHECKPOINTS, DEFAULT_RESULTS, CheckpointsOption, DbOption, console, out

if TYPE_CHECKING:  # the experiment, model and graph layers load only in the commands that use them
    from debatelab.studies import Study

# What analysing a finished run and writing its report import beyond what the run itself loads
# (~2 s here): imported while the run waits for its models (debatelab.runtime.background_imports).
REPORT_MODULES = ("scipy.stats", "debatelab.report")


def resume_command(experiment_file: str, db: Path, checkpoints: Path, shard: str | None = None) -> str:
    return (f"debatelab run {experiment_file} --db {db} --checkpoints {checkpoints}"
            f"{f' --shard {shard}' if shard else ''}")


def run_and_report(experiment_file: str, db: Path, checkpoints: Path, *, quiet: bool, json_out: bool,
                   out_dir: Path | None, shard: str | None = None) -> bool:
    """Run an experiment of any study (and write its report); returns whether every item succeeded."""
    from debatelab.experiments import parse_shard
    from debatelab.runtime import freeze_startup_heap
    from debatelab.store import check_checkpoint_file
    from debatelab.studies import load_experiment, study_named

    part = parse_shard(shard)
    exp = load_experiment(experiment_file)
    study = study_named(exp.kind)  # a loaded experiment's kind is its study's own name
    check_checkpoint_file(checkpoints)
    study.refuse_shard(part, experiment_file)
    freeze_startup_heap()
    resume = resume_command(experiment_file, db, checkpoints, shard)
    try:
        return _run_study(study, exp, db, checkpoints, quiet=quiet, json_out=json_out, out_dir=out_dir, part=part,
                          resume=resume)
    except KeyboardInterrupt:
        console.print(f"interrupted at a clean boundary; finished debates and judgments are saved. Resume with: "
                      f"{escape(resume)}", highlight=False)
        raise SystemExit(ExitCode.INTERRUPTED) from None


def _run_study(study: Study, exp: Any, db: Path, checkpoints: Path, *, quiet: bool, json_out: bool,
               out_dir: Path | None, part: tuple[int, int] | None, resume: str) -> bool:
    from debatelab.runtime import RunProgress, import_in_background
    from debatelab.store import Store

    with Store.open(db) as store:
        with RunProgress(console, enabled=not (quiet or json_out)) as progress:
            progress.after_first_call(lambda: import_in_background(REPORT_MODULES))
            summary = asyncio.run(study.run(exp, store, checkpoints, progress, shard=part))
        results = study.finish(store, exp.name, summary, out_dir)
    if json_out:
        print(json.dumps(study.run_json(summary, results), default=str))
    elif not quiet and results is not None:
        study.print_summary(out, exp.name, results, summary)
    _say_failures(summary.failures, resume)
    return not summary.failed


def _say_failures(failures: Any, resume: str) -> None:
    if failures:
        console.print(f"[red]{escape(failures.summary(resume))}[/red]", highlight=False)


def run_cmd(
    experiment: Annotated[str, typer.Argument(help="experiment YAML path or built-in name (experiments/demo)")],
    db: DbOption = DEFAULT_RESULTS,
    checkpoints: CheckpointsOption = DEFAULT_CHECKPOINTS,
    report: Annotated[Path | None, typer.Option("--report", help="also write the report into this folder")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress display")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print a JSON summary")] = False,
    shard: Annotated[str | None, typer.Option(help="K/N: run only shard K of N (by debate id), e.g. one per "
                                                   "machine; combine the databases with `debatelab merge`")] = None,
) -> None:
    """Run an experiment (debates, then judging); re-running resumes and skips finished work.

    Exits 4 when any item (a debate, judgment, pair, audit item or question) failed; finished work
    is kept, and running the same command again retries what failed."""
    if not run_and_report(experiment, db, checkpoints, quiet=quiet, json_out=json_out, out_dir=report, shard=shard):
        raise typer.Exit(ExitCode.ITEMS_FAILED)


def demo_cmd(
    db: DbOption = DEFAULT_RESULTS,
    checkpoints: CheckpointsOption = DEFAULT_CHECKPOINTS,
    out_dir: Annotated[Path, typer.Option("--out", help="report folder")] = Path("reports/demo"),
) -> None:
    """Run the demo experiment on the embedded model end to end: debates, judging, report."""
    from debatelab.agents import EMBEDDED
    from debatelab.agents.embedded import ENV_HOST, EmbeddedEndpoint
    from debatelab.studies import load_experiment

    experiment_file = "experiments/demo"
    endpoint = None
    if not os.environ.get(ENV_HOST):
        parallel = load_experiment(experiment_file).limit_for(EMBEDDED, True)
        console.print(f"starting the embedded endpoint (SmolLM2-135M, {parallel} slots)...")
        endpoint = EmbeddedEndpoint(parallel=parallel)
        os.environ[ENV_HOST] = endpoint.start()
    try:
        ok = run_and_report(experiment_file, db, checkpoints, quiet=False, json_out=False, out_dir=out_dir)
    finally:
        if endpoint:
            endpoint.stop()
            os.environ.pop(ENV_HOST, None)
    out.print(f"report: {out_dir / 'report.html'} (and report.md); results: {db}", highlight=False)
    if not ok:
        raise typer.Exit(ExitCode.ITEMS_FAILED)



# What this module adds to the `debatelab` app (the package's face registers every group's).
COMMANDS = {"run": run_cmd, "demo": demo_cmd}
