"""Results in the store: `status`, `report`, `export`, `merge` and `import-paper`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from debatelab.base import UserError, safe_file_name
from debatelab.cli.common import DEFAULT_RESULTS, DbOption, out


def report_cmd(
    experiment: Annotated[str, typer.Argument(help="experiment name (see `debatelab status`)")],
    db: DbOption = DEFAULT_RESULTS,
    out_dir: Annotated[Path | None, typer.Option("--out", help="folder (default reports/EXPERIMENT)")] = None,
    permutation: Annotated[bool, typer.Option(help="paired permutation test instead of Wilcoxon")] = False,
    rubric_version: Annotated[str | None, typer.Option(help="rubric version to report (default: most used)")] = None,
) -> None:
    """Write Markdown + self-contained HTML (tables, plots, transcripts) from the store. Calls no model."""
    from debatelab.store import Store
    from debatelab.studies import ReportOptions, study_of_experiment

    target = out_dir or Path("reports") / experiment
    options = ReportOptions(method="permutation" if permutation else "wilcoxon", rubric_version=rubric_version)
    with Store.open(db, create=False) as store:
        study = study_of_experiment(store.require_experiment(experiment))
        results = study.report(store, experiment, target, options)
    if results is not None:
        study.print_summary(out, experiment, results)
    out.print(f"report: {target / 'report.html'} and {target / 'report.md'}", highlight=False)


def status_cmd(db: DbOption = DEFAULT_RESULTS) -> None:
    """List experiments with their debates done/running/failed and judgments."""
    from debatelab.store import Store

    with Store.open(db, create=False) as store:
        rows = store.experiment_overview()
    table = Table(title=f"experiments in {db}")
    for col in ("experiment", "kind", "debates finished", "running/interrupted", "failed", "judgments",
                "unscored criteria", "question calls"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["kind"], str(r["finished"]), str(r["running"]), str(r["failed"]),
                      str(r["judgments"]), str(r["unscored"]), str(r["qa"]))
    out.print(table)


def merge_cmd(
    out_db: Annotated[Path, typer.Argument(help="the database to merge into (created if missing)")],
    inputs: Annotated[list[Path], typer.Argument(help="shard databases written by `debatelab run --shard K/N`")],
) -> None:
    """Merge shard databases into one (idempotent; inputs are never changed; a conflict writes nothing)."""
    from debatelab.judging import recompute_reliability
    from debatelab.store import Store, merge_stores

    result = merge_stores(out_db, inputs)
    with Store.open(out_db, create=False) as store:
        note = recompute_reliability(store)
    out.print(f"merged {len(inputs)} database(s) into {out_db}: {result['added']} rows added, {result['same']} already "
              f"there; {note}", highlight=False)


DATASETS = ("michael2023", "khan2024")


def import_cmd(
    dataset: Annotated[str, typer.Argument(help="a released study: michael2023 (the NYU debates) or khan2024 (Khan "
                                                "et al.'s human judgments)")],
    location: Annotated[Path | None, typer.Argument(help="michael2023: the released pub/ folder, the repository or "
                                                         "the metadata file (default: the copy shipped with "
                                                         "debatelab); khan2024: the dataset's CSV or zip")] = None,
    db: DbOption = DEFAULT_RESULTS,
    every_room: Annotated[bool, typer.Option("--all", help="michael2023: analyse every judged room, not only the "
                                                           "paper's (includedInPaper)")] = False,
    experiment_id: Annotated[list[str] | None, typer.Option(
        "--experiment-id", help="khan2024: keep only this experiment (repeatable; 8 is the paper's test set, 9 its "
                                "naive baseline)")] = None,
    exclude: Annotated[list[str] | None, typer.Option(
        help="khan2024: apply this documented exclusion (repeatable: 8_v0, swap_bug, context_required, "
             "test_phase_judges; 'none' for none; default: the first three, as the authors did)")] = None,
) -> None:
    """Import a released study as an oversight experiment and compute its tables (no model call).

    michael2023: the NYU debates (Michael et al. 2023, CC-BY 4.0). Without LOCATION the room
    metadata shipped with debatelab is read: every judged room's live human verdict, no
    transcripts. `debatelab report michael2023` then reproduces the paper's table.
    khan2024: the human-judgment file of ucl-dark/llm_debate (data/llm_debate_dataset.zip)."""
    from debatelab.experiments import import_michael2023
    from debatelab.store import Store

    if dataset not in DATASETS:
        raise UserError(f"unknown dataset {dataset!r}; one of: {', '.join(DATASETS)}")
    if dataset == "khan2024":
        _import_khan(location, db, experiment_id, exclude)
        return
    with Store.open(db) as store:
        n = import_michael2023(store, location, every_room=every_room)
    for line in n["skipped"]:
        out.print(f"skipped: {line}", highlight=False, markup=False)
    out.print(f"imported {n['judged']} judged rooms ({n['in_paper']} in the paper) of {n['rooms']} from {n['file']} "
              f"as experiment 'michael2023' into {db}; not imported: {n['unfinished']} unfinished, "
              f"{n['without_live_verdict']} ended without a live judge, {len(n['skipped'])} skipped lines or files. "
              + (f"{n['transcripts']} transcripts read (speeches, quotes, the judge's beliefs)." if n["transcripts"]
                 else "The metadata holds verdicts, not transcripts: pass the released pub/ folder for those."),
              highlight=False, markup=False)


def _import_khan(location: Path | None, db: Path, experiments: list[str] | None, exclude: list[str] | None) -> None:
    from debatelab.experiments import import_khan2024
    from debatelab.scenarios import KHAN2024_DEFAULT_EXCLUSIONS, KHAN2024_EXCLUSIONS, check_exclusions
    from debatelab.store import Store

    if location is None:
        raise UserError("khan2024: give the dataset's CSV or zip (ucl-dark/llm_debate, data/llm_debate_dataset.zip; "
                        "debatelab ships none of it)")
    names = [] if exclude == ["none"] else check_exclusions(exclude) if exclude else KHAN2024_DEFAULT_EXCLUSIONS
    with Store.open(db) as store:
        n = import_khan2024(store, location, experiments=experiments, exclusions=tuple(names))
    for line in n["skipped"]:
        out.print(f"skipped: {line}", highlight=False, markup=False, soft_wrap=True)
    dropped = "; ".join(f"{count} by {KHAN2024_EXCLUSIONS[name][0] if name in KHAN2024_EXCLUSIONS else name}"
                        for name, count in n["excluded"].items()) or "none"
    out.print(f"imported {n['kept']} of {n['rows']} judgments ({n['trials']} debates, {n['transcripts']} with "
              f"transcripts) from {n['file']} as experiment 'khan2024' into {db}; excluded: {dropped}; "
              f"{len(n['skipped'])} rows skipped.", highlight=False, markup=False, soft_wrap=True)


def import_paper_cmd(
    file: Annotated[Path, typer.Argument(help="the study's results JSON (e.g. full_experiment_results.json)")],
    db: DbOption = DEFAULT_RESULTS,
    name: Annotated[str, typer.Option(help="experiment name to import as")] = "paper-2509.00091",
) -> None:
    """Import the study's released results as an experiment, to judge and report like our own."""
    from debatelab.store import Store, import_paper

    with Store.open(db) as store:
        n = import_paper(file, store, name)
    out.print(f"imported {n['debates']} debates ({n['baseline']} baseline, {n['ensemble']} ensemble, "
              f"{n['truncated_turns']} truncated turns) as experiment '{name}' into {db}", highlight=False)


def export_cmd(
    experiment: Annotated[str, typer.Argument(help="experiment name")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl, csv, or parquet (a data set: a folder)")] = "jsonl",
    db: DbOption = DEFAULT_RESULTS,
    output: Annotated[Path | None, typer.Option(
        "--out", help="file for jsonl/csv (default EXPERIMENT.FORMAT); folder for parquet (default EXPERIMENT)")] = None,
    license_: Annotated[str, typer.Option(
        "--license", help="parquet: the data set's licence for its card (e.g. cc-by-4.0; default other)")] = "other",
) -> None:
    """Write an experiment for sharing: debates with turns and scores (jsonl), one row per score
    (csv), or a data set of parquet tables with a card (parquet)."""
    from debatelab.store import Store, export_experiment

    if fmt not in ("jsonl", "csv", "parquet"):
        raise UserError(f"--format {fmt!r}: use jsonl, csv or parquet")
    if fmt == "parquet":
        from debatelab.results import export_dataset, open_results

        folder = output or Path(safe_file_name(experiment))
        with open_results(db) as results:
            counts = export_dataset(results, experiment, folder, license=license_)
        tables = ", ".join(f"{t} {n:,}" for t, n in counts.items())
        out.print(f"wrote {len(counts)} parquet tables ({tables}) and a data-set card to {folder}/", highlight=False)
        return
    target = output or Path(f"{safe_file_name(experiment)}.{fmt}")
    with Store.open(db, create=False) as store:
        n = export_experiment(store, experiment, fmt, target)
    out.print(f"wrote {n} rows to {target}", highlight=False)



# What this module adds to the `debatelab` app (the package's face registers every group's).
COMMANDS = {"report": report_cmd, "status": status_cmd, "merge": merge_cmd, "import": import_cmd,
            "import-paper": import_paper_cmd, "export": export_cmd}
