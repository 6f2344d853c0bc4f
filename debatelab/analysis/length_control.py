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


def controlled_difference(ensemble_scores: np.ndarray, ensemble_lengths: np.ndarray, base_scores: np.ndarray,
                          base_lengths: np.ndarray, *, seed: int = 0) -> dict[str, Any]:
    score = np.concatenate([ensemble_scores, base_scores])
    group = np.concatenate([np.ones(len(ensemble_scores)), np.zeros(len(base_scores))])
    length = np.concatenate([ensemble_lengths, base_lengths]).astype(float)
    raw = float(ensemble_scores.mean() - base_scores.mean()) if len(ensemble_scores) and len(base_scores) else None
    controlled = _fit(score, group, length)
    low = high = None
    if controlled is not None:
        rng = np.random.default_rng(seed)
        draws = []
        ne, nb = len(ensemble_scores), len(base_scores)
        for _ in range(RESAMPLES):
            ie, ib = rng.integers(0, ne, ne), rng.integers(0, nb, nb)
            b = _fit(np.concatenate([ensemble_scores[ie], base_scores[ib]]), group,
                     np.concatenate([ensemble_lengths[ie], base_lengths[ib]]).astype(float))
            if b is not None:
                draws.append(b)
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
