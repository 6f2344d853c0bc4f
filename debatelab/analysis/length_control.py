"""Length-controlled comparisons: is an ensemble better, or only longer?

LLM judges favour longer answers, and an ensemble's transcript is longer than a single model's. For
every ensemble configuration against the single-model baselines (pooled), on the overall score and
each criterion, the debate's score is regressed on whether it is the ensemble's and on its
transcript's length (ordinary least squares, length standardised):

    score = b0 + b1 * ensemble + b2 * length

`raw_delta` is the plain difference of means; `controlled_delta` is b1, the difference at equal
length. Its 95% interval is a bootstrap over debates (each group resampled within itself); it is
undefined (None) when the data cannot separate the two effects (too few debates, or lengths that do
not vary). `tokens_ratio` is the ensemble's mean tokens per debate over the baselines': what the
difference cost. `survives` says plainly what is left of a raw gain at equal length: True when the
controlled interval excludes 0 on the raw difference's side, False when it includes 0 or lies on
the other side, None when the controlled difference is undefined. After AlpacaEval 2's
length-controlled win rates, for absolute scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

RESAMPLES = 1000


def _fit(score: np.ndarray, ensemble: np.ndarray, length: np.ndarray) -> float | None:
    """b1 of the regression, or None when the design cannot identify it."""
    if len(score) < 4 or ensemble.min() == ensemble.max() or np.std(length) == 0:
        return None
    z = (length - length.mean()) / length.std()
    design = np.column_stack([np.ones_like(z), ensemble, z])
    if np.linalg.matrix_rank(design) < 3:
        return None
    coef, *_ = np.linalg.lstsq(design, score, rcond=None)
    return float(coef[1])


STACKED_MAX_DEBATES = 512  # up to this many debates, one stacked solve beats a loop of fits (bench: 4x at 30)
CHUNK_CELLS = 2_000_000  # resamples x debates fitted at once: bounds the memory of the stacked designs


def _fits(scores: np.ndarray, ensemble: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """b1 for every row of `scores` and `lengths` (resamples x debates; `ensemble` is shared), NaN
    where that row's design cannot identify it.

    One stacked least-squares solve instead of a Python loop of `lstsq` calls: the demo's report
    bootstraps 16 comparisons x 1000 resamples, which took 4.5 s one fit at a time. The same rank
    test (`matrix_rank`'s SVD tolerance) and the same solution (the pseudo-inverse of a design of
    full column rank is its least-squares solve) as the single fit."""
    rows, n = scores.shape
    out = np.full(rows, np.nan)
    if n > STACKED_MAX_DEBATES:  # tall designs: one lstsq per resample is faster than stacked SVDs
        for r in range(rows):
            b1 = _fit(scores[r], ensemble, lengths[r])
            out[r] = np.nan if b1 is None else b1
        return out
    if n < 4 or ensemble.min() == ensemble.max():
        return out
    step = max(1, CHUNK_CELLS // n)
    for start in range(0, rows, step):
        y, length = scores[start:start + step], lengths[start:start + step]
        spread = length.std(axis=1)
        varies = np.flatnonzero(spread != 0)
        if not len(varies):
            continue
        z = (length[varies] - length[varies].mean(axis=1, keepdims=True)) / spread[varies, None]
        design = np.stack([np.ones_like(z), np.broadcast_to(ensemble, z.shape), z], axis=2)
        full = np.linalg.matrix_rank(design) == 3
        if full.any():
            coef = np.linalg.pinv(design[full]) @ y[varies][full][:, :, None]
            out[start + varies[full]] = coef[:, 1, 0]
    return out


def resample_indices(ne: int, nb: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The bootstrap's draws: per resample, `ne` indices into the ensemble's debates, then `nb` into
    the baselines'.

    One `integers` call with per-column bounds draws exactly what a loop of two calls per resample
    drew (the order every report so far used; a test checks it) in ~1/40 of the time: the loop's
    32,000 calls were most of the demo report's length-control time (~0.45 s)."""
    rng = np.random.default_rng(seed)
    bounds = np.concatenate([np.full(ne, ne), np.full(nb, nb)])
    drawn = rng.integers(0, np.broadcast_to(bounds, (RESAMPLES, ne + nb)))
    return drawn[:, :ne], drawn[:, ne:]


def controlled_difference(ensemble_scores: np.ndarray, ensemble_lengths: np.ndarray, base_scores: np.ndarray,
                          base_lengths: np.ndarray, *, seed: int = 0) -> dict[str, Any]:
    score = np.concatenate([ensemble_scores, base_scores])
    group = np.concatenate([np.ones(len(ensemble_scores)), np.zeros(len(base_scores))])
    length = np.concatenate([ensemble_lengths, base_lengths]).astype(float)
    raw = float(ensemble_scores.mean() - base_scores.mean()) if len(ensemble_scores) and len(base_scores) else None
    controlled = _fit(score, group, length)
    low = high = None
    if controlled is not None:
        ie, ib = resample_indices(len(ensemble_scores), len(base_scores), seed)
        fitted = _fits(np.concatenate([ensemble_scores[ie], base_scores[ib]], axis=1), group,
                       np.concatenate([ensemble_lengths[ie], base_lengths[ib]], axis=1).astype(float))
        draws = fitted[~np.isnan(fitted)]
        if len(draws) >= RESAMPLES // 2:
            low, high = (float(x) for x in np.percentile(draws, [2.5, 97.5]))
            low, high = min(low, controlled), max(high, controlled)
    return {"raw_delta": None if raw is None else round(raw, 4),
            "controlled_delta": None if controlled is None else round(controlled, 4),
            "ci_low": None if low is None else round(low, 4), "ci_high": None if high is None else round(high, 4)}


def survives_length_control(diff: dict[str, Any]) -> tuple[bool | None, str]:
    """Whether a raw difference survives length control, and the report's words for it."""
    raw, low, high = diff["raw_delta"], diff["ci_low"], diff["ci_high"]
    if diff["controlled_delta"] is None or low is None or high is None or raw is None:
        return None, "too few debates, or lengths that do not vary"
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
            diff = controlled_difference(e[metric].to_numpy(float), lengths.reindex(e.debate_id).to_numpy(float),
                                         b[metric].to_numpy(float), lengths.reindex(b.debate_id).to_numpy(float))
            survives, note = survives_length_control(diff)
            rows.append({"configuration": config, "baseline": "all baselines", "criterion": metric, **diff,
                         "survives": survives,
                         "tokens_ratio": None if ratio is None or np.isnan(ratio) else round(float(ratio), 2),
                         "n": int(len(e)), "n_baseline": int(len(b)), "note": note})
    return rows
