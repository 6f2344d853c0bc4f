"""The debaters of a two-speaker protocol, rated: the truth advantage and Bradley-Terry ratings
per protocol and judge (never pooled across protocols), with Khan et al.'s aggregate rating."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from debatelab.analysis.clustered import cluster_mean
from debatelab.analysis.judge_agreement import options_of, p_correct
from debatelab.analysis.oversight_cells import (
    RATING_RESAMPLES,
    _by,
    _interval,
    _protocol_key,
    _speakers,
    per_question,
)
from debatelab.analysis.ratings import Outcome, bootstrap_bt, bradley_terry


def ratings(trials: dict[str, dict[str, Any]], verdicts: list[dict[str, Any]], *,
            bootstrap: int = RATING_RESAMPLES) -> list[dict[str, Any]]:
    """Per two-speaker protocol and judge (protocols are never pooled: in open and interactive
    debate only debater 1 plays): the truth advantage (how often the judge sided with the debater
    arguing the correct answer; unanswered counts as not), with the question as the unit and
    every matchup of the question averaged, and with two or more debaters Bradley-Terry
    log-strengths overall (cross-play only) and per side, with bootstrap intervals over questions,
    each debater's self-play accuracy and Khan's aggregate rating (the mean of its correct-side and
    incorrect-side ratings)."""
    out = []
    debate = [v for v in verdicts if _speakers(v["protocol"]) == 2]
    for (protocol, judge), rows in sorted(_by(debate, "protocol", "judge").items(),
                                          key=lambda x: (_protocol_key(x[0][0]), x[0][1])):
        answered = [v for v in rows if v["letter"] is not None]
        est = cluster_mean(per_question(rows, trials).values())
        entry: dict[str, Any] = {"protocol": protocol, "judge": judge, "debates": len(rows), "n": est["n"],
                                 "unanswered": len(rows) - len(answered), "truth_advantage": est["estimate"],
                                 **_interval(est)}
        names = {trials[v["trial_id"]][k] for v in answered for k in ("correct_debater", "incorrect_debater")}
        names.discard(None)
        if len(names) >= 2 and bootstrap:
            overall: dict[str, list[Outcome]] = defaultdict(list)
            sided: dict[str, list[Outcome]] = defaultdict(list)
            for v in answered:
                t = trials[v["trial_id"]]
                good, bad = t["correct_debater"], t["incorrect_debater"]
                score = 1.0 if v["correct"] else 0.0
                sided[v["question_id"]].append((f"{good} (correct side)", f"{bad} (incorrect side)", score))
                if good != bad:
                    overall[v["question_id"]].append((good, bad, score))
            entry["overall"] = _rated(overall, bootstrap)
            entry["by_side"] = _rated(sided, bootstrap)
            side_of = {x["name"]: x["strength"] for x in entry["by_side"]}
            entry["aggregate"] = [
                {"name": n, "strength": round((side_of[f"{n} (correct side)"] + side_of[f"{n} (incorrect side)"]) / 2,
                                              4)}
                for n in sorted(names) if f"{n} (correct side)" in side_of and f"{n} (incorrect side)" in side_of]
            accuracy: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for v in rows:
                t = trials[v["trial_id"]]
                if t["correct_debater"] == t["incorrect_debater"]:
                    accuracy[t["correct_debater"]].append(v)
            entry["self_play_accuracy"] = {
                n: cluster_mean(per_question(vs, trials).values())["estimate"] for n, vs in sorted(accuracy.items())}
            entry["accuracy_slope"] = accuracy_slope(entry["aggregate"], entry["self_play_accuracy"])
            entry["soft_aggregate"] = soft_aggregate(answered, trials)
        out.append(entry)
    return out


def _rated(units: dict[str, list[Outcome]], bootstrap: int) -> list[dict[str, Any]]:
    outcomes = [o for u in units.values() for o in u]
    if not outcomes:
        return []
    strengths = bradley_terry(outcomes)
    intervals = bootstrap_bt(list(units.values()), samples=bootstrap)
    return [{"name": name, "strength": value, "ci_low": intervals.get(name, (None, None))[0],
             "ci_high": intervals.get(name, (None, None))[1]}
            for name, value in sorted(strengths.items(), key=lambda x: -x[1])]


MIN_SLOPE_DEBATERS = 3


def accuracy_slope(aggregate: list[dict[str, Any]], self_play: dict[str, float | None]) -> dict[str, Any]:
    """Judge accuracy in each debater's self-play against its aggregate rating: the least-squares
    slope with a t interval on n - 2 df (Khan et al.'s central figure, as a number). It treats the
    ratings as fixed; with few debaters the interval is wide, and below three there is no slope."""
    points = [(a["strength"], self_play[a["name"]]) for a in aggregate if self_play.get(a["name"]) is not None]
    if len(points) < MIN_SLOPE_DEBATERS:
        return {"n": len(points), "slope": None, "ci_low": None, "ci_high": None,
                "reason": f"too few: {len(points)} debaters with a self-play accuracy (at least {MIN_SLOPE_DEBATERS})"}
    from debatelab.analysis.clustered import t_quantile

    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return {"n": n, "slope": None, "ci_low": None, "ci_high": None, "reason": "every debater has one rating"}
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    resid = [y - (my + slope * (x - mx)) for x, y in points]
    se = (sum(r * r for r in resid) / (n - 2) / sxx) ** 0.5 if n > 2 else None
    half = t_quantile(n - 2) * se if se is not None else None
    return {"n": n, "slope": round(slope, 4), "ci_low": None if half is None else round(slope - half, 4),
            "ci_high": None if half is None else round(slope + half, 4), "reason": None}


def soft_aggregate(answered: list[dict[str, Any]], trials: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Khan's aggregate rating from soft wins: each verdict counts as the probability the judge put
    on the correct answer (two options), not as 0 or 1, so a hesitant verdict weighs less."""
    outcomes: list[Outcome] = []
    for v in answered:
        t = trials[v["trial_id"]]
        p = p_correct(v, options_of(t))
        if p is not None:
            outcomes.append((f"{t['correct_debater']} (correct side)", f"{t['incorrect_debater']} (incorrect side)", p))
    if not outcomes:
        return []
    side = bradley_terry(outcomes)
    names = sorted({n.rsplit(" (", 1)[0] for n in side})
    return [{"name": n, "strength": round((side[f"{n} (correct side)"] + side[f"{n} (incorrect side)"]) / 2, 4)}
            for n in names if f"{n} (correct side)" in side and f"{n} (incorrect side)" in side]
