"""Weak-to-strong methods and their metrics, as plain functions of recorded answers.

- SAMME (multi-class AdaBoost, Zhu et al. 2009), used by EnsemW2S (arXiv 2410.04571) at
  inference time: on a labelled calibration split, repeatedly pick the agent with the lowest
  weighted error e, give it alpha = ln((1-e)/e) + ln(C-1), up-weight the questions it got wrong,
  renormalise; stop when e >= 1 - 1/C. Prediction: the option with the largest sum of alphas, or
  of alpha-weighted option probabilities where the backend returned log-probabilities.
- Baselines: majority vote, accuracy-weighted vote, best single agent, self-consistency.
- Facilitation (arXiv 2409.07335): accuracy before/after, gap recovered, flip rates.
- McNemar's exact test for paired correctness (binomial test on the discordant pairs, scipy).

An unanswered question (None) is never a vote and never correct.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from debatelab.graphs.voting import Answers, majority_vote, weighted_probability_vote, weighted_vote

__all__ = ["fit_samme", "majority_vote", "weighted_vote", "weighted_probability_vote", "mcnemar",
           "facilitation_metrics", "accuracy"]



@dataclass
class SammeFit:
    alphas: dict[str, float]
    rounds: list[dict[str, float | str]]
    stopped: str


def fit_samme(answers: Answers, truth: Sequence[str], n_classes: int, max_rounds: int | None = None) -> SammeFit:
    agents = list(answers)
    n = len(truth)
    if n == 0 or not agents:
        return SammeFit({a: 0.0 for a in agents}, [], "no data")
    correct = {a: np.array([answers[a][i] == truth[i] for i in range(n)], dtype=bool) for a in agents}
    w = np.full(n, 1.0 / n)
    alphas = {a: 0.0 for a in agents}
    rounds: list[dict[str, float | str]] = []
    stopped = "max rounds"
    for _ in range(max_rounds or 2 * len(agents)):
        errors = {a: float(w[~correct[a]].sum()) for a in agents}
        best = min(agents, key=lambda a: (errors[a], agents.index(a)))
        e = errors[best]
        if e >= 1 - 1 / n_classes:
            stopped = f"best weighted error {e:.3f} >= 1 - 1/C"
            break
        e_clipped = max(e, 1e-10)
        alpha = math.log((1 - e_clipped) / e_clipped) + math.log(n_classes - 1)
        alphas[best] += alpha
        rounds.append({"agent": best, "error": e, "alpha": alpha})
        if e == 0:
            stopped = f"{best} is perfect on the calibration split"
            break
        w = w * np.exp(alpha * (~correct[best]))
        w = w / w.sum()
    return SammeFit(alphas, rounds, stopped)


def accuracy(pred: Sequence[str | None], truth: Sequence[str]) -> float:
    return float(np.mean([p == t for p, t in zip(pred, truth, strict=True)])) if truth else float("nan")


def mcnemar(a_correct: Sequence[bool], b_correct: Sequence[bool]) -> dict[str, float | int | None]:
    """Exact McNemar test: b = a right & b wrong, c = a wrong & b right; binomial on b + c."""
    b = sum(1 for x, y in zip(a_correct, b_correct, strict=True) if x and not y)
    c = sum(1 for x, y in zip(a_correct, b_correct, strict=True) if not x and y)
    p = None if b + c == 0 else float(stats.binomtest(b, b + c, 0.5).pvalue)
    return {"a_only": b, "b_only": c, "p_value": p}


def facilitation_metrics(before: Sequence[str | None], after: Sequence[str | None], truth: Sequence[str],
                         strong: Sequence[str | None]) -> dict[str, float | int | None]:
    """Accuracy before/after, gain, gap recovered, flip rates, split by whether the strong model was right."""
    n = len(truth)
    right_before = [b == t for b, t in zip(before, truth, strict=True)]
    right_after = [a == t for a, t in zip(after, truth, strict=True)]
    strong_right = [s == t for s, t in zip(strong, truth, strict=True)]
    acc_w, acc_f, acc_s = (float(np.mean(x)) if n else float("nan") for x in (right_before, right_after, strong_right))
    gap = acc_s - acc_w
    r2w = sum(1 for b, a in zip(right_before, right_after, strict=True) if b and not a)
    w2r = sum(1 for b, a in zip(right_before, right_after, strict=True) if not b and a)

    def acc_where(flag: bool, series: list[bool]) -> float | None:
        picked = [x for x, s in zip(series, strong_right, strict=True) if s == flag]
        return float(np.mean(picked)) if picked else None

    return {
        "n": n, "acc_weak": acc_w, "acc_facilitated": acc_f, "acc_strong": acc_s, "gain": acc_f - acc_w,
        "gap_recovered": (acc_f - acc_w) / gap if gap > 0 else None,
        "right_to_wrong": r2w, "wrong_to_right": w2r,
        "right_to_wrong_rate": r2w / max(1, sum(right_before)),
        "wrong_to_right_rate": w2r / max(1, n - sum(right_before)),
        "acc_after_when_strong_right": acc_where(True, right_after),
        "acc_after_when_strong_wrong": acc_where(False, right_after),
        "acc_before_when_strong_right": acc_where(True, right_before),
        "acc_before_when_strong_wrong": acc_where(False, right_before),
    }
