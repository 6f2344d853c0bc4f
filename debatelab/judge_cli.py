"""The `debatelab judge` command's work: load, preflight, judge each (judge, sample), report."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from debatelab.agents.chat_model import make_chat_model, resolve_host
from debatelab.agents.model_spec import ModelSpec, family_of
from debatelab.agents.preflight import require_models
from debatelab.base.errors import UserError
from debatelab.base.user_files import read_user_json
from debatelab.checkpoints import open_checkpointer
from debatelab.graphs.judge_view import judge_view
from debatelab.graphs.judging import criterion_messages
from debatelab.heap import freeze_startup_heap
from debatelab.judge_runner import JudgmentOutcome, family_overlap_warning, load_transcript, run_judgment
from debatelab.reliability import ScoreRow, reliability_summary
from debatelab.rubric.schema import Rubric, load_rubric

err = Console(stderr=True)
out = Console()


def parse_judges(judges: list[str]) -> list[ModelSpec]:
    specs = []
    for j in judges:
        try:
            specs.append(ModelSpec.parse(j, temperature=0.0, seed=0))
        except ValueError as exc:
            raise UserError(f"--judge {j!r}: {exc}") from None
    return specs


def check_families(specs: list[ModelSpec], transcripts: list[Any], strict: bool) -> None:
    for spec in specs:
        for t in transcripts:
            warning = family_overlap_warning(spec, t)
            if warning and strict:
                raise UserError(warning.replace(" (use --strict to refuse)", "; --strict refuses this judge"))
            if warning:
                err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
                break


def rows_of(outcomes: list[JudgmentOutcome]) -> list[ScoreRow]:
    return [ScoreRow(o.debate_id, o.judge, o.sample, o.permuted, c["criterion"], c["score"])
            for o in outcomes for c in o.criteria]


def print_judgment(o: JudgmentOutcome, rubric: Rubric) -> None:
    table = Table(title=f"{o.debate_id} · judge {o.judge} · sample {o.sample}"
                        f"{' (permuted)' if o.permuted else ''} · {rubric.label}")
    for col in ("criterion", "score", "reasons / unscored reason"):
        table.add_column(col)
    for c in o.criteria:
        score = "[red]unscored[/red]" if c["score"] is None else str(c["score"])
        table.add_row(c["criterion"], score, (c["unscored_reason"] or c["rationale"] or "")[:160])
    overall = "unscored (a criterion is unscored)" if o.overall is None else f"{o.overall:.2f}"
    table.caption = f"overall: {overall}"
    err.print(table)


def print_dry_run(transcript: Any, rubric: Rubric, *, anonymise: bool = True) -> None:
    """The judge's exact messages for the first criterion, as a model would receive them."""
    view, nonce, _order = judge_view(transcript.model_dump(), anonymise=anonymise)
    messages = criterion_messages(view, nonce, rubric, rubric.criteria[0].model_dump())
    for m in messages:
        print(f"===== {m.type} message (criterion 1 of {len(rubric.criteria)}: {rubric.criteria[0].id}) =====")
        print(m.content)


def judge_transcript_file(path: Path, rubric_name: str, judges: list[str], *, samples: int, permute: bool,
                          strict: bool, fail_on_unscored: bool, json_out: bool, checkpoints: Path,
                          dry_run: bool = False) -> None:
    transcript = load_transcript(read_user_json(path), str(path))
    rubric = load_rubric(rubric_name)
    if dry_run:
        print_dry_run(transcript, rubric)
        return
    specs = parse_judges(judges)
    check_families(specs, [transcript], strict)
    require_models(specs, resolve_host)

    async def go() -> list[JudgmentOutcome]:
        results = []
        async with open_checkpointer(checkpoints) as saver:
            for spec in specs:
                model = make_chat_model(spec)
                for sample in range(samples):
                    results.append(await run_judgment(transcript, rubric, spec, model, sample=sample,
                                                      permute=permute, checkpointer=saver))
        return results

    freeze_startup_heap()
    outcomes = asyncio.run(go())
    for o in outcomes:
        print_judgment(o, rubric)
    rel = reliability_summary(rows_of(outcomes), list(range(rubric.scale.min, rubric.scale.max + 1)))
    if json_out:
        print(json.dumps({
            "debate_id": transcript.debate_id, "rubric": rubric.id, "rubric_version": rubric.version,
            "judgments": [o.as_json() for o in outcomes], "reliability": rel,
        }, indent=2))
    all_unscored = all(c["score"] is None for o in outcomes for c in o.criteria)
    if all_unscored:
        err.print("[red]every criterion is unscored[/red]; see the reasons above")
        if fail_on_unscored:
            raise UserError("every criterion is unscored (--fail-on-unscored)")


def print_pairwise(ratings: dict[str, Any]) -> None:
    """Bradley-Terry strengths [CI], win/tie/loss against the baselines, consistency and n."""
    for criterion, r in ratings.items():
        consistency = "-" if r["consistency"] is None else f"{100 * r['consistency']:.0f}%"
        table = Table(title=f"pairwise · {criterion} · {r['pairs']} pairs, {r['unscored']} unscored, "
                            f"consistency {consistency}")
        for col in ("configuration", "Bradley-Terry log-strength [95% CI]", "vs baselines: win / tie / loss (n)"):
            table.add_column(col)
        for config, s in sorted(r["strengths"].items(), key=lambda kv: -kv[1]["log_strength"]):
            ci = s["ci95"]
            vs = r["vs_baselines"].get(config)
            table.add_row(config, f"{s['log_strength']:+.2f}" + (f" [{ci[0]:+.2f}, {ci[1]:+.2f}]" if ci else ""),
                          f"{vs['win']:.2f} / {vs['tie']:.2f} / {vs['loss']:.2f} ({vs['n']})" if vs else "-")
        out.print(table)


def judge_experiment(name: str, rubric_name: str, judges: list[str], *, samples: int, permute: bool,
                     strict: bool, db: Path, checkpoints: Path, json_out: bool, pairwise: bool = False,
                     against: str = "baseline") -> None:
    """Judge every stored debate of an experiment that this (rubric, judge, sample) has not judged;
    with `pairwise`, compare matched debates in both orders instead."""
    from debatelab.judging_phase import host_limiters, judge_stored
    from debatelab.pairwise_phase import judge_pairs, pairwise_ratings
    from debatelab.progress import RunProgress
    from debatelab.store import Store

    store = Store.open(db, create=False)
    store.require_experiment(name)
    rubric = load_rubric(rubric_name)
    specs = parse_judges(judges)
    families = {family_of(m) for m in store.debate_models(name)}
    for spec in specs:
        if spec.family in families:
            message = f"judge {spec.label} is of the model family '{spec.family}' that also debated in {name}"
            if strict:
                raise UserError(message + "; --strict refuses this judge")
            err.print(f"[yellow]warning:[/yellow] {message}; its scores may favour its own family", highlight=False)
    require_models(specs, resolve_host)

    limiter_for = host_limiters(lambda url, embedded: 2 if embedded else 1)

    async def go() -> dict[str, int]:
        async with open_checkpointer(checkpoints) as saver:
            with RunProgress(err, enabled=not json_out) as progress:
                if pairwise:
                    return await judge_pairs(store, name, rubric, specs, saver=saver, model_factory=make_chat_model,
                                             limiter_for=limiter_for, progress=progress, against=against)
                return await judge_stored(store, name, rubric, specs, samples=samples, permute=permute, saver=saver,
                                          limiter_for=limiter_for, progress=progress)

    freeze_startup_heap()
    result = asyncio.run(go())
    if pairwise:
        ratings = pairwise_ratings(store, name, rubric.version)
        if json_out:
            print(json.dumps({"experiment": name, "rubric": rubric.id, "rubric_version": rubric.version, **result,
                              "ratings": ratings}, default=str))
        else:
            print_pairwise(ratings)
            out.print(f"pairwise: {result['done']} new, {result['skipped']} already judged, {result['failed']} failed "
                      f"({rubric.label}, against {against}, judges {', '.join(s.label for s in specs)})")
        return
    if json_out:
        print(json.dumps({"experiment": name, "rubric": rubric.id, "rubric_version": rubric.version, **result}))
    else:
        out.print(f"judged {result['done']} new, {result['skipped']} already judged, {result['failed']} failed "
                  f"({rubric.label}, judges {', '.join(s.label for s in specs)})")
