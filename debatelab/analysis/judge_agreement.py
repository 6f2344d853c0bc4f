"""A model judge set against the human judges on the same transcripts: the first question a
researcher asks of a local judge (does it reach the verdicts people reached on the same debates?).

Per model judge, on the trials a person also judged: both accuracies, the paired difference
(model - people) with a cluster t interval over stories, Cohen's kappa on the chosen answer, and
the correlation of the probabilities each put on the correct answer. Below MIN_PAIRED trials the
figures are "too few", not numbers."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from typing import Any

from debatelab.analysis.clustered import cluster_difference, cluster_mean
from debatelab.analysis.oversight_cells import _interval, cluster_of
from debatelab.analysis.reproduction import is_live_person
from debatelab.store import is_human

MIN_PAIRED = 10  # trials judged by both; fewer give no kappa, correlation or difference


def p_correct(verdict: dict[str, Any], options: int) -> float | None:
    """The probability the judge put on the correct answer (two options; None if unanswered)."""
    if verdict["letter"] is None or verdict["probability"] is None or options != 2:
        return None
    p = float(verdict["probability"])
    return p if verdict["letter"] == verdict["truth"] else 1.0 - p


def cohen_kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Agreement beyond chance on a categorical choice (None when chance agreement is total)."""
    n = len(pairs)
    if not n:
        return None
    observed = sum(a == b for a, b in pairs) / n
    first, second = defaultdict(int), defaultdict(int)
    for a, b in pairs:
        first[a] += 1
        second[b] += 1
    expected = sum(first[c] * second[c] for c in first) / (n * n)
    return None if expected >= 1.0 else round((observed - expected) / (1.0 - expected), 4)


def pearson(xs: list[float], ys: list[float]) -> float | None:
    n = len(xs)
    if n < 3:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sx = math.sqrt(sum((x - mx) ** 2 for x in xs))
    sy = math.sqrt(sum((y - my) ** 2 for y in ys))
    if sx < 1e-12 or sy < 1e-12:  # one side never varies: no correlation to speak of
        return None
    return round(sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / (sx * sy), 4)


def options_of(trial: dict[str, Any]) -> int:
    try:
        return len(json.loads(trial["question"]).get("options") or [])
    except (ValueError, TypeError, AttributeError):
        return 0


def judge_agreement(verdicts: list[dict[str, Any]], trials: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (protocol, model judge) with verdicts on trials people judged too, and one per
    model judge over every protocol (`protocol: "all"`)."""
    people: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for v in verdicts:
        if is_live_person(v["judge"]):  # the person who judged it live, in the model's position
            people[v["trial_id"]].append(v)
    by_judge: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for v in verdicts:
        if not is_human(v["judge"]) and v["trial_id"] in people:
            by_judge[(trials[v["trial_id"]]["protocol"], v["judge"])].append(v)
            by_judge[("all", v["judge"])].append(v)  # every protocol together: the judge's overall agreement
    rows = []
    for (protocol, judge), mine in sorted(by_judge.items()):
        units = []  # (cluster, model correct, people correct, model verdict, one person's verdict)
        for v in mine:
            trial = trials[v["trial_id"]]
            them = people[v["trial_id"]]
            human_correct = sum(bool(h["correct"]) for h in them) / len(them)
            units.append((cluster_of(trial), float(bool(v["correct"])), human_correct, v, them[0], options_of(trial)))
        n = len(units)
        model = cluster_mean((c, m) for c, m, _, _, _, _ in units)
        human = cluster_mean((c, h) for c, _, h, _, _, _ in units)
        row: dict[str, Any] = {
            "protocol": protocol, "judge": judge, "against": "human", "n": n, "stories": len({u[0] for u in units}),
            "accuracy": model["estimate"], **_interval(model), "human_accuracy": human["estimate"],
            "human_ci_low": _interval(human)["ci_low"], "human_ci_high": _interval(human)["ci_high"],
            "unanswered": sum(1 for u in units if u[3]["letter"] is None),
        }
        if n < MIN_PAIRED:
            rows.append({**row, "kappa": None, "correlation": None, "difference": None, "diff_ci_low": None,
                         "diff_ci_high": None, "p": None, "too_few": f"too few: {n} paired trials (at least "
                                                                       f"{MIN_PAIRED} are needed)"})
            continue
        answered = [(u[3]["letter"], u[4]["letter"]) for u in units if u[3]["letter"] and u[4]["letter"]]
        probs = [(p_correct(u[3], u[5]), p_correct(u[4], u[5])) for u in units]
        probs = [(a, b) for a, b in probs if a is not None and b is not None]
        diff = cluster_difference((c, m, h) for c, m, h, _, _, _ in units)
        rows.append({**row, "kappa": cohen_kappa(answered), "kappa_n": len(answered),
                     "correlation": pearson([a for a, _ in probs], [b for _, b in probs]), "correlation_n": len(probs),
                     "difference": diff["estimate"], "diff_ci_low": _interval(diff)["ci_low"],
                     "diff_ci_high": _interval(diff)["ci_high"], "p": diff["p"], "test": diff["test"],
                     "too_few": None})
    return rows
