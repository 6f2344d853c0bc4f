"""Oversight's cells: what one table cell is made of -- a trial's passage cluster, the headline
matchup, per-question values, an accuracy row with its interval, calibration -- and the one rule
for unanswered verdicts. Shared by the oversight tables, the debaters' ratings and the
reproduction rows of imported studies."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from debatelab.analysis.clustered import cluster_mean

CALIBRATION_BINS = 5
RATING_RESAMPLES = 1000
UNANSWERED_RULE = ("An unanswered verdict (unreadable after retries) counts in n as wrong, and as probability 0.5 "
                   "in the Brier score.")


def _share(k: int, n: int) -> float | None:
    return round(k / n, 4) if n else None


def cluster_of(trial: dict[str, Any]) -> str:
    """The passage a trial's question is about (questions sharing one are not independent); a
    question without a passage is its own cluster."""
    try:
        question = json.loads(trial.get("question") or "{}")
    except ValueError:
        question = {}
    passage = question.get("passage") if isinstance(question, dict) else None
    if isinstance(passage, str) and passage.strip():
        return "passage:" + hashlib.sha256(passage.encode()).hexdigest()[:16]
    return "question:" + str(trial["question_id"])


def primary_matchup(protocol: str) -> str:
    """The headline matchup: the judge alone, consultant 1, or debater 1 against itself."""
    speakers = _speakers(protocol)
    return {0: "-", 1: "c0"}.get(speakers if speakers is not None else 2, "0v0")


def _interval(est: dict[str, Any]) -> dict[str, Any]:
    out = {"ci_low": est["ci_low"], "ci_high": est["ci_high"], "method": est["method"], "clusters": est["clusters"]}
    return {**out, "note": est["note"]} if est.get("note") else out


def per_question(verdicts: list[dict[str, Any]], trials: dict[str, dict[str, Any]],
                 value: Callable[[dict[str, Any]], float] = lambda v: float(bool(v["correct"]))
                 ) -> dict[str, tuple[str, float]]:
    """question id -> (its passage cluster, the mean value of its verdicts)."""
    grouped: dict[str, list[float]] = defaultdict(list)
    cluster: dict[str, str] = {}
    for v in verdicts:
        grouped[v["question_id"]].append(value(v))
        cluster[v["question_id"]] = cluster_of(trials[v["trial_id"]])
    return {q: (cluster[q], sum(xs) / len(xs)) for q, xs in grouped.items()}


def accuracy_row(protocol: str, judge: str, verdicts: list[dict[str, Any]], trials: dict[str, dict[str, Any]],
                 **keys: Any) -> dict[str, Any]:
    """Accuracy with the question as the unit: n questions, the mean of per-question accuracies."""
    units = per_question(verdicts, trials)
    est = cluster_mean(units.values())
    # correct in question units (accuracy = correct / n): a question judged right on one of its two
    # consultancy sides counts 0.5; with one verdict per question it is the count of correct verdicts.
    correct = round(sum(value for _, value in units.values()), 4)
    row = {"protocol": protocol, "judge": judge, **{k: v for k, v in keys.items() if v is not None},
           "n": est["n"], "verdicts": len(verdicts), "correct": int(correct) if correct == int(correct) else correct,
           "correct_verdicts": sum(1 for v in verdicts if v["correct"]), "accuracy": est["estimate"], **_interval(est),
           "unanswered": sum(1 for v in verdicts if v["letter"] is None)}
    return row


def p_correct(v: dict[str, Any]) -> float | None:
    """The judge's stated probability that the correct answer is correct (two options); 0.5 for
    an unanswered verdict (the one rule); None when it answered without a probability."""
    if v["letter"] is None:
        return 0.5
    if v["probability"] is None:
        return None
    return v["probability"] if v["correct"] else 1 - v["probability"]


def calibration(verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    """Brier score of the stated probabilities (unanswered as 0.5), and the reliability table of the
    answered ones: stated probability of the chosen answer in bins of 0.2, against how often it was
    right."""
    scored = [v for v in verdicts if p_correct(v) is not None]
    answered = [v for v in scored if v["letter"] is not None]
    brier = (sum((p_correct(v) - 1) ** 2 for v in scored) / len(scored)) if scored else None  # type: ignore[operator]
    bins = []
    for b in range(CALIBRATION_BINS):
        lo, hi = b / CALIBRATION_BINS, (b + 1) / CALIBRATION_BINS
        inside = [v for v in answered if lo <= v["probability"] < hi or (b == CALIBRATION_BINS - 1
                                                                         and v["probability"] == 1.0)]
        if inside:
            bins.append({"low": lo, "high": hi, "n": len(inside),
                         "stated": round(sum(v["probability"] for v in inside) / len(inside), 4),
                         "observed": round(sum(v["correct"] for v in inside) / len(inside), 4)})
    return {"n": len(scored), "answered": len(answered), "brier": round(brier, 4) if brier is not None else None,
            "bins": bins}


def _by(rows: list[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    out: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        out[tuple(r[k] for k in keys)].append(r)
    return out


def _registered(name: str) -> Any:
    """The protocol of stored trials (None for one whose plugin is not installed here). Imported
    here, not at the top: a report reads stored verdicts and must not load LangGraph to start."""
    from debatelab.graphs import protocol_named

    try:
        return protocol_named(name)
    except ValueError:
        return None


def _protocol_key(name: str) -> int:
    """Comparisons read "first - second", from the most informed protocol down."""
    p = _registered(name)
    return p.informed_rank if p is not None else 100


def _speakers(name: str) -> int | None:
    p = _registered(name)
    return p.speakers if p is not None else None


def _setting(trial: dict[str, Any]) -> str | None:
    """Who argued in an imported study's trial: "human" or "ai" (None in debatelab's own runs)."""
    try:
        setting = json.loads(trial.get("question") or "{}").get("setting")
    except (ValueError, AttributeError):
        return None
    return setting if isinstance(setting, str) else None
