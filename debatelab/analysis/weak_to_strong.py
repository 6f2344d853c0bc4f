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

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from debatelab.analysis.stats import bootstrap_ci
from debatelab.scenarios import Question
from debatelab.store import Store

if TYPE_CHECKING:
    from debatelab.graphs import Answers


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
    from scipy import stats  # on first use: importing scipy costs every command ~1.5 s
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


# -- results of a weak-to-strong experiment, from the stored answers --------------------------------------
def stored_answers(store: Store, experiment: str) -> dict[tuple[str, str, str, str, int], str | None]:
    return {(r["split"], r["question_id"], r["agent"], r["kind"], r["sample"]): r["letter"]
            for r in store.qa_calls(experiment)}


def stored_option_probs(store: Store, experiment: str) -> dict[tuple[str, str, str], dict[str, float]]:
    """(split, question, agent) -> option probabilities of the weak agents' answers, where recorded."""
    return {(r["split"], r["question_id"], r["agent"]): json.loads(r["option_probs"])
            for r in store.qa_calls(experiment, kind="answer") if r["option_probs"] is not None}


def best_agent(answers: dict, questions: list[Question], weak: list[str]) -> str:
    def acc(agent: str) -> float:
        return sum(answers.get(("calibration", q.id, agent, "answer", 0)) == q.answer for q in questions)

    return max(weak, key=lambda a: (acc(a), -weak.index(a)))


def _acc_entry(pred: list[str | None], truth: list[str], calls: int) -> dict[str, Any]:
    correct = np.array([p == t for p, t in zip(pred, truth, strict=True)], dtype=float)
    lo, hi = bootstrap_ci(correct) if len(correct) else (None, None)
    return {"accuracy": float(correct.mean()) if len(correct) else None, "ci_low": lo, "ci_high": hi,
            "n": len(truth), "unanswered": sum(p is None for p in pred), "calls_per_question": calls}


def compute_results(store: Store, experiment: str, data: dict[str, list[Question]], weak: list[str],
                    facilitated: list[str], best: str) -> dict[str, Any]:
    """Every method's accuracy from the stored answers (a report never needs a model)."""
    # The votes live with the weighted-ensemble graph; imported here so that the analysis room
    # (and every report) does not load LangGraph at import.
    from debatelab.graphs import majority_vote, weighted_probability_vote, weighted_vote

    answers = stored_answers(store, experiment)
    option_probs = stored_option_probs(store, experiment)
    cal, ev = data["calibration"], data["evaluation"]
    letters = sorted({x for q in cal + ev for x in q.letters})
    n_classes = max(len(q.options) for q in cal + ev)

    def column(split: str, qs: list[Question], agent: str, kind: str = "answer", s: int = 0) -> list[str | None]:
        return [answers.get((split, q.id, agent, kind, s)) for q in qs]

    cal_truth, ev_truth = [q.answer for q in cal], [q.answer for q in ev]
    cal_answers = {a: column("calibration", cal, a) for a in weak}
    ev_answers = {a: column("evaluation", ev, a) for a in weak}
    samme = fit_samme(cal_answers, cal_truth, n_classes)
    acc_weights = {a: accuracy(cal_answers[a], cal_truth) for a in weak}
    k = len(weak)
    methods: dict[str, dict[str, Any]] = {}
    for a in weak:
        methods[f"single: {a}"] = _acc_entry(ev_answers[a], ev_truth, 1)
    methods["best single agent"] = {**_acc_entry(ev_answers[best], ev_truth, 1), "agent": best}
    preds = {
        "majority vote": majority_vote(ev_answers, letters),
        "accuracy-weighted vote": weighted_vote(ev_answers, acc_weights, letters),
        "SAMME-weighted vote": weighted_vote(ev_answers, samme.alphas, letters),
        "SAMME-weighted option probabilities": weighted_probability_vote(
            ev_answers, {a: [option_probs.get(("evaluation", q.id, a)) for q in ev] for a in weak}, samme.alphas,
            letters),
        "self-consistency (best agent, equal budget)": majority_vote(
            {f"s{s}": column("evaluation", ev, best, "self_consistency", s) for s in range(k)}, letters),
    }
    for name, pred in preds.items():
        methods[name] = _acc_entry(pred, ev_truth, k)
    methods["strong model alone"] = _acc_entry(column("evaluation", ev, "strong"), ev_truth, 1)
    correct = {name: [p == t for p, t in zip(pred, ev_truth, strict=True)] for name, pred in preds.items()}
    correct["best single agent"] = [p == t for p, t in zip(ev_answers[best], ev_truth, strict=True)]
    tests = {f"SAMME vs {other}": mcnemar(correct["SAMME-weighted vote"], correct[other])
             for other in ("majority vote", "accuracy-weighted vote", "best single agent",
                           "self-consistency (best agent, equal budget)")}
    tests["SAMME option probabilities vs SAMME letters"] = mcnemar(correct["SAMME-weighted option probabilities"],
                                                                   correct["SAMME-weighted vote"])
    answered = sum(x is not None for a in weak for x in ev_answers[a])
    with_probs = sum(1 for q in ev for a in weak if ("evaluation", q.id, a) in option_probs)
    strong_ev = column("evaluation", ev, "strong")
    facilitation = {}
    for a in facilitated:
        for variant, kind in (("explanation", "facilitated"), ("debate", "debate")):
            after = column("evaluation", ev, a, kind)
            if any(x is not None for x in after):
                m = facilitation_metrics(ev_answers[a], after, ev_truth, strong_ev)
                m["mcnemar_after_vs_before"] = mcnemar([x == t for x, t in zip(after, ev_truth, strict=True)],
                                                       [x == t for x, t in zip(ev_answers[a], ev_truth, strict=True)])
                facilitation[f"facilitated {a} ({variant})"] = m
    withheld = sum(r["unanswered_reason"] is not None for r in store.qa_calls(experiment, kind="explanation"))
    return {
        "calibration": {"n": len(cal), "agents": {a: _acc_entry(cal_answers[a], cal_truth, 1) for a in weak}},
        "weights": {"samme_alpha": samme.alphas, "samme_rounds": samme.rounds, "samme_stopped": samme.stopped,
                    "accuracy": acc_weights},
        "evaluation": {"n": len(ev), "methods": methods, "mcnemar": tests},
        "facilitation": facilitation, "explanations_withheld_for_naming_a_letter": withheld,
        "best_agent": best, "n_classes": n_classes,
        "option_probabilities": {"evaluation_answers": answered, "with_probabilities": with_probs},
    }
