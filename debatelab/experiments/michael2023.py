"""Importing the NYU debates (Michael et al. 2023) as an oversight study.

Every room with a live judge's verdict becomes a trial (`debate` or `consultancy`) with that
verdict: the judge as `human:<anonymised name>`, the chosen answer the one given more than 0.5
(the paper's rule: a judge is correct when its final probability on the correct answer is above
0.5), the probability it gave. The story is the passage (its title: the metadata file holds no
text), so questions on one story form a cluster. The stored spec plans the rooms the paper
included (`includedInPaper`): the report reproduces the paper's table on exactly those. Rows are
keyed by the room's name, so a re-import adds nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from debatelab.analysis import oversight_results
from debatelab.scenarios import MICHAEL2023_PROVENANCE, Room, metadata_file, read_rooms
from debatelab.store import Store

EXPERIMENT = "michael2023"
LETTERS = "ABCDEFGH"


def _question_id(room: Room) -> str:
    return f"{room.story_id}:{hashlib.sha256(room.question.encode()).hexdigest()[:8]}"


def trial_rows(room: Room) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The trial and the live judge's verdict of one finished, judged room."""
    assert room.final_judgement is not None and room.correct_index is not None and room.judge is not None
    letters = LETTERS[: len(room.final_judgement)]
    truth = letters[room.correct_index]
    trial_id = f"{EXPERIMENT}:{room.name}"
    question = {"id": _question_id(room), "question": room.question,
                "options": [f"answer {x} (its text is not in the metadata file)" for x in letters], "answer": truth,
                "passage": f"QuALITY story {room.story_id}: {room.story_title} (the text is not in the metadata file)",
                "source": "michael2023", "setting": room.setting, "room": room.name,
                "included_in_paper": room.included_in_paper}
    sides = [{"position": x, "debater": room.debaters[x], "argued": x} for x in letters if x in room.debaters]
    correct = next((s["debater"] for s in sides if s["argued"] == truth), None)
    incorrect = next((s["debater"] for s in sides if s["argued"] != truth), None)
    trial = {"trial_id": trial_id, "experiment": EXPERIMENT, "protocol": room.protocol, "question_id": question["id"],
             "question": json.dumps(question), "truth": truth, "matchup": "0v0" if room.debate else "c0",
             "correct_debater": correct, "incorrect_debater": incorrect, "sides": json.dumps(sides), "chosen": None,
             "rounds": None, "simultaneous": 0, "fingerprint": "imported", "calls": 0, "input_tokens": 0,
             "output_tokens": 0, "duration_s": 0.0}
    best = max(room.final_judgement)
    tied = sum(1 for p in room.final_judgement if p == best) > 1
    letter = None if tied else letters[room.final_judgement.index(best)]
    verdict = {"verdict_id": f"{trial_id}:human:{room.judge}", "trial_id": trial_id, "experiment": EXPERIMENT,
               "protocol": room.protocol, "question_id": question["id"], "judge": f"human:{room.judge}",
               "letter": letter, "truth": truth, "correct": int(room.final_judgement[room.correct_index] > 0.5),
               "probability": None if tied else best, "reasons": None,
               "unanswered_reason": "the judge ended undecided (equal probabilities)" if tied else None,
               "input_tokens": 0, "output_tokens": 0, "duration_s": 0.0, "calls": 0}
    return trial, [], [verdict]


def import_michael2023(store: Store, location: Path | None = None) -> dict[str, Any]:
    """Import the rooms (from the shipped metadata, or a downloaded `pub/` folder's) and compute
    the report's tables. Returns counts and the skipped lines."""
    path = metadata_file(location)
    rooms, skipped = read_rooms(path)
    judged = [r for r in rooms if r.finished and r.final_judgement is not None and r.judge]
    rows = [trial_rows(r) for r in judged]
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    provenance = {**MICHAEL2023_PROVENANCE, "read_from": "the copy shipped with debatelab" if location is None
                  else str(path), "sha256": sha, "shipped_sha256_matches": sha == MICHAEL2023_PROVENANCE["sha256"]}
    store.upsert_experiment(EXPERIMENT, description="Michael et al. 2023: the NYU debates (human judges; human "
                            "and GPT-4 debaters and consultants), imported", kind="oversight", spec={
                                "imported": "michael2023", "provenance": provenance,
                                "planned_trials": sorted(t["trial_id"] for (t, _, _), r in zip(rows, judged,
                                                                                              strict=True)
                                                         if r.included_in_paper),
                                "transcripts": False}, source_file=str(path))
    store.write_oversight_trials(rows)
    results = oversight_results(store, EXPERIMENT)
    store.write_result(f"{EXPERIMENT}:oversight", EXPERIMENT, "oversight", results)
    return {"rooms": len(rooms), "judged": len(judged), "in_paper": sum(r.included_in_paper for r in judged),
            "unfinished": sum(not r.finished for r in rooms),
            "without_live_verdict": sum(r.finished and r.final_judgement is None for r in rooms),
            "skipped": skipped, "file": str(path)}
