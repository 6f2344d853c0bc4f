"""Running a `kind: questions` experiment: weak agents, SAMME weights, baselines, facilitation.

Every model call's answer is a row in `qa_calls`, written as soon as it returns, keyed by
(experiment, split, question, agent, kind, sample): re-running skips what is there, so a killed
run resumes without repeating a finished call. The weak agents answer each question through the
`weighted` LangGraph topology (checkpointed per question). Results are computed from the stored
rows only (`w2s_results`), and `debatelab report` renders them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

from debatelab.agents import EMBEDDED, ModelSpec, bind_run, make_chat_model, resolve_host
from debatelab.agents.roles import advocate, answer_question, explain_without_letter
from debatelab.analysis import best_agent, compute_results, stored_answers
from debatelab.base import UserError
from debatelab.experiments.debate import ModelFactory
from debatelab.experiments.question_calls import CallCountingRun, QuestionCalls, QuestionsSummary, run_question_study
from debatelab.experiments.spec import WeakToStrongExperiment
from debatelab.graphs import DebateConfig, QAContext, build_weighted_graph, has_pending_work, load_debate_config
from debatelab.runtime import Failures, RunProgress, each_guarded, host_limiters, tracing_guard
from debatelab.scenarios import Question, load_questions, sample_questions, set_provenance
from debatelab.store import Store


def strong_spec(exp: WeakToStrongExperiment) -> ModelSpec:
    return exp.w2s.strong  # type: ignore[union-attr]


def splits(exp: WeakToStrongExperiment) -> dict[str, list[Question]]:
    w = exp.w2s
    assert w is not None
    cal = sample_questions(load_questions(w.calibration.source, difficulty=w.calibration.difficulty),
                           w.calibration.limit, w.seed)
    ev = sample_questions(load_questions(w.evaluation.source, difficulty=w.evaluation.difficulty),
                          w.evaluation.limit, w.seed + 1)
    return {"calibration": cal, "evaluation": ev}


def weak_config(exp: WeakToStrongExperiment) -> DebateConfig:
    config = load_debate_config(exp.resolve(exp.w2s.ensemble, "w2s.ensemble"))  # type: ignore[union-attr]
    if config.topology != "weighted":
        raise UserError(f"{exp.source}: field 'w2s.ensemble': {config.source} has topology {config.topology!r}, "
                        f"expected 'weighted'")
    return config


async def run_weak_to_strong(exp: WeakToStrongExperiment, store: Store, checkpoints: str | Path, progress: RunProgress, *,
                             model_factory: ModelFactory = make_chat_model, preflight: bool = True
                             ) -> QuestionsSummary:
    """Run what is missing of a weak-to-strong experiment, stage by stage (answers, self-consistency,
    facilitation). A question whose call fails is recorded in the summary's failures; the stages
    after a stage with failures wait for the re-run (they need its answers), and results are
    computed once every stage is complete."""
    run = WeakToStrongRun(exp, store, progress, model_factory)
    return await run_question_study(run, store, checkpoints, result_key="w2s", preflight=preflight)


class WeakToStrongRun(CallCountingRun):
    """One weak-to-strong experiment's models, questions and call limits, and its three stages."""

    def __init__(self, exp: WeakToStrongExperiment,
                 store: Store, progress: RunProgress, model_factory: ModelFactory) -> None:
        w = exp.w2s
        if w is None:
            raise UserError(f"{exp.source}: field 'w2s': a 'kind: questions' experiment needs a 'w2s' section")
        self.exp, self.w, self.store, self.progress, self.model_factory = exp, w, store, progress, model_factory
        self.config = weak_config(exp)
        self.weak = self.config.agents_with_role("answerer")
        self.strong = strong_spec(exp)
        self.facilitated = w.facilitate or self.weak
        for name in self.facilitated:
            if name not in self.weak:
                raise UserError(f"{exp.source}: field 'w2s.facilitate': {name!r} is not an answerer of "
                                f"{self.config.source}")
        self.data = splits(exp)
        self.specs = [self.config.model_for(a) for a in self.weak] + [self.strong]
        # One call limit per host (the debate runner's limiters): weak and strong models on different
        # hosts each get their host's concurrency; questions in flight are capped by the total.
        limiter_for = host_limiters(exp.limit_for)
        hosts = {resolve_host(spec): spec for spec in self.specs}
        self.slots = asyncio.Semaphore(max(1, sum(exp.limit_for(url, spec.host == EMBEDDED)
                                                  for url, spec in hosts.items())))
        self.strong_limit = limiter_for(self.strong)
        self.weak_limit = {a: limiter_for(self.config.model_for(a)) for a in self.weak}
        self.models = {a: model_factory(self.config.model_for(a)) for a in self.weak}
        self.strong_model = model_factory(self.strong)
        self.personas = {a: self.config.agents[a].persona or "" for a in self.weak}
        self.calls = QuestionCalls(exp, store, progress, fingerprint=json.dumps(
            [self.config.fingerprint(), self.strong.label, self.strong.temperature, self.strong.seed,
             self.w.model_dump(exclude={"calibration", "evaluation"})], default=str))
        self.failures = Failures()

    async def run_stages(self, saver: Any) -> None:
        for stage in (self.answers, self.self_consistency, self.facilitation):
            await stage(saver)
            if self.failures:
                break

    def results(self) -> dict[str, Any]:
        return compute_results(self.store, self.exp.name, self.data, self.weak, self.facilitated, self.best())

    def record_experiment(self) -> None:
        exp, w = self.exp, self.w
        self.store.upsert_experiment(exp.name, description=exp.description, kind=exp.kind, spec={
            **exp.spec_dict(),
            "provenance": {s: set_provenance(getattr(w, s).source) for s in ("calibration", "evaluation")},
            "weak": {a: self.config.model_for(a).label for a in self.weak}, "strong": self.strong.label,
            "question_keys": self.calls.keys([q for split in self.data.values() for q in split]),
        }, source_file=str(exp.source or ""))

    def best(self) -> str:
        """The best weak agent on the calibration split (it gets the equal-budget self-consistency run)."""
        return best_agent(stored_answers(self.store, self.exp.name), self.data["calibration"], self.weak)

    async def _each(self, stage: str, items: list[Any], work: Any) -> None:
        """Run `work(item)` for every item, one failure recorded per item, the rest going on."""
        await each_guarded(items, work, failures=self.failures, progress=self.progress, kind="questions",
                           stage=stage, name=lambda item: f"{stage} {_item_name(item)}")

    # -- stage 1: every agent answers every question ------------------------------------------------
    async def answers(self, saver: Any) -> None:
        exp, w, calls, config = self.exp, self.w, self.calls, self.config
        graph = build_weighted_graph(config).compile(checkpointer=saver, name="weighted")
        items = [(split, q) for split, qs in self.data.items() for q in qs]
        self.progress.stage("questions", total=len(items))

        async def answer_all(item: tuple[str, Question]) -> None:
            split, q = item
            async with self.slots:
                if not all(calls.has(q, split, a, "answer") for a in self.weak):
                    cfg = {"configurable": {"thread_id": f"qa:{exp.name}:{config.fingerprint()}:{split}:{q.id}"}}
                    snap = await graph.aget_state(cfg)
                    inp = None if has_pending_work(snap) else {"question": q.model_dump(), "answers": []}
                    ctx = QAContext(personas=self.personas, max_attempts=w.max_attempts, top_logprobs=w.top_logprobs)
                    with bind_run(self.models, self.weak_limit), tracing_guard():
                        values = await graph.ainvoke(inp, cfg, context=ctx, durability="sync")
                    for a in values["answers"]:
                        if not calls.has(q, split, a["agent"], "answer"):
                            calls.record(q, split, a["agent"], "answer", 0, letter=a["letter"], text=a["reason"],
                                         unanswered=a["unanswered_reason"], model=config.model_for(a["agent"]).label,
                                         tokens=(a["input_tokens"], a["output_tokens"]), seconds=a["duration_s"],
                                         calls=a["calls"], option_probs=a.get("option_probs"),
                                         option_mass=a.get("option_mass"))
                if not calls.has(q, split, "strong", "answer"):
                    rec = await answer_question(self.strong_model, q, limiter=self.strong_limit,
                                                max_attempts=w.max_attempts)
                    calls.record(q, split, "strong", "answer", 0, letter=rec.letter, text=rec.reason,
                                 unanswered=rec.unanswered_reason, model=self.strong.label,
                                 tokens=(rec.input_tokens, rec.output_tokens), seconds=rec.duration_s, calls=rec.calls)

        await self._each("questions", items, answer_all)

    # -- stage 2: the best weak agent, sampled as often as the ensemble has agents ---------------------
    async def self_consistency(self, saver: Any) -> None:
        w, best = self.w, self.best()
        best_spec = self.config.model_for(best)
        items = [(q, s) for q in self.data["evaluation"] for s in range(len(self.weak))]
        self.progress.stage("self-consistency", total=len(items))

        async def sample(item: tuple[Question, int]) -> None:
            q, s = item
            if self.calls.has(q, "evaluation", best, "self_consistency", s):
                return
            spec = best_spec.with_options(temperature=w.self_consistency_temperature,
                                          seed=(best_spec.seed or 0) + 1000 + s)
            async with self.slots:
                rec = await answer_question(self.model_factory(spec), q, persona=self.personas[best],
                                            limiter=self.weak_limit[best], max_attempts=w.max_attempts)
            self.calls.record(q, "evaluation", best, "self_consistency", s, letter=rec.letter, text=rec.reason,
                              unanswered=rec.unanswered_reason, model=spec.label,
                              tokens=(rec.input_tokens, rec.output_tokens), seconds=rec.duration_s, calls=rec.calls)

        await self._each("self-consistency", items, sample)

    # -- stage 3: the strong model explains (and argues both sides); weak agents answer again ----------
    async def facilitation(self, saver: Any) -> None:
        self.progress.stage("facilitated", total=len(self.data["evaluation"]))
        await self._each("facilitated", self.data["evaluation"], self._facilitate)

    async def _facilitate(self, q: Question) -> None:
        exp, w, calls = self.exp, self.w, self.calls
        async with self.slots:
            if not calls.has(q, "evaluation", "strong", "explanation"):
                ex = await explain_without_letter(self.strong_model, q, limiter=self.strong_limit,
                                                  max_attempts=w.max_attempts)
                calls.record(q, "evaluation", "strong", "explanation", 0, letter=None, text=ex.text or "",
                             unanswered=None if ex.text else f"withheld: named a letter in {ex.leaked_attempts} tries",
                             model=self.strong.label, tokens=(ex.input_tokens, ex.output_tokens),
                             seconds=ex.duration_s, calls=ex.attempts)
            explanation = self.store.qa_call(calls.id_of(q, "evaluation", "strong", "explanation"))["text"]
            strong_letter = calls.stored_letter(q, "evaluation", "strong", "answer")
            if w.debate_variant and strong_letter is not None:
                distractor = next(x for x in q.letters if x != strong_letter)
                for s, letter in enumerate((strong_letter, distractor)):
                    if not calls.has(q, "evaluation", "strong", "advocate", s):
                        arg = await advocate(self.strong_model, q, letter, limiter=self.strong_limit)
                        calls.record(q, "evaluation", "strong", "advocate", s, letter=letter, text=arg.text,
                                     unanswered=None, model=self.strong.label,
                                     tokens=(arg.input_tokens, arg.output_tokens), seconds=arg.duration_s, calls=1)
            for agent in self.facilitated:
                if explanation and not calls.has(q, "evaluation", agent, "facilitated"):
                    await self._answer_with(q, agent, "facilitated",
                                            f"An expert's explanation (it does not give the answer):\n{explanation}\n")
                if w.debate_variant and not calls.has(q, "evaluation", agent, "debate"):
                    if strong_letter is None:
                        # No answer from the strong model: no side to argue, so no debate to read. The weak
                        # agent's answer for this variant is unanswered (counted, and wrong), never a guess.
                        calls.record(q, "evaluation", agent, "debate", 0, letter=None, text="",
                                     unanswered="the strong model gave no answer, so no debate was held",
                                     model=self.config.model_for(agent).label, tokens=(0, 0), seconds=0.0, calls=0)
                        continue
                    args = self.store.qa_calls(exp.name, kind="advocate", question_id=q.id, split="evaluation")
                    # Random but reproducible order (str hash() changes per process): no position cue.
                    flip = int(hashlib.sha256(q.id.encode()).hexdigest(), 16) % 2
                    order = list(reversed(args)) if flip else args
                    debate = "\n\n".join(f"Argument for option {a['letter']}:\n{a['text']}" for a in order)
                    await self._answer_with(q, agent, "debate", f"Two debaters argued for different options:\n{debate}\n")

    async def _answer_with(self, q: Question, agent: str, kind: str, context: str) -> None:
        rec = await answer_question(self.models[agent], q, persona=self.personas[agent], limiter=self.weak_limit[agent],
                                    context=context, max_attempts=self.w.max_attempts)
        self.calls.record(q, "evaluation", agent, kind, 0, letter=rec.letter, text=rec.reason,
                          unanswered=rec.unanswered_reason, model=self.config.model_for(agent).label,
                          tokens=(rec.input_tokens, rec.output_tokens), seconds=rec.duration_s, calls=rec.calls)


def _item_name(item: Any) -> str:
    if isinstance(item, tuple):
        return "/".join(x.id if hasattr(x, "id") else str(x) for x in item)
    return getattr(item, "id", str(item))
