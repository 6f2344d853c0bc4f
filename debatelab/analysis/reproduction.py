"""The published tables' rows of an imported study (Michael et al. 2023): per protocol and who
debated, the human judges pooled, counted as the paper counts them (judged debates)."""

from __future__ import annotations

from typing import Any

from debatelab.analysis.clustered import cluster_mean
from debatelab.analysis.oversight_cells import _by, _interval, _protocol_key, _setting, cluster_of
from debatelab.store import is_human


def reproduction_rows(verdicts: list[dict[str, Any]], trials: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The published tables' rows of an imported study: per protocol and setting (`debaters`:
    human or ai), the human judges pooled (`judge: "human"`), counted as the paper counts them:
    n = judged debates (`unit: "debate"`), both consultancy sides pooled; intervals clustered by
    story (which nests the question)."""
    out = []
    people = [v for v in verdicts if is_human(v["judge"]) and _setting(trials[v["trial_id"]])]
    for (protocol, setting), vs in sorted(_by([{**v, "setting": _setting(trials[v["trial_id"]])} for v in people],
                                              "protocol", "setting").items(),
                                          key=lambda x: (_protocol_key(x[0][0]), x[0][1])):
        est = cluster_mean((cluster_of(trials[v["trial_id"]]), float(bool(v["correct"]))) for v in vs)
        correct = sum(1 for v in vs if v["correct"])
        out.append({"protocol": protocol, "judge": "human", "debaters": setting, "unit": "debate", "n": len(vs),
                    "verdicts": len(vs), "correct": correct, "correct_verdicts": correct,
                    "accuracy": est["estimate"], **_interval(est), "judges": len({v["judge"] for v in vs}),
                    "questions": len({v["question_id"] for v in vs}),
                    "unanswered": sum(1 for v in vs if v["letter"] is None)})
    return out
