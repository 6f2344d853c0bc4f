"""Experiments on labelled questions: `kind: questions` (debate on questions with a `debate` section,
or weak-to-strong with a `w2s` section) and `kind: oversight`, each run by its own runner."""

from __future__ import annotations

from pathlib import Path

from debatelab.agents import make_chat_model
from debatelab.experiments.answer_debate import run_question_debate
from debatelab.experiments.debate import ModelFactory
from debatelab.experiments.oversight import run_oversight
from debatelab.experiments.question_calls import QuestionsSummary
from debatelab.experiments.spec import Experiment
from debatelab.experiments.weak_to_strong import run_weak_to_strong
from debatelab.runtime import RunProgress
from debatelab.store import Store


async def run_questions(exp: Experiment, store: Store, checkpoints: str | Path, progress: RunProgress, *,
                        model_factory: ModelFactory = make_chat_model, preflight: bool = True) -> QuestionsSummary:
    """Run what is missing of a `kind: questions` or `kind: oversight` experiment (resumable; see each
    runner)."""
    if exp.kind == "oversight":
        runner = run_oversight
    else:
        runner = run_question_debate if exp.debate is not None else run_weak_to_strong
    return await runner(exp, store, checkpoints, progress, model_factory=model_factory, preflight=preflight)
