"""Importing Khan et al. 2024's human judgments as an oversight study.

Each kept row is a person's verdict (`human:khan-<judge_id>`) on one debate, consultancy or
baseline (`debate`, `interactive_debate`, `consultancy`, `naive`), the story the cluster of its
questions. The dataset's documented exclusions are applied by name (by default the three its
authors applied to every analysis) and counted; `experiments` keeps only some experiments (e.g.
["8"], the paper's test set, with ["9"] for its naive baseline). Rows are keyed by the debate and
the judge, so a re-import adds nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from debatelab.analysis import oversight_results
from debatelab.base import sha256_of
from debatelab.graphs import neutralise
from debatelab.scenarios import KHAN2024_PROVENANCE, KhanJudgment, excluded_by, read_judgments
from debatelab.store import Store

EXPERIMENT = "khan2024"


def _protocol(j: KhanJudgment) -> str:
    if j.method == "baseline":
        return "naive"
    if j.method == "debate":
        return "interactive_debate" if j.interactive else "debate"
    return "consultancy"


def _setting(j: KhanJudgment) -> str:
    if j.method == "baseline":
        return "none"
    return "ai (interactive judge)" if j.interactive and j.method == "consultancy" else "ai"


def rows_of(j: KhanJudgment) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    truth, other = j.truth, "A" if j.truth == "B" else "B"
    trial_id = f"{EXPERIMENT}:{j.debate_id}"
    question = {"id": f"{j.story_id}:{hashlib.sha256(j.question.encode()).hexdigest()[:8]}", "question": j.question,
                "options": list(j.answers) if j.answers else ["answer A (not in this row)", "answer B (not in this row)"],
                "answer": truth, "passage": f"QuALITY story {j.story_title or j.story_id} (the dataset omits the text)",
                "source": "khan2024", "setting": _setting(j), "khan_experiment": j.experiment, "story": j.story_id}
    argued = {"correct": truth, "incorrect": other}
    if j.method == "debate":
        sides = [{"position": x, "debater": "AI", "argued": x} for x in ("A", "B")]
    elif j.method == "consultancy" and j.consultant_type:
        x = argued[j.consultant_type]
        sides = [{"position": x, "debater": "AI", "argued": x}]
    else:
        sides = []
    consultant_right = j.method == "consultancy" and j.consultant_type == "correct"
    trial = {"trial_id": trial_id, "experiment": EXPERIMENT, "protocol": _protocol(j), "question_id": question["id"],
             "question": json.dumps(question), "truth": truth, "matchup": "imported",
             "correct_debater": "AI" if j.method == "debate" or consultant_right else None,
             "incorrect_debater": "AI" if j.method == "debate" or (j.method == "consultancy" and not consultant_right)
             else None, "sides": json.dumps(sides), "chosen": None, "rounds": max((r for r, _, _ in j.speeches),
                                                                                  default=0),
             "simultaneous": 0, "fingerprint": "imported", "calls": 0, "input_tokens": 0, "output_tokens": 0,
             "duration_s": 0.0}
    turns = []
    for idx, (round_no, who, text) in enumerate(j.speeches):
        letter = argued.get(who)
        turns.append({"turn_id": f"{trial_id}:{idx}", "trial_id": trial_id, "experiment": EXPERIMENT, "idx": idx,
                      "round": round_no, "kind": "question" if who == "judge" else "argument",
                      "position": "judge" if who == "judge" else letter, "agent": who, "debater": "AI",
                      "model": "AI" if who != "judge" else "human", "letter": letter,
                      "side": None if who == "judge" else who, "text": text, "shown": neutralise(text),
                      "quotes": text.count("<quote>") + text.count("<v_quote>") + text.count("<u_quote>"),
                      "verified_quotes": text.count("<v_quote>"), "candidates": 1, "preference_scores": "[]",
                      "unanswered_reason": None, "input_tokens": 0, "output_tokens": 0, "duration_s": 0.0, "calls": 0})
    verdict = {"verdict_id": f"{trial_id}:human:khan-{j.judge_id}", "trial_id": trial_id, "experiment": EXPERIMENT,
               "protocol": _protocol(j), "question_id": question["id"], "judge": f"human:khan-{j.judge_id}",
               "letter": truth if j.correct else other, "truth": truth, "correct": int(j.correct),
               "probability": j.confidence, "reasons": None, "unanswered_reason": None, "input_tokens": 0,
               "output_tokens": 0, "duration_s": 0.0, "calls": 0}
    return trial, turns, [verdict]


def import_khan2024(store: Store, path: Path, *, experiments: list[str] | None = None,
                    exclusions: tuple[str, ...] = ()) -> dict[str, Any]:
    """Import the kept rows and compute the tables; returns counts, exclusions and skipped lines."""
    judgments, skipped = read_judgments(path)
    excluded: Counter[str] = Counter()
    kept = []
    for j in judgments:
        if experiments and j.experiment not in experiments:
            excluded["not a chosen experiment"] += 1
            continue
        reason = excluded_by(j, exclusions)
        if reason:
            excluded[reason] += 1
            continue
        kept.append(j)
    merged: dict[str, tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for j in kept:  # a debate judged by several people: one trial, a verdict each
        trial, turns, verdicts = rows_of(j)
        if trial["trial_id"] in merged:
            merged[trial["trial_id"]][2].extend(verdicts)
        else:
            merged[trial["trial_id"]] = (trial, turns, verdicts)
    sha = sha256_of(path)
    store.upsert_experiment(EXPERIMENT, description="Khan et al. 2024: human judges of GPT-4 debates and "
                            "consultancies on QuALITY, imported", kind="oversight", spec={
                                "imported": "khan2024", "provenance": {**KHAN2024_PROVENANCE, "read_from": str(path),
                                                                       "sha256": sha},
                                "experiments": experiments or "all", "exclusions": list(exclusions),
                                "planned_trials": sorted(merged)}, source_file=str(path))
    store.write_oversight_trials(list(merged.values()))
    store.write_result(f"{EXPERIMENT}:oversight", EXPERIMENT, "oversight", oversight_results(store, EXPERIMENT))
    return {"rows": len(judgments), "kept": len(kept), "trials": len(merged), "excluded": dict(excluded),
            "skipped": skipped, "file": str(path),
            "transcripts": sum(1 for t, turns, _ in merged.values() if turns)}
