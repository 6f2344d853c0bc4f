"""The published tables' rows of an imported study (Michael et al. 2023): per protocol and who
debated, the human judges pooled, counted as the paper counts them (judged debates)."""

from __future__ import annotations

from typing import Any

from debatelab.analysis.clustered import cluster_mean
from debatelab.analysis.oversight_cells import _by, _interval, _protocol_key, _setting, calibration, cluster_of
from debatelab.store import is_human

OFFLINE_PREFIX = "human:offline:"  # people who judged a finished transcript afterwards (the NYU offline judges)


def is_live_person(judge: str) -> bool:
    """A person who judged the debate as it happened (the paper's table counts these alone)."""
    return is_human(judge) and not judge.startswith(OFFLINE_PREFIX)


def reproduction_rows(verdicts: list[dict[str, Any]], trials: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The published tables' rows of an imported study: per protocol and setting (`debaters`:
    human or ai), the human judges pooled (`judge: "human"`), counted as the paper counts them:
    n = judged debates (`unit: "debate"`), both consultancy sides pooled; intervals clustered by
    story (which nests the question)."""
    out = []
    people = [{**v, "setting": _setting(trials[v["trial_id"]]), "pool": "human" if is_live_person(v["judge"])
               else "human (offline)"} for v in verdicts if is_human(v["judge"]) and _setting(trials[v["trial_id"]])]
    for (pool, protocol, setting), vs in sorted(_by(people, "pool", "protocol", "setting").items(),
                                                key=lambda x: (x[0][0], _protocol_key(x[0][1]), x[0][2])):
        est = cluster_mean((cluster_of(trials[v["trial_id"]]), float(bool(v["correct"]))) for v in vs)
        correct = sum(1 for v in vs if v["correct"])
        brier = calibration(vs)
        out.append({"protocol": protocol, "judge": pool, "debaters": setting, "unit": "debate", "n": len(vs),
                    "brier": brier["brier"],
                    "verdicts": len(vs), "correct": correct, "correct_verdicts": correct,
                    "accuracy": est["estimate"], **_interval(est), "judges": len({v["judge"] for v in vs}),
                    "questions": len({v["question_id"] for v in vs}),
                    "unanswered": sum(1 for v in vs if v["letter"] is None)})
    return out


def belief_group(belief: dict[str, Any]) -> str:
    """Whose trajectory a belief joins: the live human judges pooled, the offline ones pooled, or a model."""
    if belief["source"] == "offline":
        return "human (offline)"
    return "human" if is_human(belief["judge"]) else belief["judge"]


def belief_rounds(trials: dict[str, dict[str, Any]], beliefs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The judge's belief round by round (`judge_beliefs`): per protocol, who debated, whose belief
    and after how many rounds, the mean probability on the correct answer and the share above 0.5,
    over the trials that reached that point (a debate the judge ended early drops out: later rounds
    are conditional on continuing). And the drift from the first belief to the last, per trial,
    with a paired cluster t over stories (debate alone should not move the expected belief on the
    truth: Choi et al. 2025's martingale argument)."""
    from debatelab.analysis.clustered import cluster_difference

    points: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for b in beliefs:
        if b["trial_id"] in trials and b["p_correct"] is not None:
            points.setdefault((b["trial_id"], belief_group(b)), []).append((int(b["after_round"]), float(b["p_correct"])))
    cells: dict[tuple[str, str, str, int], list[tuple[str, float]]] = {}
    drift: dict[tuple[str, str, str], list[tuple[str, float, float]]] = {}
    for (trial_id, group), seq in points.items():
        trial = trials[trial_id]
        key = (trial["protocol"], _setting(trial) or "", group)
        for round_no, p in seq:
            cells.setdefault((*key, round_no), []).append((cluster_of(trial), p))
        seq.sort()
        if len(seq) >= 2:
            drift.setdefault(key, []).append((cluster_of(trial), seq[-1][1], seq[0][1]))
    rounds = []
    for (protocol, setting, group, round_no), values in sorted(
            cells.items(), key=lambda x: (_protocol_key(x[0][0]), x[0][1], x[0][2], x[0][3])):
        mean = cluster_mean(values, binary_wilson=False)
        right = cluster_mean((c, float(p > 0.5)) for c, p in values)
        rounds.append({"protocol": protocol, "debaters": setting, "judge": group, "after_round": round_no,
                       "n": mean["n"], "mean_p_correct": mean["estimate"], "ci_low": mean["ci_low"],
                       "ci_high": mean["ci_high"], "accuracy": right["estimate"], "accuracy_ci_low": right["ci_low"],
                       "accuracy_ci_high": right["ci_high"]})
    drifts = []
    for (protocol, setting, group), values in sorted(drift.items(),
                                                     key=lambda x: (_protocol_key(x[0][0]), x[0][1], x[0][2])):
        d = cluster_difference(values)
        drifts.append({"protocol": protocol, "debaters": setting, "judge": group, "n": d["n"], "drift": d["estimate"],
                       "ci_low": d["ci_low"], "ci_high": d["ci_high"], "p": d["p"], "test": d["test"]})
    return {"rounds": rounds, "drift": drifts}


def debate_lengths(trials: dict[str, dict[str, Any]], turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """How long the imported debates were, per protocol and who debated: speeches and characters
    per debate (the paper compares them: its human debates were shorter than consultancies)."""
    per: dict[str, list[int]] = {}
    for t in turns:
        if t.get("kind") == "argument" and t["trial_id"] in trials:
            per.setdefault(t["trial_id"], []).append(len(t.get("text") or ""))
    cells: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for trial_id, lengths in per.items():
        trial = trials[trial_id]
        cells.setdefault((trial["protocol"], _setting(trial) or ""), []).append((len(lengths), sum(lengths)))
    return [{"protocol": p, "debaters": s, "debates": len(v), "speeches_per_debate": round(sum(a for a, _ in v) / len(v), 2),
             "characters_per_debate": round(sum(b for _, b in v) / len(v), 1)}
            for (p, s), v in sorted(cells.items(), key=lambda x: (_protocol_key(x[0][0]), x[0][1]))]
