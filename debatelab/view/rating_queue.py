"""The blind rating queue: which debate a rater sees next, and exactly what they see.

The order is a hash of (rater, experiment, debate id): random across debates (so raters do not
all rate the same first debates, and no configuration comes in a block), yet stable for a rater,
so a closed tab or a restarted server resumes where it stopped. The text is the LLM judge's own
view, by the same function (`judge_view`): anonymised speakers, model names masked, control
tokens and look-alike delimiters neutralised. No configuration or model name reaches the page.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from debatelab.graphs import judge_view
from debatelab.judging import stored_transcript
from debatelab.store import Store


def rater_order(rater: str, experiment: str, debate_ids: list[str]) -> list[str]:
    def key(debate_id: str) -> str:
        return hashlib.sha256(f"{rater}\x1f{experiment}\x1f{debate_id}".encode()).hexdigest()

    return sorted(debate_ids, key=key)


@dataclass
class QueueState:
    order: list[str]
    rated: set[str]

    @property
    def total(self) -> int:
        return len(self.order)

    @property
    def done(self) -> int:
        return sum(d in self.rated for d in self.order)

    def next_unrated(self) -> str | None:
        return next((d for d in self.order if d not in self.rated), None)

    def position(self, debate_id: str) -> int:
        return self.order.index(debate_id) + 1


def queue_for(store: Store, experiment: str, judge: str, rubric_version: str) -> QueueState:
    rater = judge.split(":", 1)[1]
    order = rater_order(rater, experiment, store.experiment_debate_ids(experiment))
    return QueueState(order, store.rated_debate_ids(experiment, judge, rubric_version))


def blind_view(store: Store, debate: dict) -> str:
    """The judge's view of a stored debate (debate order, anonymised, neutralised)."""
    text, _nonce, _order = judge_view(stored_transcript(store, debate).model_dump(), anonymise=True)
    return text
