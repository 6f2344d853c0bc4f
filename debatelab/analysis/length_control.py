"""Length-controlled comparisons: is an ensemble better, or only longer?

LLM judges favour longer answers, and an ensemble's transcript is longer than a single model's. For
every ensemble configuration against the single-model baselines (pooled), on the overall score and
each criterion, the debate's score is regressed, within scenarios, on whether it is the
ensemble's and on the log of its transcript's length:

    score[s, d] = a[s] + b1 * ensemble[d] + b2 * log2(length[d]) + e

with scenario fixed effects a[s] (each scenario compared with itself, so a hard scenario with long
transcripts does not pass for a length effect). `controlled_delta` is b1, the difference at equal
length; `raw_delta` the plain difference of means. Its 95% interval is a cluster bootstrap-t over
scenarios (scenarios resampled; the t statistic studentised with the scenario-clustered (CR1)
standard error; 1,000 resamples), which `debatelab simulate` shows holds its coverage from about
15 scenarios.

The difference is *not estimable* -- `controlled_delta`, `ci_low` and `ci_high` are null and
`reason` says why -- below `MIN_SCENARIOS` scenarios with both an ensemble and a baseline debate,
when the two groups' lengths do not overlap (the regression would extrapolate: no debate of one
group is as long as any of the other), or when length does not vary within scenarios.
`survives` says plainly what is left of a raw gain at equal length. This is a fixed-effects
regression adjustment, not AlpacaEval 2's length-controlled win rate (a GLM on pairwise
preferences).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

RESAMPLES = 1000
MIN_SCENARIOS = 10  # below this a controlled difference is "too few", never a number


def _within(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Values minus their group's mean (the fixed effects swept out)."""
    frame = pd.DataFrame({"v": values, "g": groups})
    return (frame["v"] - frame.groupby("g")["v"].transform("mean")).to_numpy()


def _cluster_parts(score: np.ndarray, ensemble: np.ndarray, loglen: np.ndarray, scenario: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per scenario: X'X (2x2) and X'y (2) of the demeaned design, and its members' count.
    A resampled scenario is a copy, so its demeaned parts are the same: the bootstrap only
    re-weights these sums."""
    x = np.column_stack([_within(ensemble, scenario), _within(loglen, scenario)])
    y = _within(score, scenario)
    codes, index = np.unique(scenario, return_inverse=True)
    g = len(codes)
    xx = np.zeros((g, 2, 2))
    xy = np.zeros((g, 2))
    np.add.at(xx, index, x[:, :, None] * x[:, None, :])
    np.add.at(xy, index, x * y[:, None])
    return xx, xy, np.bincount(index, minlength=g)


def _solve(xx: np.ndarray, xy: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """b and its CR1 standard errors for each row of `weights` (resamples x scenarios)."""
    a = np.einsum("rg,gij->rij", weights, xx)
    c = np.einsum("rg,gi->ri", weights, xy)
    det = a[:, 0, 0] * a[:, 1, 1] - a[:, 0, 1] * a[:, 1, 0]
    ok = np.abs(det) > 1e-12
    inv = np.zeros_like(a)
    inv[ok, 0, 0], inv[ok, 1, 1] = a[ok, 1, 1] / det[ok], a[ok, 0, 0] / det[ok]
    inv[ok, 0, 1], inv[ok, 1, 0] = -a[ok, 0, 1] / det[ok], -a[ok, 1, 0] / det[ok]
    b = np.einsum("rij,rj->ri", inv, c)
    scores = xy[None, :, :] - np.einsum("gij,rj->rgi", xx, b)  # each scenario's X'(y - Xb)
    meat = np.einsum("rg,rgi,rgj->rij", weights, scores, scores)
    g = weights.sum(axis=1)
    scale = np.where(g > 1, g / np.maximum(g - 1, 1), np.nan)
    cov = np.einsum("rij,rjk,rlk->ril", inv, meat, inv) * scale[:, None, None]
    se = np.sqrt(np.maximum(cov[:, 0, 0], 0))
    b[~ok] = np.nan
    return b[:, 0], np.where(ok, se, np.nan)


def not_estimable(raw: float | None, reason: str) -> dict[str, Any]:
    return {"raw_delta": None if raw is None else round(raw, 4), "controlled_delta": None, "ci_low": None,
            "ci_high": None, "reason": reason}


def controlled_difference(score: np.ndarray, ensemble: np.ndarray, length: np.ndarray, scenario: np.ndarray,
                          *, seed: int = 0) -> dict[str, Any]:
    """b1 with its cluster bootstrap-t interval, or null figures with the `reason`."""
    score, ensemble = np.asarray(score, float), np.asarray(ensemble, float)
    length, scenario = np.asarray(length, float), np.asarray(scenario)
    is_e = ensemble == 1
    raw = float(score[is_e].mean() - score[~is_e].mean()) if is_e.any() and (~is_e).any() else None
    both = {s for s in scenario[is_e]} & {s for s in scenario[~is_e]}
    if len(both) < MIN_SCENARIOS:
        return not_estimable(raw, f"too few (n = {len(both)} scenarios with both; needs ≥ {MIN_SCENARIOS})")
    keep = np.isin(scenario, list(both)) & np.isfinite(length) & (length > 0)
    score, ensemble, length, scenario = score[keep], ensemble[keep], length[keep], scenario[keep]
    loglen = np.log2(length)
    e_len, b_len = loglen[ensemble == 1], loglen[ensemble == 0]
    if e_len.min() > b_len.max() or b_len.min() > e_len.max():
        return not_estimable(raw, f"lengths do not overlap (ensemble {2 ** e_len.min():.0f}-{2 ** e_len.max():.0f} "
                                  f"characters, baselines {2 ** b_len.min():.0f}-{2 ** b_len.max():.0f}): the "
                                  f"regression would extrapolate")
    xx, xy, _ = _cluster_parts(score, ensemble, loglen, scenario)
    g = len(xy)
    b, se = _solve(xx, xy, np.ones((1, g)))
    if not np.isfinite(b[0]) or not np.isfinite(se[0]) or se[0] == 0:
        return not_estimable(raw, "length does not vary within scenarios apart from the ensemble's: the two effects "
                                  "cannot be separated")
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(g, np.full(g, 1 / g), size=RESAMPLES).astype(float)
    bb, sb = _solve(xx, xy, weights)
    t = (bb - b[0]) / sb
    t = t[np.isfinite(t)]
    if len(t) < RESAMPLES // 2:
        return not_estimable(raw, "the bootstrap could not refit most resamples")
    lo_q, hi_q = np.quantile(t, [0.025, 0.975])
    return {"raw_delta": None if raw is None else round(raw, 4), "controlled_delta": round(float(b[0]), 4),
            "ci_low": round(float(b[0] - hi_q * se[0]), 4), "ci_high": round(float(b[0] - lo_q * se[0]), 4),
            "scenarios": g, "method": f"scenario fixed effects, log2 length; cluster bootstrap-t over {g} scenarios"}


def survives_length_control(diff: dict[str, Any]) -> tuple[bool | None, str]:
    """Whether a raw difference survives length control, and the report's words for it."""
    raw, low, high = diff["raw_delta"], diff["ci_low"], diff["ci_high"]
    if diff["controlled_delta"] is None or low is None or high is None or raw is None:
        return None, "not estimable: " + (diff.get("reason") or "too few debates, or lengths that do not vary")
    if raw == 0:
        return None, "no raw difference"
    if (raw > 0 and low > 0) or (raw < 0 and high < 0):
        return True, "survives length control (interval excludes 0)"
    if (raw > 0 and high < 0) or (raw < 0 and low > 0):
        return False, "reversed at equal length"
    return False, "does not survive length control (interval includes 0)"


def length_controlled_rows(table: pd.DataFrame, metrics: list[str], lengths: pd.Series,
                           tokens: pd.Series) -> list[dict[str, Any]]:
    """One row per (ensemble configuration, metric): raw and length-controlled differences from the
    pooled baselines, with the cost in tokens. `table`: the analysis's per-debate table; `lengths`
    and `tokens` by debate id (transcript length as the judge reads it, and tokens spent)."""
    if table.empty or not (table.kind == "baseline").any():
        return []
    base = table[table.kind == "baseline"]
    rows = []
    for config, group in table[table.kind == "ensemble"].groupby("config", sort=False):
        ratio = (tokens.reindex(group.debate_id).mean() / tokens.reindex(base.debate_id).mean()
                 if tokens.reindex(base.debate_id).mean() else None)
        for metric in metrics:
            e = group[group[metric].notna()]
            b = base[base[metric].notna()]
            both = pd.concat([e, b])
            diff = controlled_difference(both[metric].to_numpy(float),
                                         np.r_[np.ones(len(e)), np.zeros(len(b))],
                                         lengths.reindex(both.debate_id).to_numpy(float),
                                         both.scenario_id.astype(str).to_numpy())
            survives, note = survives_length_control(diff)
            rows.append({"configuration": config, "baseline": "all baselines", "criterion": metric,
                         "reason": None, "scenarios": None, "method": None, **diff, "survives": survives,
                         "tokens_ratio": None if ratio is None or np.isnan(ratio) else round(float(ratio), 2),
                         "n": int(len(e)), "n_baseline": int(len(b)), "note": note})
    return rows
