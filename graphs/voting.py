"""Combining answerers' letters: weighted and majority votes, and EnsemW2S's weighted option
probabilities (used by the `weighted` topology and the weak-to-strong analysis).

An unanswered question (None) is never a vote. Ties go to the earliest letter, so results are
deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Answers = Mapping[str, Sequence[str | None]]  # agent -> one letter (or None) per question
Probabilities = Mapping[str, Sequence[Mapping[str, float] | None]]  # agent -> option probabilities per question


def weighted_probability_vote(answers: Answers, probabilities: Probabilities, weights: Mapping[str, float],
                              letters: Sequence[str]) -> list[str | None]:
    """Per question, the option with the largest sum of weight x option probability (EnsemW2S).

    An answer that came without probabilities counts as probability 1 on its letter, so the vote
    stays defined on backends without logprobs; an unanswered question is still no vote.
    """
    n = len(next(iter(answers.values()))) if answers else 0
    out: list[str | None] = []
    for i in range(n):
        totals = dict.fromkeys(letters, 0.0)
        for agent, given in answers.items():
            letter, weight = given[i], weights.get(agent, 0.0)
            if letter is None or weight <= 0:
                continue
            agent_probs = probabilities.get(agent)
            probs = (agent_probs[i] if agent_probs is not None else None) or {letter: 1.0}
            for option, p in probs.items():
                totals[option] = totals.get(option, 0.0) + weight * p
        best = max(totals.values()) if totals else 0.0
        out.append(next(option for option in totals if totals[option] == best) if best > 0 else None)
    return out


def weighted_vote(answers: Answers, weights: Mapping[str, float], letters: Sequence[str]) -> list[str | None]:
    """Per question, the option with the largest weight sum; None when nobody (weighted) answered."""
    return weighted_probability_vote(answers, {}, weights, letters)


def majority_vote(answers: Answers, letters: Sequence[str]) -> list[str | None]:
    return weighted_vote(answers, dict.fromkeys(answers, 1.0), letters)
