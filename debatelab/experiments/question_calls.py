"""The record of a question experiment's model calls, and what its run reports.

Every answer is a row in `qa_calls`, written as soon as its call returns and keyed by (experiment,
split, question, agent, kind, sample): a re-run skips what is there, so a killed run resumes
without repeating a finished call. Shared by the weak-to-strong and the debate-on-questions runners.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from debatelab.experiments.spec import ExperimentBase
from debatelab.runtime import Failures, RunProgress
from debatelab.scenarios import Question
from debatelab.store import Store


def call_id(exp: str, split: str, qid: str, agent: str, kind: str, sample: int = 0) -> str:
    return f"{exp}:{split}:{qid}:{agent}:{kind}:{sample}"


class QuestionCalls:
    """One experiment's calls: skip what the store has, record what returns."""

    def __init__(self, exp: ExperimentBase, store: Store, progress: RunProgress) -> None:
        self.exp, self.store, self.progress = exp, store, progress
        self.done = store.qa_call_ids(exp.name)
        self.new_calls = 0

    def record(self, q: Question, split: str, agent: str, kind: str, sample: int, *, letter: str | None,
               text: str, unanswered: str | None, model: str, tokens: tuple[int, int], seconds: float,
               calls: int, option_probs: dict[str, float] | None = None, option_mass: float | None = None) -> None:
        row = {"call_id": call_id(self.exp.name, split, q.id, agent, kind, sample), "experiment": self.exp.name,
               "split": split, "question_id": q.id, "agent": agent, "kind": kind, "sample": sample, "letter": letter,
               "truth": q.answer, "correct": int(letter == q.answer) if kind not in ("explanation", "advocate") else None,
               "text": text, "unanswered_reason": unanswered, "model": model, "input_tokens": tokens[0],
               "output_tokens": tokens[1], "duration_s": seconds, "calls": calls,
               "option_probs": json.dumps(option_probs) if option_probs else None, "option_mass": option_mass}
        self.store.write_qa_call(row)
        self.done.add(row["call_id"])
        self.new_calls += calls
        self.progress.count_calls(calls, tokens[1])

    def has(self, q: Question, split: str, agent: str, kind: str, sample: int = 0) -> bool:
        return call_id(self.exp.name, split, q.id, agent, kind, sample) in self.done

    def stored_letter(self, q: Question, split: str, agent: str, kind: str, sample: int = 0) -> str | None:
        row = self.store.qa_call(call_id(self.exp.name, split, q.id, agent, kind, sample))
        return row["letter"] if row else None




@dataclass
class QuestionsSummary:
    """What a question experiment's run did: its results (None while a stage has failures), the new
    model calls, the time, and every question that failed, by stage."""

    experiment: str
    results: dict[str, Any] | None = None
    failures: Failures = field(default_factory=Failures)
    new_calls: int = 0
    wall_s: float = 0.0

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    def record_results(self, store: Store, name: str, results: dict[str, Any]) -> None:
        """Store a finished run's results under `EXPERIMENT:name` (what reports read) and keep them,
        with this run's calls and time, for the terminal summary."""
        store.write_result(f"{self.experiment}:{name}", self.experiment, name, results)
        self.results = {**results, "run": {"new_calls": self.new_calls, "wall_s": self.wall_s}}

    def as_json(self) -> dict[str, Any]:
        return {"experiment": self.experiment, "results": self.results, "new_calls": self.new_calls,
                "wall_s": self.wall_s, "failed": self.failures.as_json()}
