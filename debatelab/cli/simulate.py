"""`debatelab simulate`: plan a study and check its statistics on outcomes drawn from a declared truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from debatelab.base import UserError
from debatelab.cli.common import out

HELP = (
    "Run the experiment's own design and analysis on outcomes drawn from a declared truth.\n\n"
    "No model is called, no endpoint starts and no preflight runs: the models the experiment names need not "
    "exist. Each simulated study is stored and analysed by the same code as a real run's report. sim.json "
    "holds, for every interval the report prints, its true value, coverage and mean width; for every "
    "comparison its power (on the Holm-corrected p); and the family-wise error of every family whose true "
    "differences are all zero.\n\n"
    "Plan a human study with it: declare the accuracies you expect (e.g. debate 0.76, naive 0.48), your judges "
    "and the questions per passage, and raise `questions` in the truth file until the comparison's power "
    "reaches 0.8. docs/explanations/simulation.md describes the truth files (oversight and rubric) and how "
    "true values are computed.\n\n"
    "Example: debatelab simulate experiments/oversight-demo --truth truth.yaml --studies 500 --seed 0 "
    "--out sim.json"
)


def simulate_cmd(
    experiment: Annotated[Path, typer.Argument(help="an experiment file (kind: oversight, or a rubric study)")],
    truth: Annotated[Path, typer.Option("--truth", help="the declared truth (YAML)")],
    studies: Annotated[int, typer.Option("--studies", min=1, max=100_000, help="simulated studies")] = 500,
    seed: Annotated[int, typer.Option("--seed", help="seed of the draws")] = 0,
    out_file: Annotated[Path, typer.Option("--out", help="where to write the tally (JSON)")] = Path("sim.json"),
) -> None:
    from debatelab.studies import load_experiment, study_for

    if out_file.is_dir():  # before the simulation, not after it
        raise UserError(f"--out {out_file} is a directory; pass a file name such as sim.json")
    exp = load_experiment(experiment)
    study = study_for(exp.kind, {"kind": exp.kind}, str(experiment))
    result = study.simulate(exp, truth, studies=studies, seed=seed)
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(json.dumps(result, indent=2), encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {out_file} ({exc.strerror}); pass another --out") from None
    covered = [e["coverage"] for e in result["estimates"] if e["coverage"] is not None]
    fwer = ", ".join(f"{f['family']} {f['rate']}" for f in result["family_wise_error"]) or "n/a (no null family)"
    out.print(f"{studies} simulated studies in {result['seconds']} s: {len(result['estimates'])} intervals, "
              f"coverage {min(covered, default=0):.3f}-{max(covered, default=0):.3f} (mean "
              f"{result['mean_coverage']}); family-wise error {fwer}", highlight=False)
    powered = [t for t in result["tests"] if t["true_difference"]]
    for t in sorted(powered, key=lambda t: -t["power"])[:6]:
        where = t.get("judge") or t.get("criterion") or "all"
        out.print(f"  power {t['power']:.2f}: {t['comparison']} ({where}), true difference "
                  f"{t['true_difference']:+.3f}", highlight=False)
    out.print(f"written: {out_file}", highlight=False)


simulate_cmd.__doc__ = HELP
COMMANDS = {"simulate": simulate_cmd}
