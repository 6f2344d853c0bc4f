"""Model judges on stored transcripts they did not see being made: the released NYU debates
(Michael et al. 2023) read by a local judge, set beside the human judges of the same debates.

The judge reads what a human judge of that protocol read: the question, both answers, the
speeches with their quotes marked verified against the story, never the story. Each verdict is one
structured call, stored as it comes (`TRIAL:JUDGE`), so a killed run redoes at most the call in
flight and a re-run makes no call. Which debates: the experiment's planned trials with transcripts,
in a seeded order, the first N."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from debatelab.agents import ModelSpec, make_chat_model, require_models, resolve_host
from debatelab.analysis import oversight_results, planned_trials
from debatelab.base import UserError
from debatelab.experiments.debate import ModelFactory
from debatelab.graphs import judge_state, verdict_on
from debatelab.store import Store


@dataclass(frozen=True)
class ReleasedJudging:
    judge: str
    chosen: int
    judged_now: int
    already: int
    unanswered: int


def _with_transcripts(store: Store, experiment: str) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    turns: dict[str, list[dict[str, Any]]] = {}
    for t in store.oversight_turns(experiment):
        if t["kind"] == "argument":
            turns.setdefault(t["trial_id"], []).append(t)
    trials = [t for t in planned_trials(store, experiment) if t["trial_id"] in turns]
    return trials, turns


def choose_trials(trials: list[dict[str, Any]], n: int | None, seed: int) -> list[dict[str, Any]]:
    """The first `n` trials in an order drawn from `seed` (stable as trials are added)."""
    ordered = sorted(trials, key=lambda t: hashlib.sha256(f"{seed}:{t['trial_id']}".encode()).hexdigest())
    return ordered if n is None else ordered[:n]


def verdict_row(trial: dict[str, Any], judge: ModelSpec, v: Any) -> dict[str, Any]:
    truth = trial["truth"]
    return {"verdict_id": f"{trial['trial_id']}:{judge.label}", "trial_id": trial["trial_id"],
            "experiment": trial["experiment"], "protocol": trial["protocol"], "question_id": trial["question_id"],
            "judge": judge.label, "letter": v.letter, "truth": truth, "correct": int(v.letter == truth),
            "probability": v.probability, "reasons": v.reasons, "unanswered_reason": v.unanswered_reason,
            "input_tokens": v.input_tokens, "output_tokens": v.output_tokens, "duration_s": v.duration_s,
            "calls": v.calls}


async def judge_stored_transcripts(store: Store, experiment: str, judges: list[ModelSpec], *, n: int | None = None,
                                   seed: int = 0, max_attempts: int = 3, model_factory: ModelFactory = make_chat_model,
                                   preflight: bool = True) -> list[ReleasedJudging]:
    """Have each judge give a verdict on the chosen trials; then recompute the experiment's tables."""
    if store.experiment(experiment) is None:
        raise UserError(f"no experiment {experiment!r} in {store.path}; import it first (debatelab import michael2023)")
    trials, turns = _with_transcripts(store, experiment)
    if not trials:
        raise UserError(f"experiment {experiment!r} has no stored transcripts: import the released debate files "
                        "(`debatelab data fetch michael2023`, then `debatelab import michael2023 DIR/pub`)")
    if n is not None and n < 1:
        raise UserError(f"--n {n}: give the number of debates to judge, 1 or more")
    chosen = choose_trials(trials, n, seed)
    if preflight:
        require_models(judges, resolve_host)
    done = store.oversight_verdict_ids(experiment)
    out = []
    for judge in judges:
        model = model_factory(judge)
        judged = unanswered = 0
        for trial in chosen:
            if f"{trial['trial_id']}:{judge.label}" in done:
                continue
            question = json.loads(trial["question"])
            argued = sorted({s["argued"] for s in json.loads(trial["sides"] or "[]")})
            ordered = sorted(turns[trial["trial_id"]], key=lambda t: t["idx"])
            state = judge_state(question, trial["protocol"], argued, ordered)
            v = await verdict_on(model, state, max_attempts=max_attempts,
                                 run_name=f"{judge.label}:verdict {trial['trial_id']}")
            store.write_oversight_verdict(verdict_row(trial, judge, v))
            judged += 1
            unanswered += v.letter is None
        out.append(ReleasedJudging(judge.label, len(chosen), judged, len(chosen) - judged, unanswered))
    store.write_result(f"{experiment}:oversight", experiment, "oversight", oversight_results(store, experiment))
    return out
