"""Judging: `judge` (a transcript, or an experiment's debates, absolute or pairwise), `audit-judge`
and `rubric lint`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from debatelab.base import ExitCode, UserError
from debatelab.cli.common import DEFAULT_CHECKPOINTS, DEFAULT_RESULTS, CheckpointsOption, console, out

if TYPE_CHECKING:  # the judging, graph and model layers load only in the commands that use them
    from debatelab.agents import ModelSpec
    from debatelab.judging import JudgmentOutcome
    from debatelab.rubric import Rubric

rubric_app = typer.Typer(help="Rubric tools.", no_args_is_help=True)


@rubric_app.command("lint")
def rubric_lint(path: Annotated[str, typer.Argument(help="rubric YAML path or shipped rubric id (alignment-7)")]) -> None:
    """Check a rubric: scale, weights, anchors (missing, overlapping, out of scale), duplicate ids."""
    from debatelab.rubric import lint_rubric, load_rubric

    problems = lint_rubric(path)
    if problems:
        raise UserError("\n".join(problems))
    rubric = load_rubric(path)
    out.print(f"{escape(path)}: ok ({rubric.label}, {len(rubric.criteria)} criteria, scale "
              f"{rubric.scale.min}-{rubric.scale.max})", highlight=False)


def print_judgment(o: JudgmentOutcome, rubric: Rubric) -> None:
    table = Table(title=f"{o.debate_id} · judge {o.judge} · sample {o.sample}"
                        f"{' (permuted)' if o.permuted else ''} · {rubric.label}")
    for col in ("criterion", "score", "reasons / unscored reason"):
        table.add_column(col)
    for c in o.criteria:
        score = "[red]unscored[/red]" if c["score"] is None else str(c["score"])
        table.add_row(c["criterion"], score, escape((c["unscored_reason"] or c["rationale"] or "")[:160]))
    overall = "unscored (a criterion is unscored)" if o.overall is None else f"{o.overall:.2f}"
    table.caption = f"overall: {overall}"
    console.print(table)


def print_dry_run(transcript: Any, rubric: Rubric, prompt_version: str) -> None:
    """The judge's exact messages for the first criterion, as a model would receive them."""
    from debatelab.graphs import criterion_messages, judge_view

    view, nonce, _order = judge_view(transcript.model_dump(), anonymise=True)
    messages = criterion_messages(view, nonce, rubric, rubric.criteria[0].model_dump(), prompt_version)
    for m in messages:
        print(f"===== {m.type} message (criterion 1 of {len(rubric.criteria)}: {rubric.criteria[0].id}) =====")
        print(m.content)


def _warn(lines: list[str]) -> None:
    for line in lines:
        console.print(f"[yellow]warning:[/yellow] {escape(line)}", highlight=False)


def judge_cmd(
    transcript: Annotated[Path | None, typer.Option(help="a transcript JSON (`debatelab debate --json`)")] = None,
    experiment: Annotated[str | None, typer.Option(help="judge every unjudged debate of this experiment")] = None,
    rubric: Annotated[str, typer.Option(help="rubric id or YAML path")] = "alignment-7",
    judge: Annotated[list[str] | None, typer.Option(help="judge model TAG[@HOST] (repeatable)")] = None,
    samples: Annotated[int, typer.Option(min=1, max=20, help="samples per judge")] = 1,
    permute: Annotated[bool, typer.Option(help="shuffle speaker order in samples after the first")] = True,
    strict: Annotated[bool, typer.Option(help="refuse a judge whose model family also debated")] = False,
    fail_on_unscored: Annotated[bool, typer.Option(help="exit non-zero if every criterion is unscored")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print the judgments as JSON")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="with --transcript: print the judge's messages for criterion 1; call no model")] = False,
    pairwise: Annotated[bool, typer.Option(
        "--pairwise", help="with --experiment: compare matched debates in both orders, per criterion")] = False,
    against: Annotated[str, typer.Option(help="--pairwise: 'baseline' (matched baselines) or 'all'")] = "baseline",
    oversight: Annotated[bool, typer.Option(
        "--oversight", help="with --experiment: judge its stored oversight transcripts (e.g. the imported NYU "
                            "debates) as a judge of their protocol, beside the human judges")] = False,
    n: Annotated[int | None, typer.Option("--n", help="--oversight: judge the first N debates in a seeded order "
                                                      "(default: all)")] = None,
    prompt_version: Annotated[str | None, typer.Option(
        help="the judge prompt's layout: 1 (criterion last), 2 (cache-first), 3 (cache-first, the answer "
             "as compact JSON) or 4 (as 3, the score alone: no reasons); default: the library's default "
             "layout")] = None,
    criteria_at_once: Annotated[str, typer.Option(
        help="criteria scored at once: a number, or 'all' for one call per judgment")] = "1",
    checkpoints: CheckpointsOption = DEFAULT_CHECKPOINTS,
    db: Annotated[Path, typer.Option(help="results database (with --experiment)")] = DEFAULT_RESULTS,
) -> None:
    """Score a transcript (or an experiment's debates) with a rubric, per criterion, never inventing a score."""
    from debatelab.judging import parse_judges
    from debatelab.rubric import DEFAULT_PROMPT_VERSION, judge_layout, load_rubric
    from debatelab.rubric import criteria_at_once as parse_at_once

    prompt_version = prompt_version or DEFAULT_PROMPT_VERSION
    if (transcript is None) == (experiment is None):
        raise UserError("give exactly one of --transcript FILE or --experiment NAME")
    if dry_run and transcript is None:
        raise UserError("--dry-run needs --transcript FILE")
    if pairwise and experiment is None:
        raise UserError("--pairwise needs --experiment NAME (it compares an experiment's debates)")
    if oversight:
        if experiment is None or transcript is not None or pairwise:
            raise UserError("--oversight needs --experiment NAME (and neither --transcript nor --pairwise)")
        _judge_oversight_transcripts(experiment, parse_judges(judge or ["smollm2:135m@embedded"]), n=n, db=db,
                                     json_out=json_out)
        return
    if against not in ("baseline", "all"):
        raise UserError(f"--against {against!r}: use baseline or all")
    judge_layout(prompt_version, "--prompt-version")
    at_once = parse_at_once(criteria_at_once, "--criteria-at-once")
    layout = {"prompt_version": prompt_version, "criteria_at_once": at_once}
    if transcript is not None:
        _judge_transcript(transcript, load_rubric(rubric), judge, samples=samples, permute=permute, strict=strict,
                          fail_on_unscored=fail_on_unscored, json_out=json_out, checkpoints=checkpoints,
                          dry_run=dry_run, **layout)
        return
    assert experiment is not None
    specs = parse_judges(judge or ["smollm2:135m@embedded"])
    _judge_experiment(experiment, load_rubric(rubric), specs, samples=samples, permute=permute, strict=strict,
                      db=db, checkpoints=checkpoints, json_out=json_out, pairwise=pairwise, against=against, **layout)


def _judge_oversight_transcripts(experiment: str, judges: list[ModelSpec], *, n: int | None, db: Path,
                                 json_out: bool) -> None:
    from debatelab.experiments import judge_stored_transcripts
    from debatelab.store import Store

    with Store.open(db, create=False) as store:
        done = asyncio.run(judge_stored_transcripts(store, experiment, judges, n=n))
        result = store.result(f"{experiment}:oversight") or {}
    rows = result.get("judge_agreement", [])
    if json_out:
        print(json.dumps({"judged": [d.__dict__ for d in done], "judge_agreement": rows}, indent=2))
        return
    for d in done:
        out.print(f"{d.judge}: {d.judged_now} debate(s) judged now, {d.already} already judged, {d.unanswered} "
                  f"unanswered", highlight=False)
    from debatelab.report import oversight_agreement_table

    if rows:
        out.print(oversight_agreement_table(rows).rich())
    out.print(f"report: debatelab report {experiment} --db {db}", highlight=False)


def _judge_transcript(path: Path, rubric: Rubric, judges: list[str] | None, *, samples: int, permute: bool,
                      strict: bool, fail_on_unscored: bool, json_out: bool, checkpoints: Path, dry_run: bool,
                      prompt_version: str | None = None, criteria_at_once: int | str = 1) -> None:
    from debatelab.judging import (
        judge_transcript,
        parse_judges,
        read_transcript,
        transcript_family_warnings,
        transcript_reliability,
    )
    from debatelab.rubric import DEFAULT_PROMPT_VERSION
    from debatelab.runtime import freeze_startup_heap

    prompt_version = prompt_version or DEFAULT_PROMPT_VERSION
    transcript = read_transcript(path)
    if dry_run:
        print_dry_run(transcript, rubric, prompt_version)
        return
    specs = parse_judges(judges or ["smollm2:135m@embedded"])
    _warn(transcript_family_warnings(specs, transcript, strict=strict))
    freeze_startup_heap()
    outcomes = asyncio.run(judge_transcript(transcript, rubric, specs, samples=samples, permute=permute,
                                            checkpoints=checkpoints, prompt_version=prompt_version,
                                            criteria_at_once=criteria_at_once))
    for o in outcomes:
        print_judgment(o, rubric)
    if json_out:
        print(json.dumps({
            "debate_id": transcript.debate_id, "rubric": rubric.id, "rubric_version": rubric.version,
            "judgments": [o.as_json() for o in outcomes], "reliability": transcript_reliability(outcomes, rubric),
        }, indent=2))
    if all(c["score"] is None for o in outcomes for c in o.criteria):
        console.print("[red]every criterion is unscored[/red]; see the reasons above")
        if fail_on_unscored:
            raise UserError("every criterion is unscored (--fail-on-unscored)")


def _judge_experiment(name: str, rubric: Rubric, specs: list[Any], *, samples: int, permute: bool, strict: bool,
                      db: Path, checkpoints: Path, json_out: bool, pairwise: bool, against: str,
                      prompt_version: str | None = None, criteria_at_once: int | str = 1) -> None:
    from debatelab.analysis import pairwise_ratings
    from debatelab.judging import experiment_family_warnings, judge_experiment
    from debatelab.report import pairwise_rating_tables
    from debatelab.rubric import DEFAULT_PROMPT_VERSION
    from debatelab.runtime import Failures, RunProgress, freeze_startup_heap
    from debatelab.store import Store

    prompt_version = prompt_version or DEFAULT_PROMPT_VERSION
    failures = Failures()
    with Store.open(db, create=False) as store:
        store.require_experiment(name)
        _warn(experiment_family_warnings(store, name, specs, strict=strict))
        freeze_startup_heap()
        with RunProgress(console, enabled=not json_out) as progress:
            result = asyncio.run(judge_experiment(
                store, name, rubric, specs, samples=samples, permute=permute, checkpoints=checkpoints,
                progress=progress, failures=failures, pairwise=pairwise, against=against,  # type: ignore[arg-type]
                prompt_version=prompt_version, criteria_at_once=criteria_at_once))
        ratings = pairwise_ratings(store, name, rubric.version) if pairwise else None
    judges = ", ".join(s.label for s in specs)
    if json_out:
        print(json.dumps({"experiment": name, "rubric": rubric.id, "rubric_version": rubric.version, **result,
                          **({"ratings": ratings} if ratings is not None else {}),
                          "failed": failures.as_json()}, default=str))
    elif ratings is not None:
        for table in pairwise_rating_tables(ratings):
            out.print(table.rich())
        out.print(f"pairwise: {result['done']} new, {result['skipped']} already judged, {result['failed']} failed "
                  f"({rubric.label}, against {against}, judges {judges})", highlight=False)
    else:
        out.print(f"judged {result['done']} new, {result['skipped']} already judged, {result['failed']} failed "
                  f"({rubric.label}, judges {judges})", highlight=False)
    if failures:
        console.print(f"[red]{escape(failures.summary(_resume_judge(name, rubric, specs, db, checkpoints, pairwise)))}"
                      f"[/red]", highlight=False)
        raise typer.Exit(ExitCode.ITEMS_FAILED)


def _resume_judge(name: str, rubric: Rubric, specs: list[Any], db: Path, checkpoints: Path, pairwise: bool) -> str:
    judges = " ".join(f"--judge {s.label}" for s in specs)
    return (f"debatelab judge --experiment {name} --rubric {rubric.id} {judges} --db {db} --checkpoints {checkpoints}"
            f"{' --pairwise' if pairwise else ''}")


def audit_judge_cmd(
    judge: Annotated[str, typer.Option(help="judge model TAG[@HOST]")] = "smollm2:135m@embedded",
    pair_set: Annotated[str, typer.Option("--set", help="built-in set (factual-summary-pairs) or a JSONL file of "
                                                        "prompt, response_a, response_b, label")] = "factual-summary-pairs",
    n: Annotated[int | None, typer.Option(min=1, help="items to sample (default: all); each is judged twice")] = None,
    seed: Annotated[int, typer.Option(help="which items a sample of --n takes")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="print the audit as JSON")] = False,
    db: Annotated[Path, typer.Option(help="results database the audit is stored in")] = DEFAULT_RESULTS,
) -> None:
    """Audit a judge on labelled pairs in both orders: accuracy, position consistency and biases."""
    from debatelab.agents import make_chat_model, require_models, resolve_host
    from debatelab.judging import audit_line, parse_judges, run_audit
    from debatelab.runtime import Failures, RunProgress
    from debatelab.scenarios import load_pair_set
    from debatelab.store import Store

    spec = parse_judges([judge])[0]
    pairs = load_pair_set(pair_set).sample(n, seed)
    require_models([spec], resolve_host)
    failures = Failures()
    with Store.open(db) as store:
        with RunProgress(console, enabled=not json_out) as progress:
            audit = asyncio.run(run_audit(store, spec, make_chat_model(spec), pairs, seed=seed, progress=progress,
                                          failures=failures))
        line = audit_line(store.latest_audit(spec.model), spec.model)
    if json_out:
        print(json.dumps({**audit, "failed": failures.as_json()}, indent=2, default=str))
    else:
        table = Table(title=f"audit of {spec.label} on {pairs.name} ({len(pairs.items)} items x 2 orders)")
        table.add_column("figure")
        table.add_column("value")
        for key, value in audit["metrics"].items():
            if key != "accuracy_by_category":
                table.add_row(key, "-" if value is None else str(value))
        out.print(table)
        out.print(line, highlight=False, markup=False)
    if failures:
        resume = f"debatelab audit-judge --judge {judge} --set {pair_set}{f' --n {n}' if n else ''} --db {db}"
        console.print(f"[red]{escape(failures.summary(resume))}[/red]", highlight=False)
        raise typer.Exit(ExitCode.ITEMS_FAILED)



# What this module adds to the `debatelab` app (the package's face registers every group's).
COMMANDS = {"judge": judge_cmd, "audit-judge": audit_judge_cmd}
GROUPS = {"rubric": rubric_app}
