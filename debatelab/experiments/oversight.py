"""Running a `kind: oversight` experiment: every question argued under every protocol, judged by
every judge, stored trial by trial.

A *trial* is one question under one protocol and one matchup (which debater argues which side);
its id holds a hash of everything that shapes its transcript (the question with its passage, the
protocol, rounds, words, the debaters' models and best-of-N, the assignment), so editing the
experiment never mixes old transcripts into new tables. Judges do not shape a transcript, except in
interactive protocols, where the judge asks questions: there a trial belongs to one judge.

Designs are balanced (`assignments: both`, the default): the consultant argues each question
once for the correct and once for the incorrect answer; every debater pairing runs on both sides;
the correct side speaks first on half the questions (seeded); and the correct answer stands at A
on half the questions (`shuffle_options`, seeded). `assignments: one` keeps 0.3's cheaper design
(the consultant argues the correct answer on half the questions). Questions with more than two
options are reduced to the answer and one seeded distractor.

Resumable at two levels: a trial whose verdicts are all stored is skipped (a re-run makes no
call); a trial interrupted mid-way resumes from its LangGraph checkpoint.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from debatelab.agents import (
    EMBEDDED,
    ModelSpec,
    bind_run,
    make_chat_model,
    resolve_host,
    with_judge_defaults,
)
from debatelab.analysis import oversight_results
from debatelab.base import UserError
from debatelab.experiments.beliefs import belief_row
from debatelab.experiments.debate import ModelFactory
from debatelab.experiments.passage_fit import check_fit, cut_passages
from debatelab.experiments.question_calls import QuestionsSummary, run_question_study
from debatelab.experiments.sections import Debater
from debatelab.experiments.spec import OversightExperiment
from debatelab.graphs import (
    OversightContext,
    compile_oversight,
    has_pending_work,
    judge_agent,
    protocol_named,
    side_letters,
    sides_for,
)
from debatelab.runtime import Failures, RunProgress, each_guarded, host_limiters, tracing_guard
from debatelab.scenarios import Question
from debatelab.store import Store


def two_options(question: Question, seed: int, *, answer_first: bool | None = None) -> Question:
    """The answer and one seeded distractor, in a seeded order. With `answer_first` (a balanced,
    seeded draw over the questions) the answer stands at A or B as it says, two-option questions
    too: BoolQ's "Yes" is 62% of its answers and always A, so an unshuffled set confounds a
    judge's letter preference with its accuracy."""
    if len(question.options) == 2 and answer_first is None:
        return question
    rng = random.Random(f"{seed}|two-options|{question.id}")
    wrong = [x for x in question.letters if x != question.answer]
    distractor = rng.choice(wrong)
    pair = [question.answer, distractor]
    rng.shuffle(pair)
    if answer_first is not None:
        pair = [question.answer, distractor] if answer_first else [distractor, question.answer]
    return question.model_copy(update={"options": [question.option_text(x) for x in pair],
                                       "answer": "AB"[pair.index(question.answer)]})


def balanced(question_ids: list[str], seed: int, salt: str) -> dict[str, bool]:
    """True on half the questions (rounded up), chosen by a seeded order of their ids."""
    order = sorted(question_ids, key=lambda q: hashlib.sha256(f"{seed}|{salt}|{q}".encode()).hexdigest())
    return {q: i % 2 == 0 for i, q in enumerate(order)}


def debater_name(debater: Debater, best_of: int) -> str:
    n = debater.best_of or best_of
    return debater.name or (debater.model.identity + (f" best{n}" if n > 1 else ""))


def _spec_key(spec: ModelSpec) -> dict[str, Any]:
    """A spec as content: its identity and options, never its host (which may carry a password)."""
    return {"identity": spec.identity, **spec.model_dump(exclude={"host", "hosts"}, mode="json")}


@dataclass(frozen=True)
class Trial:
    protocol: str
    question: Question  # reduced to two options
    matchup: str  # "-" (no arguer), "c0" (consultant 0), "0v1" (debater 0 correct, debater 1 incorrect)
    sides: tuple[dict[str, Any], ...]
    debaters: tuple[int, ...]  # debater index per side, in side order
    judges: tuple[int, ...]
    trial_id: str


class OversightRun:
    """One oversight experiment's questions, trials, models and call limits."""

    def __init__(self, exp: OversightExperiment, store: Store, progress: RunProgress, model_factory: ModelFactory,
                 *, questions: list[Question] | None = None) -> None:
        """`questions` replaces the experiment's question set (the simulator plans its design on
        synthetic questions; everything else is planned as for a run)."""
        self.exp, self.store, self.progress, self.model_factory = exp, store, progress, model_factory
        sel = exp.questions
        assert sel is not None
        try:
            loaded = questions if questions is not None else sel.load()
        except UserError as exc:
            raise UserError(f"{exp.source}: field 'questions.set': {exc}") from None
        missing = [q.id for q in loaded if not q.passage.strip()]
        # No passage anywhere: closed questions (Kenton et al.'s symmetric setting: the judge knows what
        # the debaters know). Some with and some without: two settings in one table, refused.
        self.information = "symmetric" if len(missing) == len(loaded) else "asymmetric"
        if missing and self.information == "asymmetric" and any(protocol_named(p).needs_passage
                                                                for p in exp.protocols):
            raise UserError(f"{exp.source}: field 'questions.set': question {missing[0]!r} has no passage while "
                            f"others have one; give every question a 'passage' (or none, for closed questions)")
        self.truncation: dict[str, Any] | None = None
        if exp.passage is not None:
            loaded, self.truncation = cut_passages(loaded, exp.passage.max_tokens)
        self.seed = sel.seed
        first = balanced([q.id for q in loaded], sel.seed, "answer-at-A") if exp.shuffle_options else {}
        self.questions = [two_options(q, sel.seed, answer_first=first.get(q.id)) for q in loaded]
        self.judges = [with_judge_defaults(j) for j in exp.judges]
        self.names = [debater_name(d, exp.best_of) for d in exp.debaters]
        if len(set(self.names)) < len(self.names):
            raise UserError(f"{exp.source}: field 'debaters': two debaters have the name {self._twice()!r}; give "
                            f"each a 'name'")
        # Best-of-N's preference model is held out from the judges by default: each debater rates
        # its own candidates unless `preference_model` names another (a judge named there is marked).
        self.preference = exp.preference_model
        self.failures = Failures()
        self.new_calls = 0
        self.trials = self.plan()

    def _limits(self) -> None:
        """Call slots per host: resolved when a run starts (the word `embedded` starts the endpoint,
        which planning alone, as in `debatelab simulate`, must never do)."""
        self.limiter_for = host_limiters(self.exp.limit_for)
        hosts = {resolve_host(s): s for s in self.specs}
        self.slots = asyncio.Semaphore(max(1, sum(self.exp.limit_for(u, s.host == EMBEDDED)
                                                  for u, s in hosts.items())))

    def _twice(self) -> str:
        return next(n for n in self.names if self.names.count(n) > 1)

    @property
    def specs(self) -> list[ModelSpec]:
        return [d.model for d in self.exp.debaters] + self.judges + ([self.preference] if self.preference else [])

    # -- the plan -----------------------------------------------------------------------------------
    def plan(self) -> list[Trial]:
        ids = [q.id for q in self.questions]
        right_first_of = {group: balanced(ids, self.seed, group) for group in ("consultancy", "debate")}
        n = len(self.exp.debaters)
        trials = []
        for protocol in self.exp.protocols:
            p = protocol_named(protocol)
            for q in self.questions:
                wrong = "B" if q.answer == "A" else "A"
                right_first = right_first_of[p.balance_group][q.id]
                sides = tuple(sides_for(protocol, q.answer, wrong, correct_first=right_first))
                both = self.exp.assignments == "both"
                if p.cross_play and p.speakers == 1:  # every consultant (on both sides: two trials)
                    matchups = [(f"c{i}", (i,)) for i in range(n)]
                elif p.cross_play:  # every pairing, on both sides
                    matchups = [(f"{i}v{j}", (i, j) if right_first else (j, i)) for i in range(n) for j in range(n)]
                elif p.speakers == 1:
                    matchups = [("c0", (0,))]
                elif p.speakers == 2:
                    matchups = [("0v0", (0, 0))]
                else:
                    matchups = [("-", ())]
                judge_sets = [(j,) for j in range(len(self.judges))] if p.interactive else [
                    tuple(range(len(self.judges)))]
                assignments = [sides]
                if both and p.speakers == 1 and not p.chooses:  # the consultant once right, once wrong
                    assignments = [tuple(sides_for(protocol, q.answer, wrong, correct_first=f)) for f in (True, False)]
                for matchup, debaters in matchups:
                    for judges in judge_sets:
                        for arguing in assignments:
                            trials.append(self._trial(protocol, q, matchup, arguing, debaters, judges))
        return trials

    def _trial(self, protocol: str, q: Question, matchup: str, sides: tuple[dict[str, Any], ...],
               debaters: tuple[int, ...], judges: tuple[int, ...]) -> Trial:
        interactive = protocol_named(protocol).interactive
        content = {"question": q.model_dump(), "protocol": protocol, "sides": sides, "rounds": self.exp.rounds,
                   "simultaneous": self.exp.simultaneous, "words": self.exp.words,
                   "debaters": [{"model": _spec_key(self.exp.debaters[d].model),
                                 "best_of": self.exp.debaters[d].best_of or self.exp.best_of} for d in debaters],
                   "preference": _spec_key(self.preference) if self.preference and debaters else None,
                   "interactive_judge": _spec_key(self.judges[judges[0]]) if interactive else None}
        digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:12]
        suffix = f":j{judges[0] + 1}" if interactive else ""
        trial_id = f"{self.exp.name}:{protocol}:{q.id}:{matchup}{suffix}:{digest}"
        return Trial(protocol, q, matchup, sides, debaters, judges, trial_id)

    @property
    def every_round(self) -> bool:
        return self.exp.beliefs == "every_round"

    def expected_ids(self, trial: Trial) -> list[str]:
        """The verdict ids a finished trial has, and its belief ids when every round's are asked for."""
        rounds = self.exp.rounds if self.every_round and trial.sides else 0
        return [x for j in trial.judges for x in [self.verdict_id(trial, j),
                                                  *(f"{self.verdict_id(trial, j)}:after{r}" for r in range(1, rounds))]]

    def verdict_id(self, trial: Trial, judge: int) -> str:
        spec = self.judges[judge]
        digest = hashlib.sha256(json.dumps(_spec_key(spec), sort_keys=True).encode()).hexdigest()[:8]
        return f"{trial.trial_id}:{spec.label}:{digest}"

    # -- running ------------------------------------------------------------------------------------
    @property
    def calls_made(self) -> int:
        return self.new_calls

    @property
    def best_of_used(self) -> bool:
        return any((d.best_of or self.exp.best_of) > 1 for d in self.exp.debaters)

    def preference_record(self) -> dict[str, Any]:
        """Who rated best-of-N candidates, and whether that model is held out from the judges."""
        raters = [self.preference] if self.preference else [d.model for d in self.exp.debaters
                                                            if (d.best_of or self.exp.best_of) > 1]
        judged_by = {j.identity for j in self.judges}
        return {"model": self.preference.label if self.preference else "each debater's own model",
                "held_out": not any(r.identity in judged_by for r in raters)}

    def check(self) -> None:
        """Every passage-bearing prompt fits the context of the models that read it."""
        check_fit(self.exp.source, self.questions, self.exp.protocols, self.exp.rounds, self.exp.words,
                  [d.model for d in self.exp.debaters], self.judges)

    async def run_stages(self, saver: Any) -> None:
        await self.run_all(saver)

    def results(self) -> dict[str, Any]:
        return oversight_results(self.store, self.exp.name)

    def record_experiment(self) -> None:
        sel = self.exp.questions
        assert sel is not None
        self.store.upsert_experiment(self.exp.name, description=self.exp.description, kind=self.exp.kind, spec={
            **self.exp.spec_dict(), "provenance": sel.provenance(), "debater_names": self.names,
            "judge_labels": [j.label for j in self.judges], "information": self.information,
            **({"truncation": self.truncation} if self.truncation else {}),
            **({"preference": self.preference_record()} if self.best_of_used else {}),
            # What the current spec plans: the analysis reads these trials only (a changed spec's
            # old trials stay stored, for resuming it, but never enter its tables).
            "planned_trials": [t.trial_id for t in self.trials],
        }, source_file=str(self.exp.source or ""))

    def agents_of(self, trial: Trial) -> dict[str, ModelSpec]:
        agents = {side["agent"]: self.exp.debaters[d].model for side, d in zip(trial.sides, trial.debaters,
                                                                                  strict=True)}
        agents.update({judge_agent(j): self.judges[j] for j in trial.judges})
        if self.preference is not None and trial.debaters:
            agents["preference"] = self.preference
        return agents

    async def run_all(self, saver: Any) -> None:
        self._limits()
        graphs = {p: compile_oversight(p, saver) for p in self.exp.protocols}
        done = self.store.oversight_verdict_ids(self.exp.name) | self.store.judge_belief_ids(self.exp.name)
        todo = [t for t in self.trials if any(x not in done for x in self.expected_ids(t))]
        self.progress.stage("oversight trials", total=len(todo))

        await each_guarded(todo, lambda trial: self.run_trial(trial, graphs[trial.protocol]), failures=self.failures,
                           progress=self.progress, kind="oversight", stage="oversight trials",
                           name=lambda t: f"{t.protocol} {t.question.id} {t.matchup}")

    async def run_trial(self, trial: Trial, graph: Any) -> None:
        agents = self.agents_of(trial)
        judges = [judge_agent(j) for j in trial.judges]
        cfg = {"configurable": {"thread_id": f"oversight:{trial.trial_id}"},
               "recursion_limit": 8 * (self.exp.rounds * 3 + len(judges) + 4)}
        context = OversightContext(
            models=agents, words=self.exp.words, max_attempts=self.exp.max_attempts,
            best_of={side["agent"]: self.exp.debaters[d].best_of or self.exp.best_of
                     for side, d in zip(trial.sides, trial.debaters, strict=True)})
        models = {agent: self.model_factory(spec) for agent, spec in agents.items()}
        limits = {agent: self.limiter_for(spec) for agent, spec in agents.items()}
        async with self.slots:
            snap = await graph.aget_state(cfg)
            inp: dict[str, Any] | None = None
            if not snap.values:
                inp = {"question": trial.question.model_dump(), "protocol": trial.protocol,
                       "sides": list(trial.sides), "rounds": self.exp.rounds, "simultaneous": self.exp.simultaneous,
                       "judges": judges, "turns": [], "verdicts": [], "every_round": self.every_round, "beliefs": []}
            elif not has_pending_work(snap):  # finished before (a judge or beliefs added since, or the write lost)
                await graph.aupdate_state(cfg, {"judges": judges, "every_round": self.every_round}, as_node="step")
            with bind_run(models, limits), tracing_guard():
                values = await graph.ainvoke(inp, cfg, context=context, durability="sync")
        self.write(trial, values, agents)

    def write(self, trial: Trial, values: dict[str, Any], agents: dict[str, ModelSpec]) -> None:
        trial_row, turn_rows, verdict_rows = self.rows(trial, values, agents)
        beliefs = self.belief_rows(trial, values, verdict_rows)
        self.store.write_oversight_trial(trial_row, turn_rows, verdict_rows, beliefs)
        new = sum(r["calls"] for r in turn_rows + verdict_rows) + sum(r["calls"] or 0 for r in beliefs)
        self.new_calls += new
        self.progress.count_calls(new, sum(r["output_tokens"] for r in turn_rows + verdict_rows))

    def belief_rows(self, trial: Trial, values: dict[str, Any], verdicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """With `beliefs: every_round`: each judge's belief after every round, the verdict as the last."""
        if not self.every_round or not trial.sides:
            return []
        wanted = {judge_agent(j): j for j in trial.judges}
        rows = [belief_row(trial.trial_id, self.exp.name, self.verdict_id(trial, wanted[b["judge"]]),
                           self.judges[wanted[b["judge"]]].label, b["round"], b, trial.question, "judge")
                for b in values.get("beliefs", []) if b["judge"] in wanted]
        final = [belief_row(trial.trial_id, self.exp.name, v["verdict_id"], v["judge"], self.exp.rounds,
                            {**v, "calls": 0}, trial.question, "verdict") for v in verdicts]
        return rows + final

    def rows(self, trial: Trial, values: dict[str, Any], agents: dict[str, ModelSpec]
             ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        """The stored rows of a finished trial (its graph's final values): the trial, its turns and
        its verdicts. The simulator stores its drawn verdicts through this same code."""
        q = trial.question
        by_agent = {side["agent"]: d for side, d in zip(trial.sides, trial.debaters, strict=True)}
        letters = side_letters(values)
        side_letter = {s["position"]: letters[i] for i, s in enumerate(trial.sides)}
        order = {"choice": 0, "argument": 1, "question": 2}
        positions = {s["position"]: i for i, s in enumerate(trial.sides)}
        turns = sorted(values.get("turns", []), key=lambda t: (t["round"], order[t["kind"]],
                                                               positions.get(t["position"], 99)))
        turn_rows = []
        for idx, t in enumerate(turns):
            d = by_agent.get(t["agent"])
            letter = t["letter"] if t["kind"] == "choice" else side_letter.get(t["position"])
            turn_rows.append({
                "turn_id": f"{trial.trial_id}:{idx}", "trial_id": trial.trial_id, "experiment": self.exp.name,
                "idx": idx, "round": t["round"], "kind": t["kind"], "position": t["position"], "agent": t["agent"],
                "debater": self.names[d] if d is not None else None, "model": agents[t["agent"]].label,
                "letter": letter, "side": None if letter is None or t["kind"] == "question" else
                ("correct" if letter == q.answer else "incorrect"),
                "text": t["text"], "shown": t["shown"], "quotes": t["quotes"], "verified_quotes": t["verified"],
                "candidates": t["candidates"], "preference_scores": json.dumps(t["preference_scores"]),
                "unanswered_reason": t["unanswered_reason"], "input_tokens": t["input_tokens"],
                "output_tokens": t["output_tokens"], "duration_s": t["duration_s"], "calls": t["calls"]})
        wanted = {judge_agent(j): j for j in trial.judges}
        verdict_rows = []
        for v in values.get("verdicts", []):
            if v["judge"] not in wanted:
                continue
            j = wanted[v["judge"]]
            verdict_rows.append({
                "verdict_id": self.verdict_id(trial, j), "trial_id": trial.trial_id, "experiment": self.exp.name,
                "protocol": trial.protocol, "question_id": q.id, "judge": self.judges[j].label, "letter": v["letter"],
                "truth": q.answer, "correct": int(v["letter"] == q.answer), "probability": v["probability"],
                "reasons": v["reasons"], "unanswered_reason": v["unanswered_reason"],
                "input_tokens": v["input_tokens"], "output_tokens": v["output_tokens"],
                "duration_s": v["duration_s"], "calls": v["calls"]})
        every = [*turns, *values.get("verdicts", []), *values.get("beliefs", [])]
        chosen = next((t for t in turns if t["kind"] == "choice"), None)
        trial_row = {
            "trial_id": trial.trial_id, "experiment": self.exp.name, "protocol": trial.protocol, "question_id": q.id,
            "question": json.dumps(q.model_dump()), "truth": q.answer, "matchup": trial.matchup,
            "correct_debater": next((self.names[d] for d, x in zip(trial.debaters, letters, strict=True)
                                     if x == q.answer), None),
            "incorrect_debater": next((self.names[d] for d, x in zip(trial.debaters, letters, strict=True)
                                       if x is not None and x != q.answer), None),
            "sides": json.dumps([{**s, "debater": self.names[d], "argued": letters[i]} for i, (s, d) in enumerate(
                zip(trial.sides, trial.debaters, strict=True))]),
            "chosen": (chosen["letter"] or "") if chosen else None, "rounds": self.exp.rounds if trial.sides else 0,
            "simultaneous": int(self.exp.simultaneous), "fingerprint": trial.trial_id.rsplit(":", 1)[1],
            "calls": sum(x["calls"] for x in every), "input_tokens": sum(x["input_tokens"] for x in every),
            "output_tokens": sum(x["output_tokens"] for x in every),
            "duration_s": round(sum(x["duration_s"] for x in every), 4)}
        return trial_row, turn_rows, verdict_rows


async def run_oversight(exp: OversightExperiment, store: Store, checkpoints: str | Path, progress: RunProgress, *,
                        model_factory: ModelFactory = make_chat_model, preflight: bool = True) -> QuestionsSummary:
    """Run what is missing of a `kind: oversight` experiment, then compute its results."""
    run = OversightRun(exp, store, progress, model_factory)
    return await run_question_study(run, store, checkpoints, result_key="oversight", preflight=preflight)
