"""Debate as oversight, measured: does a judge without the passage find the truth?

From the stored trials, turns and verdicts (never a model call):
- judge accuracy per protocol and judge, with Wilson 95% intervals, n and unanswered (an
  unanswered verdict counts as wrong), and consultancy split by the consultant's side;
- paired comparisons between protocols on the same questions (the primary matchup: debater 1
  against itself, consultant 1): the accuracy difference, a paired bootstrap interval and McNemar's
  exact p;
- calibration of the judge's stated probability (Brier score and a reliability table);
- open protocols: how often the agent chose the correct answer, and accuracy when it did and not;
- quotes per side (correct vs incorrect): how many, and how many the passage verified;
- tokens and calls per protocol;
- debaters' Bradley-Terry ratings from debate verdicts (cross-play), overall and per side with
  bootstrap intervals over questions, and the truth advantage (the correct side's win rate).
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from typing import Any

from debatelab.analysis.dynamics import paired_difference
from debatelab.analysis.ratings import Outcome, bootstrap_bt, bradley_terry
from debatelab.analysis.stats import wilson
from debatelab.store import Store, is_human

PRIMARY = {"-", "c0", "0v0"}
CALIBRATION_BINS = 5


def _share(k: int, n: int) -> float | None:
    return round(k / n, 4) if n else None


def accuracy_row(protocol: str, judge: str, verdicts: list[dict[str, Any]], side: str | None = None
                 ) -> dict[str, Any]:
    n = len(verdicts)
    correct = sum(1 for v in verdicts if v["correct"])
    low, high = wilson(correct, n)
    row = {"protocol": protocol, "judge": judge, "n": n, "correct": correct, "accuracy": _share(correct, n),
           "ci_low": low, "ci_high": high, "unanswered": sum(1 for v in verdicts if v["letter"] is None)}
    return {**row, "side": side} if side else row


def p_correct(v: dict[str, Any]) -> float | None:
    """The judge's stated probability that the correct answer is correct (two options)."""
    if v["letter"] is None or v["probability"] is None:
        return None
    return v["probability"] if v["correct"] else 1 - v["probability"]


def calibration(verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    """Brier score of the stated probabilities (answered verdicts), and the reliability table:
    stated probability of the chosen answer in bins of 0.2, against how often it was right."""
    answered = [v for v in verdicts if p_correct(v) is not None]
    brier = (sum((p_correct(v) - 1) ** 2 for v in answered) / len(answered)) if answered else None  # type: ignore[operator]
    bins = []
    for b in range(CALIBRATION_BINS):
        lo, hi = b / CALIBRATION_BINS, (b + 1) / CALIBRATION_BINS
        inside = [v for v in answered if lo <= v["probability"] < hi or (b == CALIBRATION_BINS - 1
                                                                         and v["probability"] == 1.0)]
        if inside:
            bins.append({"low": lo, "high": hi, "n": len(inside),
                         "stated": round(sum(v["probability"] for v in inside) / len(inside), 4),
                         "observed": round(sum(v["correct"] for v in inside) / len(inside), 4)})
    return {"n": len(answered), "brier": round(brier, 4) if brier is not None else None, "bins": bins}


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


def comparisons(verdicts: list[dict[str, Any]], trials: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every two protocols, per judge, on the questions both have a primary-matchup verdict for."""
    out = []
    primary = [v for v in verdicts if trials[v["trial_id"]]["matchup"] in PRIMARY]
    by_judge = _by(primary, "judge")
    for (judge,), rows in sorted(by_judge.items()):
        per_protocol = {p: {v["question_id"]: bool(v["correct"]) for v in rs}
                        for (p,), rs in _by(rows, "protocol").items()}
        names = sorted(per_protocol, key=_protocol_key)
        for a, b in itertools.combinations(names, 2):
            common = sorted(set(per_protocol[a]) & set(per_protocol[b]))
            if not common:
                continue
            diff = paired_difference([per_protocol[a][q] for q in common], [per_protocol[b][q] for q in common])
            out.append({"judge": judge, "first": a, "second": b, "n": len(common),
                        "first_accuracy": _share(sum(per_protocol[a][q] for q in common), len(common)),
                        "second_accuracy": _share(sum(per_protocol[b][q] for q in common), len(common)),
                        "difference": diff["delta_vs_debate"], "ci_low": diff["ci_low"], "ci_high": diff["ci_high"],
                        "p": diff["p"], "first_only": diff["debate_only"], "second_only": diff["baseline_only"]})
    return out


def open_choices(trials: list[dict[str, Any]], verdicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Open protocols: the agent's choice (unreadable counts as not correct) and the judges'
    accuracy when it chose the correct answer and when it did not."""
    out = []
    for (protocol,), rows in sorted(_by([t for t in trials if t["chosen"] is not None], "protocol").items()):
        right = {t["trial_id"] for t in rows if t["chosen"] == t["truth"]}
        k = len(right)
        low, high = wilson(k, len(rows))
        vs = [v for v in verdicts if v["protocol"] == protocol]
        when = {flag: [v for v in vs if (v["trial_id"] in right) == flag] for flag in (True, False)}
        out.append({"protocol": protocol, "n": len(rows), "chose_correct": k, "rate": _share(k, len(rows)),
                    "ci_low": low, "ci_high": high, "unreadable_choices": sum(1 for t in rows if t["chosen"] == ""),
                    "judge_accuracy_when_correct": _share(sum(v["correct"] for v in when[True]), len(when[True])),
                    "n_when_correct": len(when[True]),
                    "judge_accuracy_when_incorrect": _share(sum(v["correct"] for v in when[False]),
                                                            len(when[False])),
                    "n_when_incorrect": len(when[False])})
    return out


def quote_rates(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    arguments = [t for t in turns if t["kind"] == "argument"]
    for (protocol, side), rows in sorted(_by(arguments, "protocol", "side").items(), key=lambda x: (
            _protocol_key(x[0][0]), x[0][1] or "")):
        quotes = sum(t["quotes"] for t in rows)
        verified = sum(t["verified_quotes"] for t in rows)
        low, high = wilson(verified, quotes)
        out.append({"protocol": protocol, "side": side, "turns": len(rows), "quotes": quotes, "verified": verified,
                    "verified_rate": _share(verified, quotes), "ci_low": low, "ci_high": high,
                    "quotes_per_turn": round(quotes / len(rows), 3) if rows else None})
    return out


def costs(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for (protocol,), rows in sorted(_by(trials, "protocol").items(), key=lambda x: _protocol_key(x[0][0])):
        n = len(rows)
        calls = sum(t["calls"] or 0 for t in rows)
        tokens_in = sum(t["input_tokens"] or 0 for t in rows)
        tokens_out = sum(t["output_tokens"] or 0 for t in rows)
        out.append({"protocol": protocol, "trials": n, "calls": calls, "input_tokens": tokens_in,
                    "output_tokens": tokens_out, "calls_per_trial": round(calls / n, 2),
                    "tokens_per_trial": round((tokens_in + tokens_out) / n, 1)})
    return out


def ratings(trials: dict[str, dict[str, Any]], verdicts: list[dict[str, Any]], *, bootstrap: int = 200
            ) -> list[dict[str, Any]]:
    """Per judge: the truth advantage (how often the debater arguing the correct answer won) and,
    with two or more debaters, Bradley-Terry log-strengths overall (cross-play only) and per side
    (every debate), with 95% bootstrap intervals over questions. Unanswered verdicts decide nothing
    and are counted apart."""
    out = []
    debate = [v for v in verdicts if v["protocol"] in ("debate", "interactive_debate", "open_debate")]
    for (judge,), rows in sorted(_by(debate, "judge").items()):
        answered = [v for v in rows if v["letter"] is not None]
        wins = sum(v["correct"] for v in answered)
        low, high = wilson(wins, len(answered))
        entry: dict[str, Any] = {"judge": judge, "debates": len(rows), "unanswered": len(rows) - len(answered),
                                 "truth_advantage": _share(wins, len(answered)), "ci_low": low, "ci_high": high}
        names = {trials[v["trial_id"]][k] for v in answered for k in ("correct_debater", "incorrect_debater")}
        names.discard(None)
        if len(names) >= 2:
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
            accuracy: dict[str, list[int]] = defaultdict(list)
            for v in rows:
                t = trials[v["trial_id"]]
                if t["correct_debater"] == t["incorrect_debater"]:
                    accuracy[t["correct_debater"]].append(v["correct"])
            entry["self_play_accuracy"] = {n: _share(sum(a), len(a)) for n, a in sorted(accuracy.items())}
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


def _plan(store: Store, experiment: str) -> tuple[set[str] | None, set[str] | None]:
    """The trial ids and judge labels the experiment's stored spec plans (None: a store from before
    plans were recorded, read whole as it always was)."""
    row = store.experiment(experiment) or {}
    try:
        spec = json.loads(row.get("spec") or "{}")
    except ValueError:
        spec = {}
    planned = spec.get("planned_trials") if isinstance(spec, dict) else None
    judges = spec.get("judge_labels") if isinstance(spec, dict) and planned is not None else None
    return (set(map(str, planned)) if isinstance(planned, list) else None,
            set(map(str, judges)) if isinstance(judges, list) else None)


def planned_trials(store: Store, experiment: str) -> list[dict[str, Any]]:
    """The experiment's stored trials that its current spec plans (all of them in an older store):
    what the tables count, the viewer lists and people are asked to judge."""
    planned, _ = _plan(store, experiment)
    return [t for t in store.oversight_trials(experiment) if planned is None or t["trial_id"] in planned]


def oversight_results(store: Store, experiment: str) -> dict[str, Any]:
    """Every table of an oversight experiment, from the store: the trials its current spec plans,
    and their verdicts by the spec's judges and by people (a trial or a judge of an earlier version
    of the spec stays stored but never enters the tables)."""
    _, judges = _plan(store, experiment)
    trial_rows = planned_trials(store, experiment)
    trials = {t["trial_id"]: t for t in trial_rows}
    verdicts = [v for v in store.oversight_verdicts(experiment) if v["trial_id"] in trials
                and (judges is None or is_human(v["judge"]) or v["judge"] in judges)]
    turns = store.oversight_turns(experiment)
    protocol_of = {t["trial_id"]: t["protocol"] for t in trial_rows}
    turns = [{**t, "protocol": protocol_of.get(t["trial_id"])} for t in turns]
    rows = []
    for (protocol, judge), vs in sorted(_by(verdicts, "protocol", "judge").items(),
                                        key=lambda x: (_protocol_key(x[0][0]), x[0][1])):
        rows.append(accuracy_row(protocol, judge, vs))
        if _speakers(protocol) == 1:  # consultancy: split by the side the consultant argued
            for side in ("correct", "incorrect"):
                rows.append(accuracy_row(protocol, judge, [
                    v for v in vs if (trials[v["trial_id"]]["correct_debater"] is not None) == (side == "correct")],
                    side=side))
    calib = [{"protocol": p, "judge": j, **calibration(vs)}
             for (p, j), vs in sorted(_by(verdicts, "protocol", "judge").items(),
                                      key=lambda x: (_protocol_key(x[0][0]), x[0][1]))]
    per_judge = [{"protocol": "all", "judge": j, **calibration(vs)} for (j,), vs in sorted(_by(verdicts,
                                                                                              "judge").items())]
    return {"oversight": rows, "comparisons": comparisons(verdicts, trials), "calibration": calib + per_judge,
            "open": open_choices(trial_rows, verdicts), "quotes": quote_rates(turns), "cost": costs(trial_rows),
            "ratings": ratings(trials, verdicts), "questions": len({t["question_id"] for t in trial_rows})}
