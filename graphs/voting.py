"""Combining answerers' letters: weighted and majority votes (used by the `weighted` topology
and by the weak-to-strong analysis). An unanswered question (None) is never a vote."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Answers = Mapping[str, Sequence[str | None]]  # agent -> one letter (or None) per question


def weighted_vote(answers: Answers, weights: Mapping[str, float], letters: Sequence[str]) -> list[str | None]:
    """Per question, the option with the largest weight sum; None when nobody (weighted) answered.
    Ties go to the earliest letter, so results are deterministic."""
    n = len(next(iter(answers.values()))) if answers else 0
    out: list[str | None] = []
    for i in range(n):
        totals = dict.fromkeys(letters, 0.0)
        for agent, given in answers.items():
            letter = given[i]
            if letter is not None and weights.get(agent, 0.0) > 0:
                totals[letter] = totals.get(letter, 0.0) + weights[agent]
        best = max(totals.values()) if totals else 0.0
        out.append(next(letter for letter in totals if totals[letter] == best) if best > 0 else None)
    return out


def majority_vote(answers: Answers, letters: Sequence[str]) -> list[str | None]:
    return weighted_vote(answers, dict.fromkeys(answers, 1.0), letters)
