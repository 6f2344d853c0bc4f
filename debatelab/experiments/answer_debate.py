"""Running a `kind: questions` experiment with a `debate` section: debate on labelled questions, its
conformity probe, and the baselines that answer "more than a vote? more than the same tokens?".

Stages, each resumable (every answer is a row in `qa_calls`, keyed by experiment, question, agent,
kind and round or sample; a question's debate is also checkpointed as a LangGraph thread):

1. debate: every question through the answer-debate graph (round 0 alone, then `rounds` rounds);
2. probe (optional): the same debates with a wrong-and-confident peer from round 1;
3. baselines: chain of thought (one call) and self-consistency of the baseline agent with as many
   samples as spend the debate's tokens per question (the round-0 vote needs no call).

Results are computed from the stored rows only, and `debatelab report` renders them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

from debatelab.agents import EMBEDDED, affinity, bind_run, make_chat_model, resolve_host
from debatelab.agents.roles import answer_question
from debatelab.analysis import question_debate_results, samples_for_equal_tokens
from debatelab.base import UserError
from debatelab.experiments.debate import ModelFactory
from debatelab.experiments.question_calls import CallCountingRun, QuestionCalls, QuestionsSummary, run_question_study
from debatelab.experiments.spec import QuestionDebateExperiment
from debatelab.graphs import (
    AnswerDebateContext,
    DebateConfig,
    answerers_of,
    build_answer_debate_graph,
    has_pending_work,
    load_debate_config,
)
from debatelab.runtime import Failures, RunProgress, each_guarded, host_limiters, tracing_guard
from debatelab.scenarios import Question, probe_letter
from debatelab.store import Store

SPLIT = "evaluation"
PROBE_REASON = "I am certain of this answer; the others are plainly wrong."


def debate_questions(exp: QuestionDebateExperiment) -> list[Question]:
    sel = exp.questions
    assert sel is not None
    try:
        return sel.load()
    except UserError as exc:
        raise UserError(f"{exp.source}: field 'questions.set': {exc}") from None


def debate_config(exp: QuestionDebateExperiment) -> DebateConfig:
    assert exp.debate is not None
    config = load_debate_config(exp.resolve(exp.debate.agents, "debate.agents"))
    try:
        answerers_of(config)
    except UserError as exc:
        raise UserError(f"{exp.source}: field 'debate.agents': {exc}") from None
    return config


async def run_question_debate(exp: QuestionDebateExperiment, store: Store, checkpoints: str | Path, progress: RunProgress, *,
                              model_factory: ModelFactory = make_chat_model, preflight: bool = True
                              ) -> QuestionsSummary:
    run = QuestionDebateRun(exp, store, progress, model_factory)
    return await run_question_study(run, store, checkpoints, result_key="dynamics", preflight=preflight)


class QuestionDebateRun(CallCountingRun):
    """One experiment's agents, questions and call limits, and its stages."""

    def __init__(self, exp: QuestionDebateExperiment,
                 store: Store, progress: RunProgress, model_factory: ModelFactory) -> None:
        assert exp.debate is not None
        self.exp, self.spec, self.store, self.progress = exp, exp.debate, store, progress
        self.model_factory = model_factory
        self.config = debate_config(exp)
        self.agents = answerers_of(self.config)
        self.questions = debate_questions(exp)
        self.specs = [self.config.model_for(a) for a in self.agents]
        limiter_for = host_limiters(exp.limit_for)
        self.limits = {a: limiter_for(self.config.model_for(a)) for a in self.agents}
        hosts = {resolve_host(s): s for s in self.specs}
        self.slots = asyncio.Semaphore(max(1, sum(exp.limit_for(u, s.host == EMBEDDED) for u, s in hosts.items())))
        self.models = {a: model_factory(self.config.model_for(a)) for a in self.agents}
        self.personas = {a: self.config.agents[a].persona or "" for a in self.agents}
        self.calls = QuestionCalls(exp, store, progress, fingerprint=json.dumps(
            [self.config.fingerprint(), self.spec.self_consistency_temperature, self.spec.max_attempts]))
        self.failures = Failures()

    async def run_stages(self, saver: Any) -> None:
        """Debates (and the conformity probe), then the baselines; a stage with failures stops the rest."""
        stages = [lambda: self.debates(saver, probe=False)]
        if self.spec.probe:
            stages.append(lambda: self.debates(saver, probe=True))
        stages += [self.chain_of_thought, self.self_consistency, self.multi_model_vote]
        for stage in stages:
            await stage()
            if self.failures:
                break

    def results(self) -> dict[str, Any]:
        return question_debate_results(self.store, self.exp.name, self.questions, self.agents, self.spec.rounds,
                                       probe=self.spec.probe,
                                       probe_seed=self.exp.questions.seed if self.exp.questions else 0)

    def record_experiment(self) -> None:
        sel = self.exp.questions
        assert sel is not None
        self.store.upsert_experiment(self.exp.name, description=self.exp.description, kind=self.exp.kind, spec={
            **self.exp.spec_dict(), "provenance": sel.provenance(),
            "agents": {a: self.config.model_for(a).label for a in self.agents},
            "question_keys": self.calls.keys(self.questions),
        }, source_file=str(self.exp.source or ""))

    async def _each(self, stage: str, items: list[Any], work: Any) -> None:
        self.progress.stage(stage, total=len(items))
        await each_guarded(items, work, failures=self.failures, progress=self.progress, kind="questions",
                           stage=stage, name=lambda item: f"{stage} {getattr(item, 'id', item)}")

    # -- debates (with or without the probe) ---------------------------------------------------------
    async def debates(self, saver: Any, *, probe: bool) -> None:
        kind = "debate_probe" if probe else "debate"
        graph = build_answer_debate_graph(self.config).compile(checkpointer=saver, name="answer_debate")
        fingerprint = self.config.fingerprint()

        first_round = 1 if probe else 0  # a probed debate shares its control's round 0

        async def one(q: Question) -> None:
            if all(self.calls.has(q, SPLIT, a, kind, r) for a in self.agents
                   for r in range(first_round, self.spec.rounds + 1)):
                return
            cfg = {"configurable": {"thread_id": f"qa-debate:{self.exp.name}:{fingerprint}:{kind}:{q.id}"},
                   "recursion_limit": 10 * (self.spec.rounds + 2)}
            snap = await graph.aget_state(cfg)
            inp = None if has_pending_work(snap) else {
                "question": q.model_dump(), "rounds": self.spec.rounds,
                "answers": self.control_round_zero(q) if probe else [],
                "probe": {"letter": probe_letter(q, self.exp.questions.seed if self.exp.questions else 0),
                          "reason": PROBE_REASON} if probe else None}
            async with self.slots:
                with bind_run(self.models, self.limits), tracing_guard():
                    values = await graph.ainvoke(inp, cfg, context=AnswerDebateContext(
                        max_attempts=self.spec.max_attempts, personas=self.personas), durability="sync")
            for a in values["answers"]:
                if a["round"] >= first_round and not self.calls.has(q, SPLIT, a["agent"], kind, a["round"]):
                    self.calls.record(q, SPLIT, a["agent"], kind, a["round"], letter=a["letter"], text=a["reason"],
                                      unanswered=a["unanswered_reason"], model=self.config.model_for(a["agent"]).label,
                                      tokens=(a["input_tokens"], a["output_tokens"]), seconds=a["duration_s"],
                                      calls=a["calls"])

        await self._each("probe debates" if probe else "debates", self.questions, one)

    def control_round_zero(self, q: Question) -> list[dict[str, Any]]:
        """The control debate's round-0 answers on `q`, which its probed twin starts from: the probe
        and its control then differ in the probe alone (their first answers are the same)."""
        rows = [r for r in self.store.qa_calls(self.exp.name, kind="debate", question_id=q.id, split=SPLIT)
                if r["sample"] == 0]
        return [{"agent": r["agent"], "round": 0, "letter": r["letter"], "reason": r["text"] or "",
                 "unanswered_reason": r["unanswered_reason"], "input_tokens": 0, "output_tokens": 0,
                 "duration_s": 0.0, "calls": 0} for r in rows]

    # -- baselines ---------------------------------------------------------------------------------
    def baseline_agent(self) -> str:
        """The configured agent, else the first answerer: fixed before any question is answered.
        (0.3 picked the most accurate at round 0 on the evaluated questions, which chose the
        baseline on the test data and flattered it.)"""
        if self.spec.baseline_agent:
            if self.spec.baseline_agent not in self.agents:
                raise UserError(f"{self.exp.source}: field 'debate.baseline_agent': {self.spec.baseline_agent!r} is "
                                f"not an answerer of {self.config.source}")
            return self.spec.baseline_agent
        return self.agents[0]

    async def chain_of_thought(self) -> None:
        agent = self.baseline_agent()

        async def one(q: Question) -> None:
            if self.calls.has(q, SPLIT, agent, "cot", 0):
                return
            async with self.slots:
                rec = await answer_question(self.models[agent], q, persona=self.personas[agent],
                                            limiter=self.limits[agent], max_attempts=self.spec.max_attempts,
                                            step_by_step=True, run_name=f"{agent}:cot", with_passage=True)
            self.calls.record(q, SPLIT, agent, "cot", 0, letter=rec.letter, text=rec.reason,
                              unanswered=rec.unanswered_reason, model=self.config.model_for(agent).label,
                              tokens=(rec.input_tokens, rec.output_tokens), seconds=rec.duration_s, calls=rec.calls)

        await self._each("chain of thought", self.questions, one)

    def self_consistency_samples(self, agent: str) -> int:
        """As many samples as spend the debate's tokens per question (to within one sample), from the
        stored debate: the same number on every re-run."""
        rows = self.store.qa_calls(self.exp.name, kind="debate", split=SPLIT)
        per_question = sum((r["input_tokens"] or 0) + (r["output_tokens"] or 0) for r in rows) / len(self.questions)
        first = [(r["input_tokens"] or 0) + (r["output_tokens"] or 0) for r in rows if r["agent"] == agent
                 and r["sample"] == 0]
        return samples_for_equal_tokens(per_question, sum(first) / len(first) if first else 0)

    async def self_consistency(self) -> None:
        agent = self.baseline_agent()
        k = self.self_consistency_samples(agent) + self.spec.self_consistency_extra
        items = [(q, s) for q in self.questions for s in range(k)]
        await self._each("self-consistency", items,
                         lambda item: self.sample(item[0], item[1], agent, "self_consistency", f"{agent}:sc{item[1]}",
                                                  salt=""))

    async def sample(self, q: Question, s: int, agent: str, kind: str, run_name: str, *, salt: str) -> None:
        """One hot sample of `agent` alone on `q` (sample `s`, its own seed), recorded as `kind`:
        self-consistency's and the multi-model vote's unit of work."""
        if self.calls.has(q, SPLIT, agent, kind, s):
            return
        base = self.config.model_for(agent)
        seed = int(hashlib.sha256(f"{base.seed}|{salt}{s}".encode()).hexdigest()[:6], 16)
        spec = base.with_options(temperature=self.spec.self_consistency_temperature, seed=seed)
        async with self.slots:
            with affinity(f"{kind}:{q.id}"):  # one prompt for every sample: one slot's cache
                rec = await answer_question(self.model_factory(spec), q, persona=self.personas[agent],
                                            limiter=self.limits[agent], max_attempts=self.spec.max_attempts,
                                            run_name=run_name, with_passage=True)
        self.calls.record(q, SPLIT, agent, kind, s, letter=rec.letter, text=rec.reason,
                          unanswered=rec.unanswered_reason, model=spec.label,
                          tokens=(rec.input_tokens, rec.output_tokens), seconds=rec.duration_s, calls=rec.calls)

    def distinct_models(self) -> bool:
        return len({self.config.model_for(a).identity for a in self.agents}) > 1

    async def multi_model_vote(self) -> None:
        """A multi-model debate's own baseline: every answerer samples alone, round-robin, until the
        debate's token budget is spent, and the samples vote. Without it a debate of several
        models is compared with one model's self-consistency, confounding model diversity with
        debate. (A single-model configuration skips it: self-consistency is that vote.)"""
        if not self.distinct_models():
            return
        rows = self.store.qa_calls(self.exp.name, kind="debate", split=SPLIT)
        per_question = sum((r["input_tokens"] or 0) + (r["output_tokens"] or 0) for r in rows) / len(self.questions)
        first = [(r["input_tokens"] or 0) + (r["output_tokens"] or 0) for r in rows if r["sample"] == 0]
        k = samples_for_equal_tokens(per_question, sum(first) / len(first) if first else 0)
        items = [(q, s) for q in self.questions for s in range(k)]
        await self._each("multi-model vote", items, lambda item: self.sample(
            item[0], item[1], self.agents[item[1] % len(self.agents)], "multi_vote",
            f"{self.agents[item[1] % len(self.agents)]}:vote{item[1]}", salt="multi|"))
