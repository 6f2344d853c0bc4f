"""Statistics a reader can defend: means with n and unscored counts, bootstrap intervals, paired
tests on matched scenario/repeat with Holm correction, and effect sizes.

A debate's score on a criterion is the mean over judges and samples of the scored judgments; a
debate with no scored judgment is *unscored* and counted as such, never filled in. The unit of
analysis is the scenario: intervals are t intervals on per-scenario means (repeats and
configurations of a group averaged first), and comparisons pair a group's mean with the other's on
the same scenario. Effect sizes below `MIN_EFFECT_PAIRS` pairs are "too few" (null with a
reason), never a finding. scipy does the statistics; nothing here re-implements a test.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from debatelab.analysis.clustered import cluster_mean
from debatelab.analysis.judge_diagnostics import position_diagnostics, rubric_diagnostics
from debatelab.analysis.length_control import MIN_SCENARIOS, length_controlled_rows
from debatelab.base import ensemble_of
from debatelab.rubric import OVERALL, shipped_rubric
from debatelab.store import Store


@dataclass
class GroupSummary:
    mean: float | None
    n: int
    unscored: int
    ci_low: float | None
    ci_high: float | None
    scenarios: int | None = None
    method: str | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PairedTest:
    metric: str
    a_label: str
    b_label: str
    n_pairs: int
    mean_a: float | None
    mean_b: float | None
    mean_diff: float | None
    gain_pct: float | None
    p_value: float | None
    p_holm: float | None
    test: str
    cohens_dz: float | None
    rank_biserial: float | None
    note: str = ""
    effect_size_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


JudgeKind = Literal["llm", "human", "all"]


def _of_kind(frame: pd.DataFrame, judges: JudgeKind) -> pd.DataFrame:
    if judges == "all" or frame.empty:
        return frame
    human = frame["judge"].str.startswith("human:")
    return frame[human] if judges == "human" else frame[~human]


def load_frames(store: Store, experiment: str, rubric_version: str | None = None,
                judges: JudgeKind = "llm", prompt_version: str | None = None) -> dict[str, Any]:
    """Debates, per-debate scores (wide) and costs of one experiment, for one rubric version and one
    judge prompt layout (the most used unless given; judgments of another layout are a different
    measurement and are never averaged in).

    `judges` keeps LLM judges (the default: the tables a study publishes), human raters
    (`human:<rater>`), or both; people and models are never silently averaged together."""
    frames = store.analysis_frames(experiment)
    planned = planned_debates(store, experiment)
    if planned is not None:  # the debates the current spec plans; an earlier spec's never enter a table
        frames = {k: f[f.debate_id.isin(planned)] if "debate_id" in f else f for k, f in frames.items()}
    debates, calls = frames["debates"], frames["calls"]
    judgments = _of_kind(frames["judgments"], judges)
    versions: list[str] = []
    layouts: list[str] = []
    if not judgments.empty:
        counts = judgments.groupby("rubric_version").size().sort_values(ascending=False)
        versions = list(counts.index)
        rubric_version = rubric_version or versions[0]
        judgments = judgments[judgments.rubric_version == rubric_version]
        human = judgments.judge.str.startswith("human:")
        filled = judgments.prompt_version.fillna("1")  # LLM judgments stored before prompt versions: "1"
        judgments = judgments.assign(prompt_version=judgments.prompt_version.where(human, filled))
        llm = judgments[~human]
        if not llm.empty:
            layouts = list(llm.groupby("prompt_version").size().sort_values(ascending=False).index)
            prompt_version = prompt_version or layouts[0]
            judgments = judgments[human | (judgments.prompt_version == prompt_version)]
    scores = store.scores_frame(experiment, rubric_version, judges, prompt_version if layouts else None)
    if planned is not None:
        scores = scores[scores.debate_id.isin(planned)]
    return {"debates": debates, "judgments": judgments, "scores": scores, "calls": calls,
            "rubric_version": rubric_version, "rubric_versions": versions,
            "prompt_version": prompt_version if layouts else None, "prompt_versions": layouts,
            "rubric": judgments["rubric"].iloc[0] if not judgments.empty else None}


def scale_bounds(frames: dict[str, Any]) -> tuple[float, float]:
    """The rubric's scale (a shipped rubric's), else the range of the scores themselves: an interval
    never leaves the scale it estimates."""
    rubric = shipped_rubric(frames.get("rubric"))
    if rubric is not None:
        return float(rubric.scale.min), float(rubric.scale.max)
    scores = frames["scores"]["score"].dropna() if not frames["scores"].empty else pd.Series(dtype=float)
    return (float(scores.min()), float(scores.max())) if len(scores) else (-math.inf, math.inf)


def planned_debates(store: Store, experiment: str) -> set[str] | None:
    """The debate ids the experiment's stored spec plans; None for a store from before plans were
    recorded (or an imported study), read whole as it always was."""
    try:
        spec = json.loads((store.experiment(experiment) or {}).get("spec") or "{}")
    except ValueError:
        return None
    planned = spec.get("planned_debates") if isinstance(spec, dict) else None
    return set(map(str, planned)) if isinstance(planned, list) else None


def criteria_order(scores: pd.DataFrame) -> list[str]:
    return [str(c) for c in scores["criterion"].unique()] if not scores.empty else []


def debate_table(frames: dict[str, Any]) -> pd.DataFrame:
    """One row per finished debate: metadata, `overall` and one column per criterion (NaN = unscored)."""
    debates = frames["debates"]
    if debates.empty:
        return debates
    table = debates[debates.status == "finished"].set_index("debate_id")
    judgments, scores = frames["judgments"], frames["scores"]
    if not judgments.empty:
        table[OVERALL] = judgments.groupby("debate_id")["overall"].mean()
    else:
        table[OVERALL] = np.nan
    if not scores.empty:
        wide = scores.pivot_table(index="debate_id", columns="criterion", values="score", aggfunc="mean")
        for crit in criteria_order(scores):
            table[crit] = wide[crit] if crit in wide else np.nan
    table["judged"] = table.index.isin(judgments["debate_id"]) if not judgments.empty else False
    return table.reset_index()


BCA_MAX_N = 1000


def bootstrap_ci(values: np.ndarray, confidence: float = 0.95, seed: int = 0) -> tuple[float | None, float | None]:
    """Bootstrap interval of the mean; None below 2 values.

    BCa up to 1,000 values (its jackknife is quadratic in n: at 10,000 debates it took seconds
    and gigabytes); above that the percentile interval, which BCa approaches for large n anyway.
    """
    from scipy import stats  # on first use: importing scipy costs every command ~1.5 s
    if len(values) < 2 or np.all(values == values[0]):
        return (None, None) if len(values) < 2 else (float(values[0]), float(values[0]))
    methods = ("BCa", "percentile") if len(values) <= BCA_MAX_N else ("percentile",)
    for method in methods:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.bootstrap((values,), np.mean, confidence_level=confidence,
                                  n_resamples=2000 if len(values) <= BCA_MAX_N else 1000,
                                  method=method, rng=np.random.default_rng(seed), batch=250)
        lo, hi = res.confidence_interval
        if np.isfinite(lo) and np.isfinite(hi):
            return float(lo), float(hi)
    return None, None


def summarise(series: pd.Series, *, with_ci: bool = True, scenarios: pd.Series | None = None,
              bounds: tuple[float, float] = (-math.inf, math.inf)) -> GroupSummary:
    """Mean of the scored debates, n and unscored. With `scenarios` (the debates' scenario ids) the
    unit is the scenario: the interval is a t interval (scenarios - 1 degrees of freedom) on
    per-scenario means, so repeats and several configurations of one scenario are not counted as
    independent; without it, a bootstrap over debates."""
    values = series.to_numpy(dtype=float)
    mask = ~np.isnan(values)
    scored = values[mask]
    mean = float(scored.mean()) if len(scored) else None
    flat = "the data had no spread: the interval is the point" if len(scored) > 1 and np.all(scored == scored[0]) \
        else None
    if scenarios is None:
        lo, hi = bootstrap_ci(scored) if with_ci else (None, None)
        return GroupSummary(mean, int(len(scored)), int((~mask).sum()), lo, hi, note=flat if with_ci else None)
    per = pd.Series(scored).groupby(scenarios.to_numpy()[mask]).mean()
    est = cluster_mean(((str(k), float(v)) for k, v in per.items()), bounds=bounds,
                       binary_wilson=False) if with_ci and len(per) else None
    return GroupSummary(mean, int(len(scored)), int((~mask).sum()), est["ci_low"] if est else None,
                        est["ci_high"] if est else None, int(len(per)), est["method"] if est else None,
                        (est.get("note") or flat) if est else None)


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm-Bonferroni step-down adjustment (None entries are skipped)."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(indexed)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


MIN_EFFECT_PAIRS = 10  # below this an effect size is "too few", never a number


def paired_values(table: pd.DataFrame, metric: str, a: pd.Series, b: pd.Series) -> pd.DataFrame:
    """Mean metric of group a and group b per scenario (the unit of analysis: repeats and
    configurations of a group are averaged first), dropping unmatched or unscored scenarios."""
    keys = ["scenario_id"]
    left = table[a].groupby(keys)[metric].mean().rename("a")
    right = table[b].groupby(keys)[metric].mean().rename("b")
    return pd.concat([left, right], axis=1).dropna()


def paired_test(table: pd.DataFrame, metric: str, a: pd.Series, b: pd.Series, a_label: str, b_label: str,
                method: Literal["wilcoxon", "permutation"] = "wilcoxon") -> PairedTest:
    from scipy import stats  # on first use: importing scipy costs every command ~1.5 s
    pairs = paired_values(table, metric, a, b)
    n = len(pairs)
    if n == 0:
        return PairedTest(metric, a_label, b_label, 0, None, None, None, None, None, None, method, None, None,
                          "no matched scored pairs")
    x, y = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    d = y - x
    mean_a, mean_b = float(x.mean()), float(y.mean())
    gain = (mean_b - mean_a) / abs(mean_a) * 100 if mean_a else None
    dz = float(d.mean() / d.std(ddof=1)) if n > 1 and d.std(ddof=1) > 0 else None
    nonzero = d[d != 0]
    rb = None
    if len(nonzero):
        ranks = stats.rankdata(np.abs(nonzero))
        rb = float((ranks[nonzero > 0].sum() - ranks[nonzero < 0].sum()) / ranks.sum())
    p, note = None, ""
    if len(nonzero) == 0:
        note = "all pairs equal"
    elif method == "wilcoxon":
        p = float(stats.wilcoxon(y, x).pvalue)
    else:
        res = stats.permutation_test((y, x), lambda u, v: np.mean(u - v), permutation_type="samples",
                                     n_resamples=9999, rng=np.random.default_rng(0))
        p = float(res.pvalue)
    if n < 6 and p is not None:
        note = f"only {n} pairs: the test has little power"
    reason = None
    if n < MIN_EFFECT_PAIRS:
        dz = rb = None
        reason = f"too few (n = {n}; needs ≥ {MIN_EFFECT_PAIRS})"
    return PairedTest(metric, a_label, b_label, n, mean_a, mean_b, float(d.mean()), gain, p, None, method, dz, rb, note,
                      reason)


def with_holm(tests: list[PairedTest]) -> list[PairedTest]:
    for t, adj in zip(tests, holm([t.p_value for t in tests]), strict=True):
        t.p_holm = adj
    return tests


def analyse(store: Store, experiment: str, *, rubric_version: str | None = None,
            method: Literal["wilcoxon", "permutation"] = "wilcoxon", judges: JudgeKind = "llm",
            prompt_version: str | None = None) -> dict[str, Any]:
    """Everything the report and the summary table show, as plain data."""
    frames = load_frames(store, experiment, rubric_version, judges, prompt_version)
    table = debate_table(frames)
    metrics = [OVERALL, *criteria_order(frames["scores"])]
    result: dict[str, Any] = {
        "experiment": experiment, "judges": judges, "rubric": frames["rubric"], "rubric_version": frames["rubric_version"],
        "rubric_versions": frames["rubric_versions"], "prompt_version": frames["prompt_version"],
        "prompt_versions": frames["prompt_versions"], "metrics": metrics, "method": method,
        "debates": {"total": int(len(frames["debates"])),
                    "finished": int((frames["debates"].status == "finished").sum()) if len(frames["debates"]) else 0,
                    "failed": int((frames["debates"].status == "failed").sum()) if len(frames["debates"]) else 0},
    }
    spec = (store.experiment(experiment) or {}).get("spec")
    result["spec_hash"] = hashlib.sha256(spec.encode()).hexdigest()[:12] if isinstance(spec, str) and spec else None
    result["judge_diagnostics"] = rubric_diagnostics(frames["scores"], frames["judgments"])
    if frames["rubric_version"]:
        result["judge_diagnostics"] += position_diagnostics(store.pair_verdict_rows(experiment,
                                                                                   frames["rubric_version"]))
    result["minimum_n"] = {"effect_sizes": MIN_EFFECT_PAIRS, "length_control_scenarios": MIN_SCENARIOS}
    if table.empty:
        result.update(groups={}, paper_table=[], per_config=[], per_category=[], cost=[], per_debate=[],
                      length_controlled=[], one_model=[])
        return result
    is_base = table.kind == "baseline"
    is_ens = table.kind == "ensemble"
    scale = scale_bounds(frames)
    result["groups"] = {
        kind: {m: summarise(table[table.kind == kind][m], scenarios=table[table.kind == kind].scenario_id,
                            bounds=scale).as_dict()
               for m in metrics}
        for kind in ("baseline", "ensemble") if (table.kind == kind).any()
    }
    result["paper_table"] = [t.as_dict() for t in with_holm(
        [paired_test(table, m, is_base, is_ens, "baseline", "ensemble", method) for m in metrics])]
    per_config = []
    for config, rows in table.groupby("config", sort=False):
        kind = rows.kind.iloc[0]
        # Intervals for the overall score (the table shows them); criteria get mean, n, unscored.
        entry = {"config": config, "kind": kind, "topology": rows.topology.iloc[0],
                 **{m: summarise(rows[m], with_ci=m == OVERALL, scenarios=rows.scenario_id, bounds=scale).as_dict()
                    for m in metrics}}
        per_config.append(entry)
    config_tests = with_holm([
        paired_test(table, OVERALL, is_base, table.config == e["config"], "baseline", e["config"], method)
        for e in per_config if e["kind"] == "ensemble"
    ]) if is_base.any() else []
    by_name = {t.b_label: t.as_dict() for t in config_tests}
    for e in per_config:
        e["vs_baseline"] = by_name.get(e["config"])
    result["per_config"] = per_config
    per_cat = []
    for category, rows in table.groupby("category", sort=True):
        per_cat.append({"category": category,
                        **{kind: summarise(rows[rows.kind == kind][OVERALL],
                                           scenarios=rows[rows.kind == kind].scenario_id, bounds=scale).as_dict()
                           for kind in ("baseline", "ensemble")}})
    result["per_category"] = per_cat
    # Per-debate overall scores: the report's distributions and its scenario x configuration heatmap.
    per_debate = table[["config", "kind", "scenario_id", "repeat", OVERALL]]
    result["per_debate"] = [{**r, OVERALL: None if pd.isna(r[OVERALL]) else float(r[OVERALL])}
                            for r in per_debate.to_dict("records")]
    result["cost"] = cost_per_config(frames, table)
    by_id = frames["debates"].set_index("debate_id")
    lengths, tokens = by_id["transcript_chars"].astype(float), by_id["tokens"].astype(float)
    result["length_controlled"] = length_controlled_rows(table, metrics, lengths, tokens)
    result["one_model"] = one_model_rows(table, metrics, lengths, tokens, method)
    return result


def one_model_rows(table: pd.DataFrame, metrics: list[str], lengths: pd.Series, tokens: pd.Series,
                   method: Literal["wilcoxon", "permutation"] = "wilcoxon") -> list[dict[str, Any]]:
    """One row per (ensemble, metric): the ensemble against its own one-model copy (the same
    protocol and token limits, every agent on one model; `one_model:` in the experiment).

    Each row has the paired difference over (scenario, repeat) with its test (Holm-adjusted over
    the metrics of that ensemble), and the raw and length-controlled differences of
    `length_controlled_rows` with `survives`: whether the ensemble's gain over the same protocol on
    one model survives length control. `tokens_ratio` is the ensemble's tokens over the copy's,
    near 1 when the copy spent the same budget."""
    rows: list[dict[str, Any]] = []
    copies = [c for c, kind in table.groupby("config", sort=False).kind.first().items()
              if kind == "one_model" and ensemble_of(c) is not None]
    for copy in copies:
        ensemble = ensemble_of(copy)
        pair = table[table.config.isin([ensemble, copy])].copy()
        if not (pair.config == ensemble).any():
            continue
        pair["kind"] = np.where(pair.config == ensemble, "ensemble", "baseline")
        tests = {t.metric: t for t in with_holm([
            paired_test(pair, m, pair.config == copy, pair.config == ensemble, copy, ensemble, method)
            for m in metrics])}
        for r in length_controlled_rows(pair, metrics, lengths, tokens):
            t = tests[r["criterion"]]
            rows.append({**r, "baseline": copy, "pairs": t.n_pairs, "paired_delta": t.mean_diff, "p": t.p_value,
                         "p_holm": t.p_holm, "test_note": t.note})
    return rows


def cost_per_config(frames: dict[str, Any], table: pd.DataFrame) -> list[dict[str, Any]]:
    calls = frames["calls"]
    if calls.empty:
        return []
    debate_calls = calls[calls.stage == "debate"].merge(frames["debates"][["debate_id", "config"]], on="debate_id")
    out = []
    for config, rows in debate_calls.groupby("config", sort=False):
        n_debates = rows.debate_id.nunique()
        quality = table[table.config == config][OVERALL].mean()
        out.append({
            "config": config, "debates": int(n_debates), "calls": int(rows.calls.sum()),
            "input_tokens": int(rows.input_tokens.sum()), "output_tokens": int(rows.output_tokens.sum()),
            "seconds": float(rows.duration_s.sum()),
            "seconds_per_debate": float(rows.duration_s.sum() / n_debates) if n_debates else None,
            "tokens_per_debate": float((rows.input_tokens.sum() + rows.output_tokens.sum()) / n_debates),
            "mean_overall": None if pd.isna(quality) else float(quality),
        })
    return out
