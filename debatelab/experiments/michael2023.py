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

from debatelab.analysis import OFFLINE_PREFIX, oversight_results
from debatelab.base import sha256_of
from debatelab.experiments.beliefs import belief_row
from debatelab.graphs import mark_released_quotes, neutralise
from debatelab.scenarios import (
    MICHAEL2023_PROVENANCE,
    DebateFile,
    Room,
    debate_files,
    metadata_file,
    read_debate,
    read_rooms,
)
from debatelab.store import Store

EXPERIMENT = "michael2023"
LETTERS = "ABCDEFGH"


def _question_id(room: Room) -> str:
    return f"{room.story_id}:{hashlib.sha256(room.question.encode()).hexdigest()[:8]}"


def trial_rows(room: Room, debate: DebateFile | None = None
               ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The trial, its turns (with the debate file: the speeches, quotes verified against the story,
    and the live judge's belief after each round) and the live judge's verdict of one judged room."""
    assert room.final_judgement is not None and room.correct_index is not None and room.judge is not None
    letters = LETTERS[: len(room.final_judgement)]
    truth = letters[room.correct_index]
    trial_id = f"{EXPERIMENT}:{room.name}"
    question = {"id": _question_id(room), "question": room.question,
                "options": list(debate.answers) if debate else [f"answer {x} (its text is not in the metadata file)"
                                                                 for x in letters], "answer": truth,
                "passage": debate.passage if debate else f"QuALITY story {room.story_id}: {room.story_title} (the "
                                                         f"text is not in the metadata file)",
                "source": "michael2023", "setting": room.setting, "room": room.name,
                "included_in_paper": room.included_in_paper, "story": room.story_id}
    sides = [{"position": x, "debater": room.debaters[x], "argued": x} for x in letters if x in room.debaters]
    correct = next((s["debater"] for s in sides if s["argued"] == truth), None)
    incorrect = next((s["debater"] for s in sides if s["argued"] != truth), None)
    trial = {"trial_id": trial_id, "experiment": EXPERIMENT, "protocol": room.protocol, "question_id": question["id"],
             "question": json.dumps(question), "truth": truth, "matchup": "0v0" if room.debate else "c0",
             "correct_debater": correct, "incorrect_debater": incorrect, "sides": json.dumps(sides), "chosen": None,
             "rounds": None, "simultaneous": 0, "fingerprint": "imported", "calls": 0, "input_tokens": 0,
             "output_tokens": 0, "duration_s": 0.0}
    live = _person_verdict(trial_id, question, room, f"{trial_id}:human:{room.judge}", f"human:{room.judge}",
                           room.final_judgement)
    offline = [_person_verdict(trial_id, question, room, f"{trial_id}:offline:{name}", f"{OFFLINE_PREFIX}{name}", dist)
               for name, _, dist in room.offline if len(dist) == len(letters)]
    return trial, _turns(trial_id, debate, truth) if debate else [], [live, *offline]


def _person_verdict(trial_id: str, question: dict[str, Any], room: Room, verdict_id: str, judge: str,
                    dist: tuple[float, ...]) -> dict[str, Any]:
    """A person's final distribution as a verdict: the answer given more than the others (none on a
    tie), correct when the probability on the correct answer is above 0.5, as the paper scores it.
    The live judge and the offline judges (who read the finished transcript afterwards, and are
    never pooled with the live ones) alike."""
    best = max(dist)
    tied = dist.count(best) > 1
    return {"verdict_id": verdict_id, "trial_id": trial_id, "experiment": EXPERIMENT, "protocol": room.protocol,
            "question_id": question["id"], "judge": judge, "letter": None if tied else LETTERS[dist.index(best)],
            "truth": question["answer"], "correct": int(dist[LETTERS.index(question["answer"])] > 0.5),
            "probability": None if tied else best, "reasons": None,
            "unanswered_reason": "the judge ended undecided (equal probabilities)" if tied else None,
            "input_tokens": 0, "output_tokens": 0, "duration_s": 0.0, "calls": 0}


def belief_rows(room: Room, debate: DebateFile, question: dict[str, Any]) -> list[dict[str, Any]]:
    """The live judge's distribution after each speech round, as `judge_beliefs` rows."""
    trial_id, judge = f"{EXPERIMENT}:{room.name}", f"human:{room.judge}"
    return [belief_row(trial_id, EXPERIMENT, f"{trial_id}:{judge}:{i}", judge, round_no, {"distribution": list(dist)},
                       question, "live") for i, (round_no, dist) in enumerate(debate.beliefs)]


def _turns(trial_id: str, debate: DebateFile, truth: str) -> list[dict[str, Any]]:
    """Speeches as argument turns, with the judge's view: quotes marked verified against the story."""
    rows: list[dict[str, Any]] = []
    for idx, item in enumerate(sorted(debate.speeches, key=lambda x: x.round)):
        check = mark_released_quotes(neutralise(item.text), debate.passage)
        rows.append({"turn_id": f"{trial_id}:{idx}", "trial_id": trial_id, "experiment": EXPERIMENT, "idx": idx,
                     "round": item.round, "candidates": 1, "preference_scores": "[]", "unanswered_reason": None,
                     "input_tokens": 0, "output_tokens": 0, "duration_s": 0.0, "calls": 0,
                     "kind": "argument", "position": item.debater, "agent": f"debater_{item.debater}",
                     "debater": item.speaker, "model": "human" if item.speaker != "GPT-4" else "GPT-4",
                     "letter": item.debater, "side": "correct" if item.debater == truth else "incorrect",
                     "text": item.text, "shown": check.text, "quotes": check.quotes,
                     "verified_quotes": check.verified})
    return rows


def import_michael2023(store: Store, location: Path | None = None, *, every_room: bool = False) -> dict[str, Any]:
    """Import the rooms (from the shipped metadata, or a downloaded `pub/` folder's) and compute
    the report's tables: on the paper's debates (`includedInPaper`), or with `every_room` on every
    judged room. Returns counts and the skipped lines."""
    path = metadata_file(location)
    rooms, skipped = read_rooms(path)
    judged = [r for r in rooms if r.finished and r.final_judgement is not None and r.judge]
    folder = debate_files(location)
    debates: dict[str, DebateFile] = {}
    for room in judged if folder is not None else []:
        file = folder / f"{room.name}.json"
        if file.is_file():
            try:
                debates[room.name] = read_debate(file)
            except ValueError as exc:
                skipped.append(f"{file}: {exc}; its verdict is imported without a transcript")
    rows = [trial_rows(r, debates.get(r.name)) for r in judged]
    sha = sha256_of(path)
    provenance = {**MICHAEL2023_PROVENANCE, "read_from": "the copy shipped with debatelab" if location is None
                  else str(path), "sha256": sha, "shipped_sha256_matches": sha == MICHAEL2023_PROVENANCE["sha256"]}
    store.upsert_experiment(EXPERIMENT, description="Michael et al. 2023: the NYU debates (human judges; human "
                            "and GPT-4 debaters and consultants), imported", kind="oversight", spec={
                                "imported": "michael2023", "provenance": provenance,
                                "rooms": "every judged room" if every_room else "the paper's (includedInPaper)",
                                "planned_trials": sorted(t["trial_id"] for (t, _, _), r in zip(rows, judged,
                                                                                              strict=True)
                                                         if r.included_in_paper or every_room),
                                "transcripts": len(debates)}, source_file=str(path))
    store.write_oversight_trials(rows)
    store.write_judge_beliefs([b for (trial, _, _), r in zip(rows, judged, strict=True) if r.name in debates
                               for b in belief_rows(r, debates[r.name], json.loads(trial["question"]))])
    results = oversight_results(store, EXPERIMENT)
    store.write_result(f"{EXPERIMENT}:oversight", EXPERIMENT, "oversight", results)
    return {"rooms": len(rooms), "judged": len(judged), "in_paper": sum(r.included_in_paper for r in judged),
            "unfinished": sum(not r.finished for r in rooms),
            "without_live_verdict": sum(r.finished and r.final_judgement is None for r in rooms),
            "skipped": skipped, "file": str(path), "transcripts": len(debates)}
