"""The rubric study, simulated: the experiment's configurations, baselines, judges and rubric on
synthetic scenarios; scores drawn from a declared truth, stored through the judging code's own
rows (`judgment_rows`) and analysed by the report's own `analyse`.

The truth model, for judge j's score of criterion k in the debate of configuration c on scenario s
(transcript length L):

    score = means[c] + judges[j] + a_s + length_effect * (log2 L - log2 length[c]) + e

a_s ~ N(0, scenario_sd), e ~ N(0, noise_sd) per criterion, log2 L ~ N(log2 length[c], length_sd)
(`length` is relative: a transcript of 1.0 has 1,000 characters). `means` are the raw population
means on the rubric's scale (length included: the configuration's mean length is part of its
mean). Scores are drawn on the continuous scale (a judge's rounding to whole points is not
modelled).

True values: a configuration's mean is means[c] + the mean judge effect; a group's (baselines,
ensembles, per category) the average over its configurations; a raw difference the difference of
those; a length-controlled difference (an ensemble against the pooled baselines, at equal length)
is means[e] - mean(means[b]) - length_effect * (log2 length[e] - mean(log2 length[b])).
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from debatelab.analysis import analyse
from debatelab.base import UserError
from debatelab.experiments import DebatesExperiment, debate_id_for
from debatelab.judging import JudgmentOutcome, judgment_id_for, judgment_rows
from debatelab.rubric import OVERALL, load_rubric
from debatelab.store import Store
from debatelab.studies.simulation import Interval, StudyOutcome, Test, keyed, load_truth, simulate_many

CATEGORIES = ("simulated-a", "simulated-b", "simulated-c")
INTERVAL_NOTE = ("Intervals: t intervals on per-scenario means (scenarios - 1 degrees of freedom); length-controlled "
                 "differences: scenario fixed effects on log2 length, CR2 errors with Bell-McCaffrey degrees of "
                 "freedom. Tests: the p the report prints after Holm (over the metrics of the paper's table; over "
                 "the configurations against the baselines).")


class RubricTruth(BaseModel):
    """What a simulated rubric study draws its scores from (see the module's docstring)."""

    model_config = ConfigDict(extra="forbid")

    scenarios: int = Field(ge=2, le=100_000, description="scenarios per simulated study")
    means: dict[str, float] = Field(description="population mean score per configuration (by name)")
    scenario_sd: float = Field(default=0.5, ge=0, le=100)
    noise_sd: float = Field(default=0.8, ge=0, le=100)
    judges: list[float] | dict[str, float] = Field(default_factory=lambda: [0.0])
    length: dict[str, float] = Field(default_factory=dict, description="relative transcript length (geometric "
                                                                        "mean) per configuration; 1.0 if absent")
    length_sd: float = Field(default=0.0, ge=0, le=10, description="spread of log2 length within a configuration")
    length_effect: float = Field(default=0.0, ge=-100, le=100, description="score per doubling of length")


def simulate_rubric(exp: DebatesExperiment, truth_path: Path, *, studies: int, seed: int) -> dict[str, Any]:
    truth = load_truth(RubricTruth, truth_path)
    source = str(truth_path)
    if exp.judging is None:
        raise UserError(f"{exp.source}: field 'judging': the rubric simulator needs the experiment's judges and rubric")
    rubric = load_rubric(exp.judging.rubric)
    configs = exp.debate_configs()
    names = [cfg.name for _, cfg in configs]
    missing = [n for n in names if n not in truth.means]
    if missing:
        raise UserError(f"{source}: field 'means': no mean for configuration {missing[0]!r}; declare one for each of "
                        f"the experiment's configurations ({', '.join(names)})")
    unknown = sorted(set(truth.means) - set(names))
    if unknown:
        raise UserError(f"{source}: field 'means': {unknown[0]!r} is not a configuration of the experiment "
                        f"({', '.join(names)})")
    judges = [j.label for j in exp.judging.judge_specs()]
    if isinstance(truth.judges, dict):
        judge_effect = [float(truth.judges.get(j, 0.0)) for j in judges]
    elif len(truth.judges) != len(judges):
        raise UserError(f"{source}: field 'judges': {len(truth.judges)} values for the experiment's {len(judges)} "
                        f"judges ({', '.join(judges)}); give one each, in the experiment's order")
    else:
        judge_effect = [float(x) for x in truth.judges]
    kinds = {cfg.name: kind for kind, cfg in configs}
    log_len = {n: math.log2(truth.length.get(n, 1.0)) for n in names}
    if any(v <= 0 for v in truth.length.values()):
        raise UserError(f"{source}: field 'length': a relative length is above 0")
    mean_judge = float(np.mean(judge_effect))
    scenario_ids = [f"sim-{i:04d}" for i in range(truth.scenarios)]
    category = {s: CATEGORIES[i % len(CATEGORIES)] for i, s in enumerate(scenario_ids)}
    debates = [(kind, cfg, s, r, debate_id_for(exp.name, cfg, s, r)) for kind, cfg in configs for s in scenario_ids
               for r in range(exp.repeats)]
    criteria = [c.id for c in rubric.criteria]

    def true_value(figure: str, keys: dict[str, Any]) -> float | None:
        def group(kind: str) -> float:
            return float(np.mean([truth.means[n] for n in names if kinds[n] == kind])) + mean_judge

        if figure == "mean":
            if "configuration" in keys:
                return truth.means[keys["configuration"]] + mean_judge
            return group(keys["group"])
        if figure == "difference":
            first, second = keys.get("first"), keys.get("second")
            a = group("ensemble") if first == "ensemble" else truth.means.get(str(first), math.nan) + mean_judge
            b = group("baseline") if second == "baseline" else truth.means.get(str(second), math.nan) + mean_judge
            return None if math.isnan(a - b) else a - b
        if figure == "controlled_delta":
            base = [n for n in names if kinds[n] == "baseline"]
            e = keys["configuration"]
            return (truth.means[e] - float(np.mean([truth.means[b] for b in base]))
                    - truth.length_effect * (log_len[e] - float(np.mean([log_len[b] for b in base]))))
        return None

    with tempfile.TemporaryDirectory(prefix="debatelab-simulate-") as tmp:
        template = Path(tmp) / "template.db"
        with Store.open(template) as store:
            store.upsert_experiment(exp.name, description="simulated", kind=exp.kind,
                                    spec={"simulated": True, "truth": truth.model_dump()}, source_file="")

        def one(i: int) -> StudyOutcome:
            rng = np.random.default_rng([seed, i])
            effect = dict(zip(scenario_ids, rng.normal(0, truth.scenario_sd, len(scenario_ids)), strict=True))
            path = Path(tmp) / "study.db"
            shutil.copyfile(template, path)
            with Store.open(path) as store:
                judged = []
                for kind, cfg, s, r, debate_id in debates:
                    ll = log_len[cfg.name] + rng.normal(0, truth.length_sd)
                    chars = max(1, int(round(1000 * 2 ** ll)))
                    store.write_finished_debate(
                        {"debate_id": debate_id, "experiment": exp.name, "config": cfg.name, "kind": kind,
                         "topology": cfg.topology, "scenario_id": s, "scenario_set": "simulated",
                         "category": category[s], "motion": f"Simulated motion {s}", "repeat": r,
                         "status": "finished", "turns": 1, "calls": 1, "input_tokens": chars // 4,
                         "output_tokens": chars // 4, "models": cfg.name},
                        [{"turn_id": f"{debate_id}:0", "debate_id": debate_id, "idx": 0, "round": 1,
                          "role": "simulated", "agent": "simulated", "kind": "argument", "text": "x" * chars}], [])
                    base = (truth.means[cfg.name] + effect[s]
                            + truth.length_effect * (ll - log_len[cfg.name]))
                    for j, judge in enumerate(judges):
                        drawn = base + judge_effect[j] + rng.normal(0, truth.noise_sd, len(criteria))
                        scores = {c: float(x) for c, x in zip(criteria, drawn, strict=True)}
                        outcome = JudgmentOutcome(
                            judgment_id=judgment_id_for(debate_id, rubric, judge, 0), debate_id=debate_id,
                            rubric=rubric.id, rubric_version=rubric.version, judge=judge, sample=0, permuted=False,
                            speaker_order=[], overall=rubric.overall_score(scores),  # type: ignore[arg-type]
                            status="ok", criteria=[{"criterion": c, "score": v, "unscored_reason": None,
                                                    "rationale": "simulated", "attempts": 1}
                                                   for c, v in scores.items()])
                        judgment, score_rows, _ = judgment_rows(exp.name, outcome, "simulated")
                        judged.append((judgment, score_rows))
                store.write_judgments(judged)
                results = analyse(store, exp.name)
            path.unlink()
            return outcome_of(results)

        return {"kind": exp.kind, "experiment": exp.name, "seed": seed,
                "design": {"scenarios": truth.scenarios, "repeats": exp.repeats, "configurations": names,
                           "judges": judges, "rubric": rubric.label, "criteria": criteria},
                **simulate_many(one, studies, true_value, note=INTERVAL_NOTE)}


def outcome_of(results: dict[str, Any]) -> StudyOutcome:
    """The intervals and tests a rubric report prints, read from its analysis (report.json's content)."""
    out = StudyOutcome()
    for kind, metrics in (results.get("groups") or {}).items():
        for metric, s in metrics.items():
            out.intervals.append(Interval("mean", (("group", kind), ("criterion", metric)), s["mean"], s["ci_low"],
                                          s["ci_high"]))
    for e in results.get("per_config", []):
        s = e[OVERALL]
        out.intervals.append(Interval("mean", (("configuration", e["config"]), ("criterion", OVERALL)), s["mean"],
                                      s["ci_low"], s["ci_high"]))
        vs = e.get("vs_baseline")
        if vs:
            out.tests.append(Test("per_config", (("first", e["config"]), ("second", "baseline")), vs.get("p_holm")))
    for c in results.get("per_category", []):
        for kind in ("baseline", "ensemble"):
            s = c[kind]
            if s.get("n"):
                out.intervals.append(Interval("mean", (("category", c["category"]), ("group", kind),
                                                       ("criterion", OVERALL)), s["mean"], s["ci_low"], s["ci_high"]))
    for row in results.get("length_controlled", []):
        out.intervals.append(Interval("controlled_delta", keyed(row, ("configuration", "criterion")),
                                      row["controlled_delta"], row["ci_low"], row["ci_high"]))
    for row in results.get("paper_table", []):
        out.tests.append(Test("paper_table", (("criterion", row["metric"]), ("first", "ensemble"),
                                              ("second", "baseline")), row.get("p_holm")))
    return out
