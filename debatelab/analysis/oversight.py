"""Debate as oversight, measured: does a judge without the passage find the truth?

From the stored trials, turns and verdicts (never a model call), and only the trials the current
spec plans. The unit of analysis is the question: every figure first reduces the verdicts of one
question in its cell to one value (their mean), and intervals are clustered by passage
(`analysis.clustered`: a cluster t interval; Wilson for one 0/1 value per question on distinct
passages). The tables:

- `oversight`: one headline row per (protocol, judge) -- the primary matchup (debater 1 against
  itself, consultant 1, on both sides where the design is balanced) -- plus consultancy's rows by
  the side the consultant argued. n counts questions; `verdicts` counts verdicts;
- `oversight_matchups`: every other matchup (self-play of each debater, each cross-play pairing,
  and cross-play pooled), each with n = questions;
- `position_bias`: accuracy when the correct answer is A vs B, and when its side spoke first vs
  second, per protocol and judge;
- `comparisons`: every two protocols per judge on the same questions: the paired difference, its
  cluster t interval and p, and Holm's correction over the table (`p_holm`);
- calibration (Brier), open protocols' choices, quotes per side, tokens and calls, and per
  two-speaker protocol (never pooled across protocols) the truth advantage and Bradley-Terry
  ratings (1,000 bootstrap resamples over questions), with Khan's aggregate rating.

One rule for an unanswered verdict (unreadable after retries), in every figure: it counts, as
wrong (the judge did not find the truth), and as probability 0.5 in the Brier score.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import defaultdict
from typing import Any

from debatelab.analysis.clustered import cluster_difference, cluster_mean, cluster_ratio
from debatelab.analysis.debater_ratings import ratings
from debatelab.analysis.judge_agreement import judge_agreement
from debatelab.analysis.judge_sweep import judge_sweep
from debatelab.analysis.oversight_cells import (
    RATING_RESAMPLES,
    UNANSWERED_RULE,
    _by,
    _interval,
    _protocol_key,
    _registered,
    _setting,
    _share,
    _speakers,
    accuracy_row,
    calibration,
    cluster_of,
    per_question,
    primary_matchup,
)
from debatelab.analysis.reproduction import belief_rounds, debate_lengths, reproduction_rows
from debatelab.analysis.stats import holm
from debatelab.analysis.weak_to_strong import mcnemar
from debatelab.store import Store, is_human


def _headline(protocol: str, trials: dict[str, dict[str, Any]], v: dict[str, Any]) -> bool:
    return trials[v["trial_id"]]["matchup"] == primary_matchup(protocol)


def comparisons(verdicts: list[dict[str, Any]], trials: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every two protocols, per judge, on the questions both have a headline verdict for: the paired
    difference of per-question accuracies, its cluster t interval and p (McNemar's exact p where
    each question has one verdict a side on its own passage), and Holm's correction over the whole
    table (one family)."""
    out = []
    primary = [v for v in verdicts if _headline(v["protocol"], trials, v)]
    for (judge,), rows in sorted(_by(primary, "judge").items()):
        per_protocol = {p: per_question(rs, trials) for (p,), rs in _by(rows, "protocol").items()}
        counts = {p: defaultdict(int) for p in per_protocol}
        for v in rows:
            counts[v["protocol"]][v["question_id"]] += 1
        names = sorted(per_protocol, key=_protocol_key)
        for a, b in itertools.combinations(names, 2):
            common = sorted(set(per_protocol[a]) & set(per_protocol[b]))
            if not common:
                continue
            pa, pb = per_protocol[a], per_protocol[b]
            diff = cluster_difference((pa[q][0], pa[q][1], pb[q][1]) for q in common)
            row = {"judge": judge, "first": a, "second": b, "n": len(common), "clusters": diff["clusters"],
                   "first_accuracy": round(sum(pa[q][1] for q in common) / len(common), 4),
                   "second_accuracy": round(sum(pb[q][1] for q in common) / len(common), 4),
                   "difference": diff["estimate"], "ci_low": diff["ci_low"], "ci_high": diff["ci_high"],
                   "p": diff["p"], "test": diff["test"]}
            single = all(counts[a][q] == 1 and counts[b][q] == 1 for q in common) and diff["clusters"] == len(common)
            if single:
                exact = mcnemar([pa[q][1] == 1 for q in common], [pb[q][1] == 1 for q in common])
                row.update({"p": None if exact["p_value"] is None else round(float(exact["p_value"]), 6),
                            "test": "McNemar exact", "first_only": exact["a_only"], "second_only": exact["b_only"]})
            out.append(row)
    for row, adjusted in zip(out, holm([r["p"] for r in out]), strict=True):
        row["p_holm"] = None if adjusted is None else round(adjusted, 6)
    return out


def matchups(verdicts: list[dict[str, Any]], trials: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every matchup that is not the headline (each debater's self-play, each cross-play pairing,
    each other consultant) and cross-play pooled, per protocol and judge, with n = questions."""
    out = []
    for (protocol, judge), rows in sorted(_by(verdicts, "protocol", "judge").items(),
                                          key=lambda x: (_protocol_key(x[0][0]), x[0][1])):
        by_matchup = _by(rows, "matchup")
        others = sorted(m for (m,) in by_matchup if m != primary_matchup(protocol))
        for m in others:
            t = trials[by_matchup[(m,)][0]["trial_id"]]
            debaters = [d.get("debater") for d in json.loads(t.get("sides") or "[]")]
            out.append(accuracy_row(protocol, judge, by_matchup[(m,)], trials, matchup=m,
                                    debaters=" v ".join(dict.fromkeys(debaters)) if debaters else None))
        cross = [v for v in rows if _is_cross(v["matchup"])]
        if cross and len({v["matchup"] for v in cross}) > 1:
            out.append(accuracy_row(protocol, judge, cross, trials, matchup="cross-play"))
    return out


def _is_cross(matchup: str) -> bool:
    if "v" not in matchup:
        return False
    a, _, b = matchup.partition("v")
    return a != b


def position_bias(verdicts: list[dict[str, Any]], trials: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Headline accuracy split by where the correct answer stood: option A vs B, and (two
    speakers) whether its side spoke first or second. A judge that favours a position is right
    more often when the truth stands there."""
    out = []
    primary = [v for v in verdicts if _headline(v["protocol"], trials, v)]
    for (protocol, judge), rows in sorted(_by(primary, "protocol", "judge").items(),
                                          key=lambda x: (_protocol_key(x[0][0]), x[0][1])):
        for letter in sorted({v["truth"] for v in rows}):
            out.append(accuracy_row(protocol, judge, [v for v in rows if v["truth"] == letter], trials,
                                    position=f"correct is {letter}"))
        if _speakers(protocol) == 2:
            for first in (True, False):
                picked = [v for v in rows if _correct_spoke_first(trials[v["trial_id"]]) is first]
                if picked:
                    out.append(accuracy_row(protocol, judge, picked, trials,
                                            position="correct spoke first" if first else "correct spoke second"))
    return out


def _correct_spoke_first(trial: dict[str, Any]) -> bool | None:
    try:
        sides = json.loads(trial.get("sides") or "[]")
    except ValueError:
        return None
    return bool(sides) and sides[0].get("argued") == trial["truth"] if sides else None


def open_choices(trials: list[dict[str, Any]], verdicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Open protocols: the agent's choice (unreadable counts as not correct) and the judges'
    accuracy when it chose the correct answer and when it did not."""
    out = []
    by_id = {t["trial_id"]: t for t in trials}
    for (protocol,), rows in sorted(_by([t for t in trials if t["chosen"] is not None], "protocol").items()):
        right = {t["trial_id"] for t in rows if t["chosen"] == t["truth"]}
        k = len(right)
        est = cluster_mean(per_question([{**t, "correct": t["trial_id"] in right} for t in rows], by_id).values())
        vs = [v for v in verdicts if v["protocol"] == protocol]
        when = {flag: [v for v in vs if (v["trial_id"] in right) == flag] for flag in (True, False)}
        out.append({"protocol": protocol, "n": est["n"], "trials": len(rows), "chose_correct": k,
                    "rate": est["estimate"], **_interval(est),
                    "unreadable_choices": sum(1 for t in rows if t["chosen"] == ""),
                    "judge_accuracy_when_correct": _share(sum(v["correct"] for v in when[True]), len(when[True])),
                    "n_when_correct": len(when[True]),
                    "judge_accuracy_when_incorrect": _share(sum(v["correct"] for v in when[False]),
                                                            len(when[False])),
                    "n_when_incorrect": len(when[False])})
    return out


def quote_rates(turns: list[dict[str, Any]], trials: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Verified quotes per quote, per protocol and side: a ratio over questions, clustered by
    passage (the turns of one question are not independent)."""
    out = []
    arguments = [t for t in turns if t["kind"] == "argument" and t["trial_id"] in trials]
    for (protocol, side), rows in sorted(_by(arguments, "protocol", "side").items(), key=lambda x: (
            _protocol_key(x[0][0] or ""), x[0][1] or "")):
        quotes = sum(t["quotes"] for t in rows)
        verified = sum(t["verified_quotes"] for t in rows)
        per_q: dict[str, list[Any]] = {}
        for t in rows:
            trial = trials[t["trial_id"]]
            unit = per_q.setdefault(trial["question_id"], [cluster_of(trial), 0, 0])
            unit[1] += t["verified_quotes"]
            unit[2] += t["quotes"]
        est = cluster_ratio((c, y, m) for c, y, m in per_q.values() if m)
        out.append({"protocol": protocol, "side": side, "turns": len(rows), "quotes": quotes, "verified": verified,
                    "verified_rate": _share(verified, quotes), "n": est["n"], **_interval(est),
                    "quotes_per_turn": round(quotes / len(rows), 3) if rows else None})
    return out


def passage_revealed(turns: list[dict[str, Any]], trials: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """How much of the passage the judge was shown, per protocol: per trial, the characters its
    verified quotes cover (overlaps once) over the passage's; a mean over trials, clustered by
    passage. Short passages with long arguments reveal nearly all of it: no information gap left."""
    from debatelab.graphs import revealed, revealed_spans  # the graphs room loads LangGraph: only when asked

    spans: dict[str, list[tuple[int, int]]] = {}
    for t in turns:
        if t["kind"] == "argument" and t["trial_id"] in trials and t.get("verified_quotes"):
            passage = _passage(trials[t["trial_id"]])
            spans.setdefault(t["trial_id"], []).extend(revealed_spans(t.get("shown") or "", passage))
    out = []
    speaking = [t for t in trials.values() if _speakers(t["protocol"]) > 0 and _passage(t)]
    for (protocol,), rows in sorted(_by(speaking, "protocol").items(), key=lambda x: _protocol_key(x[0][0])):
        shares = [(cluster_of(t), revealed(spans.get(t["trial_id"], [])) / len(_passage(t))) for t in rows]
        est = cluster_mean(shares, binary_wilson=False)
        out.append({"protocol": protocol, "trials": len(rows), "share_revealed": est["estimate"], **_interval(est),
                    "passage_chars": round(sum(len(_passage(t)) for t in rows) / len(rows))})
    return out


def _passage(trial: dict[str, Any]) -> str:
    try:
        return str((json.loads(trial.get("question") or "{}") or {}).get("passage") or "")
    except ValueError:
        return ""


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


def _stored_spec(store: Store, experiment: str) -> dict[str, Any]:
    """The experiment's stored spec as a mapping ({} when absent or unreadable): the plan, the
    judges' order and whether the study was imported all live there."""
    try:
        spec = json.loads((store.experiment(experiment) or {}).get("spec") or "{}")
    except ValueError:
        return {}
    return spec if isinstance(spec, dict) else {}


def _plan(store: Store, experiment: str) -> tuple[set[str] | None, set[str] | None]:
    """The trial ids and judge labels the experiment's stored spec plans (None: a store from before
    plans were recorded, read whole as it always was)."""
    spec = _stored_spec(store, experiment)
    planned = spec.get("planned_trials")
    judges = spec.get("judge_labels") if planned is not None else None
    return (set(map(str, planned)) if isinstance(planned, list) else None,
            set(map(str, judges)) if isinstance(judges, list) else None)


def planned_trials(store: Store, experiment: str) -> list[dict[str, Any]]:
    """The experiment's stored trials that its current spec plans (all of them in an older store):
    what the tables count, the viewer lists and people are asked to judge."""
    planned, _ = _plan(store, experiment)
    return [t for t in store.oversight_trials(experiment) if planned is None or t["trial_id"] in planned]


def oversight_results(store: Store, experiment: str, *, with_ratings: bool = True) -> dict[str, Any]:
    """Every table of an oversight experiment, from the store: the trials its current spec plans,
    and their verdicts by the spec's judges and by people (a trial or a judge of an earlier version
    of the spec stays stored but never enters the tables).

    `with_ratings=False` leaves out the Bradley-Terry fits (1,000 resamples each; the truth
    advantage stays): the simulator does, since its truth has no value on their scale; every other
    figure is computed the same."""
    _, judges = _plan(store, experiment)
    judge_order = _judge_order(store, experiment)
    imported = _imported(store, experiment)
    trial_rows = planned_trials(store, experiment)
    trials = {t["trial_id"]: t for t in trial_rows}
    verdicts = [{**v, "matchup": trials[v["trial_id"]]["matchup"]} for v in store.oversight_verdicts(experiment)
                if v["trial_id"] in trials and (judges is None or is_human(v["judge"]) or v["judge"] in judges)]
    turns = store.oversight_turns(experiment)
    protocol_of = {t["trial_id"]: t["protocol"] for t in trial_rows}
    turns = [{**t, "protocol": protocol_of.get(t["trial_id"])} for t in turns]
    rows = []
    judged = {(v["trial_id"], v["judge"]) for v in verdicts}
    settings = {t["trial_id"]: _setting(t) for t in trial_rows}  # imported studies: human or AI debaters
    keyed = [{**v, "setting": settings.get(v["trial_id"]) or ""} for v in verdicts]
    for (protocol, setting, judge), vs in sorted(_by(keyed, "protocol", "setting", "judge").items(),
                                                 key=lambda x: (_protocol_key(x[0][0]), x[0][1], x[0][2])):
        head = [v for v in vs if v["matchup"] == primary_matchup(protocol)] or vs
        row = accuracy_row(protocol, judge, head, trials, debaters=setting or None)
        if judges is not None and judge in judges:
            # A planned headline trial without this judge's verdict (it failed): reported, never
            # silently unbalancing the design (a consultancy question then has one side only).
            row["missing"] = sum(1 for t in trial_rows if t["protocol"] == protocol
                                 and t["matchup"] == primary_matchup(protocol) and _judged_by(t, judge, judge_order)
                                 and (t["trial_id"], judge) not in judged)
        rows.append(row)
        if _speakers(protocol) == 1:  # consultancy: split by the side the consultant argued
            for side in ("correct", "incorrect"):
                rows.append(accuracy_row(protocol, judge, [
                    v for v in head if (trials[v["trial_id"]]["correct_debater"] is not None) == (side == "correct")],
                    trials, side=side, debaters=setting or None))
    compared = comparisons(verdicts, trials)
    information = _information(store, experiment, trial_rows)
    rows = [{**r, "information": information} for r in rows]
    agreement = judge_agreement(verdicts, trials)
    beliefs, lengths = belief_rounds(trials, store.judge_beliefs(experiment)), []
    if any(_setting(t) for t in trial_rows):
        rows = reproduction_rows(verdicts, trials) + rows
        lengths = debate_lengths(trials, turns)
    calib = [{"protocol": p, "judge": j, **calibration(vs)}
             for (p, j), vs in sorted(_by(verdicts, "protocol", "judge").items(),
                                      key=lambda x: (_protocol_key(x[0][0]), x[0][1]))]
    per_judge = [{"protocol": "all", "judge": j, **calibration(vs)} for (j,), vs in sorted(_by(verdicts,
                                                                                              "judge").items())]
    truncation = _stored_spec(store, experiment).get("truncation")
    preference = _stored_spec(store, experiment).get("preference")
    if isinstance(preference, dict):  # best-of-N: every table says whether its rater is held out
        rows = [{**r, "preference_held_out": bool(preference.get("held_out"))} for r in rows]
    return {"spec_hash": _spec_hash(store, experiment), "unanswered_rule": UNANSWERED_RULE, "information": information,
            **({"truncation": truncation} if truncation else {}),
            **({"preference": preference} if isinstance(preference, dict) else {}),
            "oversight": rows, "oversight_matchups": matchups(verdicts, trials),
            "position_bias": position_bias(verdicts, trials), "comparisons": compared,
            **({"judge_sweep": sweep} if (sweep := judge_sweep(compared, rows)) else {}),
            "calibration": calib + per_judge, "open": open_choices(trial_rows, verdicts),
            "quotes": quote_rates(turns, trials), "passage_revealed": passage_revealed(turns, trials),
            "cost": costs(trial_rows),
            # Imported studies rate no debaters (people, anonymised; and 1,000 fits over 20 of them take
            # a minute): their truth advantage stays.
            "ratings": ratings(trials, verdicts, bootstrap=RATING_RESAMPLES if with_ratings and not imported else 0),
            "questions": len({t["question_id"] for t in trial_rows}),
            **({"beliefs": beliefs} if beliefs and beliefs["rounds"] else {}),
            **({"lengths": lengths} if lengths else {}),
            **({"judge_agreement": agreement} if agreement else {})}


def _information(store: Store, experiment: str, trials: list[dict[str, Any]]) -> str:
    """asymmetric: the debaters read a passage the judge does not (an information gap); symmetric:
    closed questions, where the judge knows what they know (Kenton et al. 2024's contrast)."""
    stated = _stored_spec(store, experiment).get("information")
    if stated in ("symmetric", "asymmetric"):
        return str(stated)
    has_passage = any((json.loads(t.get("question") or "{}") or {}).get("passage") for t in trials)
    return "asymmetric" if has_passage or not trials else "symmetric"


def _judge_order(store: Store, experiment: str) -> list[str]:
    labels = _stored_spec(store, experiment).get("judge_labels")
    return [str(x) for x in labels] if isinstance(labels, list) else []


def _imported(store: Store, experiment: str) -> bool:
    return bool(_stored_spec(store, experiment).get("imported"))


def _judged_by(trial: dict[str, Any], judge: str, order: list[str]) -> bool:
    """Whether the plan asks `judge` for a verdict on `trial`: every judge, except in interactive
    protocols, whose trials belong to one judge (`...:jN:` in the trial id)."""
    p = _registered(trial["protocol"])
    if p is None or not p.interactive:
        return True
    parts = str(trial["trial_id"]).split(":")
    tag = next((x for x in parts if x.startswith("j") and x[1:].isdigit()), None)
    return tag is not None and judge in order and order.index(judge) == int(tag[1:]) - 1


def _spec_hash(store: Store, experiment: str) -> str | None:
    """The hash of the stored spec the tables describe (a report names it)."""
    spec = (store.experiment(experiment) or {}).get("spec")
    return hashlib.sha256(spec.encode()).hexdigest()[:12] if isinstance(spec, str) and spec else None
