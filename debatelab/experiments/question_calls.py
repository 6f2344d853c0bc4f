"""The record of a question experiment's model calls, and what its run reports.

Every answer is a row in `qa_calls`, written as soon as its call returns and keyed by (experiment,
split, question, agent, kind, sample) and by a content key: a hash of the question's content
(text, options, answer, passage) and of what shapes the answers (the configuration's models and
personas, sampling settings). A re-run skips what is there, so a killed run resumes without
repeating a finished call; an edited question or a changed configuration is asked again, never
answered from the old rows. The runner records each question's current key in the stored spec
(`question_keys`); the store then reads the current rows only. Shared by the weak-to-strong and
the debate-on-questions runners.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from debatelab.agents import ModelSpec, require_models, resolve_host
from debatelab.experiments.spec import ExperimentBase
from debatelab.runtime import Failures, RunProgress
from debatelab.scenarios import Question
from debatelab.store import Store, open_checkpointer


def call_id(exp: str, split: str, qid: str, agent: str, kind: str, sample: int = 0, key: str = "") -> str:
    base = f"{exp}:{split}:{qid}:{agent}:{kind}:{sample}"
    return f"{base}:{key}" if key else base


def content_key(question: Question, fingerprint: str) -> str:
    """What a question's answers depend on: its content and the run's fingerprint."""
    text = json.dumps(question.model_dump(), sort_keys=True) + "|" + fingerprint
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class QuestionCalls:
    """One experiment's calls: skip what the store has, record what returns."""

    def __init__(self, exp: ExperimentBase, store: Store, progress: RunProgress, fingerprint: str = "") -> None:
        self.exp, self.store, self.progress, self.fingerprint = exp, store, progress, fingerprint
        self.done = store.qa_call_ids(exp.name)
        self.new_calls = 0

    def key(self, q: Question) -> str:
        return content_key(q, self.fingerprint)

    def id_of(self, q: Question, split: str, agent: str, kind: str, sample: int = 0) -> str:
        return call_id(self.exp.name, split, q.id, agent, kind, sample, self.key(q))

    def keys(self, questions: list[Question]) -> dict[str, str]:
        """Each question's current key, for the stored spec (`question_keys`)."""
        return {q.id: self.key(q) for q in questions}

    def record(self, q: Question, split: str, agent: str, kind: str, sample: int, *, letter: str | None,
               text: str, unanswered: str | None, model: str, tokens: tuple[int, int], seconds: float,
               calls: int, option_probs: dict[str, float] | None = None, option_mass: float | None = None) -> None:
        row = {"call_id": self.id_of(q, split, agent, kind, sample), "experiment": self.exp.name,
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
        return self.id_of(q, split, agent, kind, sample) in self.done

    def stored_letter(self, q: Question, split: str, agent: str, kind: str, sample: int = 0) -> str | None:
        row = self.store.qa_call(self.id_of(q, split, agent, kind, sample))
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


class QuestionRun(Protocol):
    """What a question study's runner provides to the one skeleton every such run follows."""

    exp: Any
    failures: Failures

    @property
    def specs(self) -> list[ModelSpec]: ...

    @property
    def calls_made(self) -> int: ...

    def check(self) -> None: ...

    def record_experiment(self) -> None: ...

    async def run_stages(self, saver: Any) -> None: ...

    def results(self) -> dict[str, Any]: ...


async def run_question_study(run: QuestionRun, store: Store, checkpoints: str | Path, *, result_key: str,
                             preflight: bool) -> QuestionsSummary:
    """Preflight (every model answers, and the study's own checks), the provenance record, the
    checkpointer, the stages, and the results once no stage has failures: the same for question
    debate, weak-to-strong and oversight, so a new question study writes only its stages."""
    started = time.monotonic()
    summary = QuestionsSummary(run.exp.name, failures=run.failures)
    if preflight:
        require_models(run.specs, resolve_host)
        run.check()
    run.record_experiment()
    async with open_checkpointer(checkpoints) as saver:
        await run.run_stages(saver)
    summary.new_calls = run.calls_made
    summary.wall_s = round(time.monotonic() - started, 1)
    if not run.failures:
        summary.record_results(store, result_key, run.results())
    return summary


class CallCountingRun:
    """A question runner whose calls go through a `QuestionCalls` (`self.calls`), with no check
    beyond the models': the defaults of question debate and weak-to-strong."""

    calls: QuestionCalls

    @property
    def calls_made(self) -> int:
        return self.calls.new_calls

    def check(self) -> None:
        """No check beyond the models'."""
