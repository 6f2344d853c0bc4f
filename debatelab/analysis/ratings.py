"""Ratings across configurations from pairwise verdicts: Bradley-Terry strengths with bootstrap
intervals, win/tie/loss rates with Wilson intervals, and the consistency rate.

A pair's verdict for a criterion counts only when the judge gave the same answer in both
presentation orders; an inconsistent pair counts as a tie (and is reported as such). The
Bradley-Terry fit is the minorise-maximise iteration of Hunter (2004) with a tie as half a win to
each side; `prior` adds that many pseudo-ties between every two configurations that met, which
keeps a configuration that never won finite (0 gives the plain maximum-likelihood fit).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from typing import Any

import numpy as np

from debatelab.analysis.clustered import wilson
from debatelab.analysis.stats import planned_debates
from debatelab.store import Store

Outcome = tuple[str, str, float]  # (configuration a, configuration b, score of a: 1 win, 0.5 tie, 0 loss)


def bradley_terry(outcomes: list[Outcome], *, prior: float = 0.5, iterations: int = 500) -> dict[str, float]:
    """Log-strengths (mean 0) of every configuration in `outcomes`."""
    items = sorted({x for a, b, _ in outcomes for x in (a, b)})
    if len(items) < 2:
        return dict.fromkeys(items, 0.0)
    index = {name: i for i, name in enumerate(items)}
    wins = np.zeros(len(items))
    games = np.zeros((len(items), len(items)))
    for a, b, score in outcomes:
        i, j = index[a], index[b]
        wins[i] += score
        wins[j] += 1 - score
        games[i, j] += 1
        games[j, i] += 1
    if prior > 0:
        met = games > 0
        games = games + 2 * prior * met
        wins = wins + prior * met.sum(axis=1)
    p = np.ones(len(items))
    for _ in range(iterations):
        denom = (games / (p[:, None] + p[None, :])).sum(axis=1)  # games[i, i] is 0
        new = np.where(denom > 0, wins / np.where(denom > 0, denom, 1), p)
        new = np.maximum(new, 1e-12)
        new = new / math.exp(float(np.mean(np.log(new))))
        if np.max(np.abs(np.log(new) - np.log(p))) < 1e-10:
            p = new
            break
        p = new
    logs = np.log(p)
    return {name: round(float(logs[index[name]] - logs.mean()), 4) for name in items}


def bootstrap_bt(units: list[list[Outcome]], *, samples: int = 1000, seed: int = 0, prior: float = 0.5
                 ) -> dict[str, tuple[float, float]]:
    """95% percentile intervals of the log-strengths, resampling units (scenario x repeat)."""
    rng = random.Random(seed)
    draws: dict[str, list[float]] = defaultdict(list)
    for _ in range(samples):
        picked = [o for _ in units for o in rng.choice(units)]
        for name, value in bradley_terry(picked, prior=prior).items():
            draws[name].append(value)
    return {name: (round(float(np.percentile(v, 2.5)), 4), round(float(np.percentile(v, 97.5)), 4))
            for name, v in draws.items()}


def settle(verdicts: dict[str, str | None]) -> tuple[str | None, bool]:
    """One pair's result for a criterion from its two orders: ('a'|'b'|'tie'|None, consistent)."""
    ab, ba = verdicts.get("ab"), verdicts.get("ba")
    if ab is None or ba is None:
        return None, False  # unscored in an order: not counted
    if ab == ba:
        return ab, True
    return "tie", False


def pairwise_table(rows: list[dict[str, Any]], *, baselines: set[str], bootstrap: int = 1000) -> dict[str, Any]:
    """Per criterion: Bradley-Terry strengths [CI], win/tie/loss vs baselines, consistency and n.

    `rows`: one per (pair, judge, order, criterion) with pair_key, unit, config_a, config_b, ord, winner.
    """
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["criterion"], r["pair_key"])
        g = grouped.setdefault(key, {"config_a": r["config_a"], "config_b": r["config_b"], "unit": r["unit"],
                                     "orders": {}})
        g["orders"][r["ord"]] = r["winner"]
    out: dict[str, Any] = {}
    for criterion in sorted({c for c, _ in grouped}, key=lambda c: (c != "overall", c)):
        units: dict[str, list[Outcome]] = defaultdict(list)
        consistent = decided = unscored = 0
        record: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # config -> [win, tie, loss] vs baselines
        for (c, _), g in grouped.items():
            if c != criterion:
                continue
            result, was_consistent = settle(g["orders"])
            if result is None:
                unscored += 1
                continue
            decided += 1
            consistent += was_consistent
            score = {"a": 1.0, "b": 0.0, "tie": 0.5}[result]
            units[g["unit"]].append((g["config_a"], g["config_b"], score))
            if g["config_b"] in baselines and g["config_a"] not in baselines:
                record[g["config_a"]][{"a": 0, "tie": 1, "b": 2}[result]] += 1
        outcomes = [o for u in units.values() for o in u]
        strengths = bradley_terry(outcomes)
        intervals = bootstrap_bt(list(units.values()), samples=bootstrap) if bootstrap and units else {}
        out[criterion] = {
            "pairs": decided, "unscored": unscored,
            "consistency": round(consistent / decided, 4) if decided else None,
            "strengths": {c: {"log_strength": v, "ci95": intervals.get(c)} for c, v in strengths.items()},
            "vs_baselines": {c: {"n": sum(wtl), "win": round(wtl[0] / sum(wtl), 4), "tie": round(wtl[1] / sum(wtl), 4),
                                 "loss": round(wtl[2] / sum(wtl), 4), "win_ci95": wilson(wtl[0], sum(wtl))}
                             for c, wtl in sorted(record.items()) if sum(wtl)},
        }
    return out


def pairwise_ratings(store: Store, experiment: str, rubric_version: str | None, *, bootstrap: int = 1000
                     ) -> dict[str, Any]:
    """Ratings, win/tie/loss against the baselines, consistency and n, per criterion and overall,
    from the stored pairwise verdicts (statistics: no graph, no model)."""
    baselines = {d["config"] for d in store.debates(experiment) if d["kind"] == "baseline"}
    rows = store.pair_verdict_rows(experiment, rubric_version)
    planned = planned_debates(store, experiment)
    if planned is not None:  # pairs of debates an earlier spec planned never enter the table
        rows = [r for r in rows if r["debate_a"] in planned and r["debate_b"] in planned]
    return pairwise_table(rows, baselines=baselines, bootstrap=bootstrap)
