"""Rows of `judge_beliefs`: a judge's probability per answer after a round of an oversight trial.

One shape for every source: an LLM judge stating its belief after every round (`beliefs:
every_round`, its verdict the last), the NYU judges' feedback after each speech round, and their
offline judges' steps. `p_correct` is the probability on the correct answer, the quantity whose
drift the analysis tests."""

from __future__ import annotations

import json
from typing import Any

LETTERS = "ABCDEFGH"


def distribution(letter: str | None, probability: float | None, options: int) -> list[float] | None:
    """An LLM judge's stated probability for its answer, as a distribution over two options (the
    rest on the other); None when it gave no answer or there are more than two options."""
    if letter is None or probability is None or options != 2:
        return None
    chosen = LETTERS.index(letter)
    return [probability if i == chosen else round(1.0 - probability, 6) for i in range(2)]


def belief_row(trial_id: str, experiment: str, key: str, judge: str, after_round: int, belief: dict[str, Any],
               question: Any, source: str) -> dict[str, Any]:
    """`belief`: a graph belief or verdict (letter, probability, cost) or, for imported data, a
    `distribution` (probability per answer) itself."""
    q = question if isinstance(question, dict) else question.model_dump()
    options, truth = len(q["options"]), q["answer"]
    dist = belief.get("distribution") or distribution(belief.get("letter"), belief.get("probability"), options)
    p_correct = float(dist[LETTERS.index(truth)]) if dist and LETTERS.index(truth) < len(dist) else None
    letter = belief.get("letter") if "letter" in belief else (
        None if not dist or list(dist).count(max(dist)) > 1 else LETTERS[list(dist).index(max(dist))])
    return {"belief_id": f"{key}:after{after_round}", "trial_id": trial_id, "experiment": experiment, "judge": judge,
            "source": source, "after_round": after_round, "probabilities": json.dumps(dist) if dist else None,
            "p_correct": p_correct, "letter": letter,
            "unanswered_reason": belief.get("unanswered_reason") if dist is None or letter is None else None,
            "input_tokens": belief.get("input_tokens", 0), "output_tokens": belief.get("output_tokens", 0),
            "duration_s": belief.get("duration_s", 0.0), "calls": belief.get("calls", 0)}
