"""The oversight study, simulated: the experiment's own design (protocols, debaters, judges,
assignments, the balanced option order) on synthetic questions, verdicts drawn from a declared
truth, stored through the runner's own `write` and analysed by the report's own
`oversight_results`.

The truth model, on the logit scale, for one verdict of judge j on question q (passage p):

    logit P(correct) = a[protocol] + judge[j] + u_q + v_p + position + arguers

u_q ~ N(0, question_sd), v_p ~ N(0, passage_sd); position is +position_bias when the correct
answer stands at A, -position_bias at B; arguers is, in debate, the strength of the debater
arguing the correct side minus the other's, and in consultancy ±(side_gap/2 + the consultant's
strength), + when it argues the correct answer. A verdict is unanswered with probability
`unanswered`, independently. a[protocol] is solved so that a judge with effect 0, in self-play
between equal debaters, averaged over positions, sides and questions, is right with the declared
accuracy among answered verdicts.

True values are exact integrals of that model over the question and passage effects (Gauss-
Hermite quadrature), averaged over the cells a figure pools, with the tool's unanswered rule
applied (unanswered counts as wrong: true = (1 - unanswered) × the answered accuracy). A
difference's true value is the difference of its two figures' true values.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from debatelab.analysis import oversight_results
from debatelab.base import UserError
from debatelab.experiments import OversightExperiment, OversightRun
from debatelab.graphs import judge_agent, protocol_named
from debatelab.runtime import RunProgress
from debatelab.scenarios import Question
from debatelab.store import Store
from debatelab.studies.simulation import (
    Interval,
    StudyOutcome,
    Test,
    expit,
    gauss_hermite,
    keyed,
    load_truth,
    simulate_many,
)

ROW_KEYS = ("protocol", "judge", "side", "matchup", "position")
INTERVAL_NOTE = ("Intervals: per-question values clustered by passage; proportions get Wilson's interval at the "
                 "effective sample size with t quantiles (passages - 1 df), differences a cluster t interval; Wilson "
                 "for one verdict per question on distinct passages. Tests: the p the report prints, after Holm over "
                 "the comparisons table. The Bradley-Terry ratings are not simulated (the truth has no value on their "
                 "scale).")


class OversightTruth(BaseModel):
    """What a simulated oversight study draws its verdicts from (see the module's docstring)."""

    model_config = ConfigDict(extra="forbid")

    questions: int = Field(ge=2, le=100_000, description="questions per simulated study")
    passages: int | None = Field(default=None, ge=1, description="passages the questions share (default: one each)")
    accuracy: dict[str, float] = Field(description="population accuracy per protocol of a judge with effect 0")
    question_sd: float = Field(default=1.0, ge=0, le=10)
    passage_sd: float = Field(default=0.0, ge=0, le=10)
    judges: list[float] | dict[str, float] = Field(default_factory=lambda: [0.0])
    debaters: list[float] | dict[str, float] = Field(default_factory=lambda: [0.0])
    side_gap: float = Field(default=0.0, ge=-10, le=10)
    position_bias: float = Field(default=0.0, ge=-10, le=10)
    unanswered: float = Field(default=0.0, ge=0, lt=1)

    @field_validator("accuracy")
    @classmethod
    def _proper(cls, v: dict[str, float]) -> dict[str, float]:
        for name, a in v.items():
            if not 0 < a < 1:
                raise ValueError(f"{name}: an accuracy is strictly between 0 and 1, not {a}")
        return v


def _effects(given: list[float] | dict[str, float], labels: list[str], what: str, source: str) -> list[float]:
    if isinstance(given, dict):
        unknown = sorted(set(given) - set(labels))
        if unknown:
            raise UserError(f"{source}: field '{what}': {unknown[0]!r} is not one of the experiment's {what} "
                            f"({', '.join(labels)})")
        return [float(given.get(label, 0.0)) for label in labels]
    if len(given) != len(labels):
        raise UserError(f"{source}: field '{what}': {len(given)} values for the experiment's {len(labels)} {what} "
                        f"({', '.join(labels)}); give one each, in the experiment's order")
    return [float(x) for x in given]


class OversightTruthModel:
    """The declared truth, bound to an experiment's design: intercepts and true values."""

    def __init__(self, truth: OversightTruth, run: OversightRun, source: str) -> None:
        self.truth = truth
        self.judge_labels = [j.label for j in run.judges]
        self.judge = dict(zip(self.judge_labels, _effects(truth.judges, self.judge_labels, "judges", source),
                              strict=True))
        self.strength = _effects(truth.debaters, run.names, "debaters", source)
        self.sigma = math.hypot(truth.question_sd, truth.passage_sd)
        self.nodes, self.weights = gauss_hermite()
        missing = [p for p in run.exp.protocols if p not in truth.accuracy]
        if missing:
            raise UserError(f"{source}: field 'accuracy': no accuracy for protocol {missing[0]!r}; declare one for "
                            f"each of the experiment's protocols ({', '.join(run.exp.protocols)})")
        chooses = [p for p in run.exp.protocols if protocol_named(p).chooses]
        if chooses:
            raise UserError(f"{source}: protocol {chooses[0]!r} lets the agent choose its answer, which the "
                            f"simulator has no model of; simulate the assigned protocols")
        self.alpha = {p: self._solve(truth.accuracy[p], self._base_offsets(p)) for p in run.exp.protocols}

    # -- the model ------------------------------------------------------------------------------
    def _base_offsets(self, protocol: str) -> list[float]:
        """The arguers' term of the declared cell: consultancy ±side_gap/2, else none."""
        g = self.truth.side_gap / 2
        return [g, -g] if protocol_named(protocol).speakers == 1 else [0.0]

    def answered(self, x: float, position: str | None = None) -> float:
        """E over question and passage effects (and over positions unless one is given) of expit."""
        b = self.truth.position_bias
        shifts = {"A": [b], "B": [-b]}.get(position or "", [b, -b])
        z = self.sigma * self.nodes
        return float(np.mean([np.sum(self.weights * expit(x + s + z)) for s in shifts]))

    def _solve(self, target: float, offsets: list[float]) -> float:
        lo, hi = -30.0, 30.0
        for _ in range(100):
            mid = (lo + hi) / 2
            if np.mean([self.answered(mid + o) for o in offsets]) < target:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    def offsets(self, protocol: str, matchup: str, side: str | None = None) -> list[float]:
        """The arguers' terms a figure averages over (one per verdict kind of a question)."""
        speakers = protocol_named(protocol).speakers
        g = self.truth.side_gap / 2
        if speakers == 1:
            i = int(matchup[1:]) if matchup.startswith("c") else 0
            up = g + self.strength[i]
            return {"correct": [up], "incorrect": [-up]}.get(side or "", [up, -up])
        if speakers == 2:
            n = len(self.strength)
            if matchup == "cross-play":
                return [self.strength[i] - self.strength[j] for i in range(n) for j in range(n) if i != j]
            if matchup == "all":
                return [self.strength[i] - self.strength[j] for i in range(n) for j in range(n)]
            a, _, b = matchup.partition("v")
            return [self.strength[int(a)] - self.strength[int(b)]]
        return [0.0]

    def value(self, protocol: str, judge: str, offsets: list[float], position: str | None = None) -> float | None:
        if protocol not in self.alpha or judge not in self.judge:
            return None
        x = self.alpha[protocol] + self.judge[judge]
        return (1 - self.truth.unanswered) * float(np.mean([self.answered(x + o, position) for o in offsets]))

    def true_value(self, figure: str, keys: dict[str, Any]) -> float | None:
        protocol, judge = keys.get("protocol"), keys.get("judge")
        if figure == "difference":
            first = self.true_value("accuracy", {"protocol": keys.get("first"), "judge": judge})
            second = self.true_value("accuracy", {"protocol": keys.get("second"), "judge": judge})
            return None if first is None or second is None else first - second
        if not isinstance(protocol, str) or not isinstance(judge, str) or protocol not in self.alpha:
            return None
        speakers = protocol_named(protocol).speakers
        headline = {0: "-", 1: "c0"}.get(speakers, "0v0")
        if figure == "truth_advantage":
            return self.value(protocol, judge, self.offsets(protocol, "all"))
        if figure != "accuracy":
            return None
        position = keys.get("position")
        letter = position[-1] if isinstance(position, str) and position.startswith("correct is ") else None
        return self.value(protocol, judge, self.offsets(protocol, keys.get("matchup") or headline, keys.get("side")),
                          letter)

    def logit(self, protocol: str, judge: str, arguers: float, truth_letter: str) -> float:
        b = self.truth.position_bias
        return self.alpha[protocol] + self.judge[judge] + arguers + (b if truth_letter == "A" else -b)


def synthetic_questions(truth: OversightTruth) -> list[Question]:
    """Questions q000.. in passages of (nearly) equal size; the correct answer alternates A/B (the
    experiment's `shuffle_options` then places it as a run would)."""
    passages = truth.passages or truth.questions
    width = len(str(truth.questions))
    return [Question(id=f"q{i:0{width}d}", question=f"Simulated question {i}?", options=["yes", "no"],
                     answer="AB"[i % 2], passage=f"Simulated passage {i * passages // truth.questions}.")
            for i in range(truth.questions)]


def _arguers(model: OversightTruthModel, trial: Any) -> float:
    p = protocol_named(trial.protocol)
    letters = [s.get("letter") for s in trial.sides]
    if p.speakers == 1:
        up = model.truth.side_gap / 2 + model.strength[trial.debaters[0]]
        return up if letters[0] == trial.question.answer else -up
    if p.speakers == 2:
        right = next(d for d, x in zip(trial.debaters, letters, strict=True) if x == trial.question.answer)
        wrong = next(d for d, x in zip(trial.debaters, letters, strict=True) if x != trial.question.answer)
        return model.strength[right] - model.strength[wrong]
    return 0.0


def simulate_oversight(exp: OversightExperiment, truth_path: Path, *, studies: int, seed: int) -> dict[str, Any]:
    truth = load_truth(OversightTruth, truth_path)
    questions = synthetic_questions(truth)
    with tempfile.TemporaryDirectory(prefix="debatelab-simulate-") as tmp:
        template = Path(tmp) / "template.db"
        with Store.open(template) as store:
            run = OversightRun(exp, store, RunProgress(None, enabled=False), model_factory=None,  # type: ignore[arg-type]
                               questions=questions)
            run.record_experiment()
        model = OversightTruthModel(truth, run, str(truth_path))
        passage_of = {q.id: int(q.passage.split()[-1].rstrip(".")) for q in questions}
        n_passages = max(passage_of.values()) + 1
        base = [(t, model.logit(t.protocol, run.judges[j].label, _arguers(model, t), t.question.answer), j)
                for t in run.trials for j in t.judges]

        values = {t.trial_id: {"question": t.question.model_dump(), "sides": list(t.sides), "turns": []}
                  for t in run.trials}
        agents = {t.trial_id: run.agents_of(t) for t in run.trials}

        def one(i: int) -> StudyOutcome:
            rng = np.random.default_rng([seed, i])
            u = rng.normal(0, truth.question_sd, len(questions))
            v = rng.normal(0, truth.passage_sd, n_passages)
            effect = {q.id: u[k] + v[passage_of[q.id]] for k, q in enumerate(questions)}
            draws = rng.random((len(base), 2))
            path = Path(tmp) / "study.db"
            shutil.copyfile(template, path)
            with Store.open(path) as store:
                run.store = store
                verdicts: dict[str, list[dict[str, Any]]] = {}
                for (trial, logit, j), (r_answer, r_correct) in zip(base, draws, strict=True):
                    right = r_correct < expit(logit + effect[trial.question.id])
                    other = "B" if trial.question.answer == "A" else "A"
                    letter = None if r_answer < truth.unanswered else (trial.question.answer if right else other)
                    verdicts.setdefault(trial.trial_id, []).append({
                        "judge": judge_agent(j), "letter": letter, "probability": None if letter is None else 0.7,
                        "reasons": "simulated", "unanswered_reason": "simulated unreadable" if letter is None else None,
                        "input_tokens": 0, "output_tokens": 0, "duration_s": 0.0, "calls": 1})
                store.write_oversight_trials([run.rows(trial, {**values[trial.trial_id], "verdicts": verdicts[
                    trial.trial_id]}, agents[trial.trial_id]) for trial in run.trials])
                results = oversight_results(store, exp.name, with_ratings=False)
            path.unlink()
            return outcome_of(results)

        return {"kind": "oversight", "experiment": exp.name, "seed": seed,
                "design": {"questions": truth.questions, "passages": n_passages, "protocols": exp.protocols,
                           "judges": model.judge_labels, "debaters": run.names, "assignments": exp.assignments,
                           "trials_per_study": len(run.trials), "verdicts_per_study": len(base)},
                **simulate_many(one, studies, model.true_value, note=INTERVAL_NOTE)}


def outcome_of(results: dict[str, Any]) -> StudyOutcome:
    """The intervals and tests a report prints, read from its results (report.json's content)."""
    out = StudyOutcome()
    for table in ("oversight", "oversight_matchups", "position_bias"):
        for row in results.get(table, []):
            out.intervals.append(Interval("accuracy", keyed(row, ROW_KEYS), row["accuracy"], row["ci_low"],
                                          row["ci_high"]))
    for row in results.get("comparisons", []):
        keys = keyed(row, ("judge", "first", "second"))
        out.intervals.append(Interval("difference", keys, row["difference"], row["ci_low"], row["ci_high"]))
        out.tests.append(Test("comparisons", keys, row.get("p_holm")))
    for row in results.get("ratings", []):
        out.intervals.append(Interval("truth_advantage", keyed(row, ("protocol", "judge")), row["truth_advantage"],
                                      row["ci_low"], row["ci_high"]))
    return out
