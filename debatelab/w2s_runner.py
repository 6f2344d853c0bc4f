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
import time
from typing import Any

import httpx
import ollama

from debatelab.agents.chat_model import make_chat_model, resolve_host
from debatelab.agents.model_spec import EMBEDDED, ModelSpec
from debatelab.agents.preflight import require_models
from debatelab.agents.roles.answerer import advocate, answer_question, explain_without_letter
from debatelab.agents.run_bindings import bind_run
from debatelab.base.errors import ModelUnavailableError, UserError
from debatelab.checkpoints import open_checkpointer
from debatelab.debate_runner import ModelFactory
from debatelab.experiment import Experiment
from debatelab.graphs.config import DebateConfig, load_debate_config
from debatelab.graphs.weighted import QAContext, build_weighted_graph
from debatelab.heap import freeze_startup_heap
from debatelab.judging_phase import host_limiters
from debatelab.progress import RunProgress
from debatelab.scenarios.questions import Question, load_questions, sample_questions, set_provenance
from debatelab.stats import bootstrap_ci
from debatelab.store import Store
from debatelab.tracing import tracing_guard
from debatelab.w2s import (
    accuracy,
    facilitation_metrics,
    fit_samme,
    majority_vote,
    mcnemar,
    weighted_probability_vote,
    weighted_vote,
)


def strong_spec(exp: Experiment) -> ModelSpec:
    return exp.w2s.strong  # type: ignore[union-attr]


def splits(exp: Experiment) -> dict[str, list[Question]]:
    w = exp.w2s
    assert w is not None
    cal = sample_questions(load_questions(w.calibration.source, difficulty=w.calibration.difficulty),
                           w.calibration.limit, w.seed)
    ev = sample_questions(load_questions(w.evaluation.source, difficulty=w.evaluation.difficulty),
                          w.evaluation.limit, w.seed + 1)
    return {"calibration": cal, "evaluation": ev}


def weak_config(exp: Experiment) -> DebateConfig:
    config = load_debate_config(exp.resolve(exp.w2s.ensemble, "w2s.ensemble"))  # type: ignore[union-attr]
    if config.topology != "weighted":
        raise UserError(f"{exp.source}: field 'w2s.ensemble': {config.source} has topology {config.topology!r}, "
                        f"expected 'weighted'")
    return config


def call_id(exp: str, split: str, qid: str, agent: str, kind: str, sample: int = 0) -> str:
    return f"{exp}:{split}:{qid}:{agent}:{kind}:{sample}"


class QuestionRun:
    """One experiment's calls: skip what the store has, record what returns."""

    def __init__(self, exp: Experiment, store: Store, progress: RunProgress, factory: ModelFactory):
        self.exp, self.store, self.progress, self.factory = exp, store, progress, factory
        self.done = store.qa_call_ids(exp.name)
        self.new_calls = 0
        self.failed: list[str] = []

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

    def raise_failures(self, stage: str) -> None:
        """After a stage: every call that failed is listed; what finished is kept for the re-run."""
        if self.failed:
            shown = "; ".join(self.failed[:3]) + (f"; and {len(self.failed) - 3} more" if len(self.failed) > 3 else "")
            raise ModelUnavailableError(f"{len(self.failed)} call(s) failed in the {stage} stage ({shown}); "
                                        f"re-run the same command to resume")

    def has(self, q: Question, split: str, agent: str, kind: str, sample: int = 0) -> bool:
        return call_id(self.exp.name, split, q.id, agent, kind, sample) in self.done

    def stored_letter(self, q: Question, split: str, agent: str, kind: str, sample: int = 0) -> str | None:
        row = self.store.qa_call(call_id(self.exp.name, split, q.id, agent, kind, sample))
        return row["letter"] if row else None


async def run_questions(exp: Experiment, store: Store, checkpoints: Any, progress: RunProgress, *,
                        model_factory: ModelFactory = make_chat_model, preflight: bool = True) -> dict[str, Any]:
    w = exp.w2s
    assert w is not None
    freeze_startup_heap()
    started = time.monotonic()
    config = weak_config(exp)
    weak = config.agents_with_role("answerer")
    strong = strong_spec(exp)
    facilitated = w.facilitate or weak
    for name in facilitated:
        if name not in weak:
            raise UserError(f"{exp.source}: field 'w2s.facilitate': {name!r} is not an answerer of {config.source}")
    data = splits(exp)
    specs = [config.model_for(a) for a in weak] + [strong]
    if preflight:
        require_models(specs, resolve_host)
    store.upsert_experiment(exp.name, description=exp.description, kind="questions", spec={
        **exp.spec_dict(), "provenance": {s: set_provenance(getattr(w, s).source) for s in ("calibration", "evaluation")},
        "weak": {a: config.model_for(a).label for a in weak}, "strong": strong.label,
    }, source_file=str(exp.source or ""))
    # One call limit per host (the debate runner's limiters): weak and strong models on different
    # hosts each get their host's concurrency; questions in flight are capped by the total.
    limiter_for = host_limiters(exp.limit_for)
    hosts = {resolve_host(spec): spec for spec in specs}
    slots = asyncio.Semaphore(max(1, sum(exp.limit_for(url, spec.host == EMBEDDED) for url, spec in hosts.items())))
    strong_limit = limiter_for(strong)
    weak_limit = {a: limiter_for(config.model_for(a)) for a in weak}
    run = QuestionRun(exp, store, progress, model_factory)
    models = {a: model_factory(config.model_for(a)) for a in weak}
    strong_model = model_factory(strong)
    personas = {a: config.agents[a].persona or "" for a in weak}
    total = sum(len(v) for v in data.values())
    progress.stage("questions", total=total)

    async with open_checkpointer(checkpoints) as saver:
        graph = build_weighted_graph(config).compile(checkpointer=saver, name="weighted")

        async def answer_all(q: Question, split: str) -> None:
            async with slots:
                try:
                    if not all(run.has(q, split, a, "answer") for a in weak):
                        cfg = {"configurable": {"thread_id": f"qa:{exp.name}:{config.fingerprint()}:{split}:{q.id}"}}
                        snap = await graph.aget_state(cfg)
                        inp = None if snap.next else {"question": q.model_dump(), "answers": []}
                        ctx = QAContext(personas=personas, max_attempts=w.max_attempts, top_logprobs=w.top_logprobs)
                        with bind_run(models, weak_limit), tracing_guard():
                            values = await graph.ainvoke(inp, cfg, context=ctx, durability="sync")
                        for a in values["answers"]:
                            if not run.has(q, split, a["agent"], "answer"):
                                run.record(q, split, a["agent"], "answer", 0, letter=a["letter"], text=a["reason"],
                                           unanswered=a["unanswered_reason"], model=config.model_for(a["agent"]).label,
                                           tokens=(a["input_tokens"], a["output_tokens"]), seconds=a["duration_s"],
                                           calls=a["calls"], option_probs=a.get("option_probs"),
                                           option_mass=a.get("option_mass"))
                    if not run.has(q, split, "strong", "answer"):
                        rec = await answer_question(strong_model, q, limiter=strong_limit, max_attempts=w.max_attempts)
                        run.record(q, split, "strong", "answer", 0, letter=rec.letter, text=rec.reason,
                                   unanswered=rec.unanswered_reason, model=strong.label,
                                   tokens=(rec.input_tokens, rec.output_tokens), seconds=rec.duration_s, calls=rec.calls)
                except STAGE_FAILURES as exc:
                    run.failed.append(f"{split}/{q.id}: {exc}")
                    return
            progress.advance("questions")

        await asyncio.gather(*(answer_all(q, s) for s, qs in data.items() for q in qs))
        run.raise_failures("answers")

        # The best weak agent on the calibration split gets the equal-budget self-consistency run.
        answers = stored_answers(store, exp.name)
        best = best_agent(answers, data["calibration"], weak)
        k = len(weak)
        best_spec = config.model_for(best)
        progress.stage("self-consistency", total=len(data["evaluation"]) * k)

        async def sample(q: Question, s: int) -> None:
            if not run.has(q, "evaluation", best, "self_consistency", s):
                spec = best_spec.with_options(temperature=w.self_consistency_temperature,
                                              seed=(best_spec.seed or 0) + 1000 + s)
                try:
                    async with slots:
                        rec = await answer_question(model_factory(spec), q, persona=personas[best],
                                                    limiter=weak_limit[best], max_attempts=w.max_attempts)
                except STAGE_FAILURES as exc:
                    run.failed.append(f"self-consistency {q.id}#{s}: {exc}")
                    return
                run.record(q, "evaluation", best, "self_consistency", s, letter=rec.letter, text=rec.reason,
                           unanswered=rec.unanswered_reason, model=spec.label,
                           tokens=(rec.input_tokens, rec.output_tokens), seconds=rec.duration_s, calls=rec.calls)
            progress.advance("self-consistency")

        await asyncio.gather(*(sample(q, s) for q in data["evaluation"] for s in range(k)))
        run.raise_failures("self-consistency")

        progress.stage("facilitated", total=len(data["evaluation"]))

        async def facilitate(q: Question) -> None:
            try:
                await facilitate_one(q)
            except STAGE_FAILURES as exc:
                run.failed.append(f"facilitation {q.id}: {exc}")
                return
            progress.advance("facilitated")

        async def facilitate_one(q: Question) -> None:
            async with slots:
                if not run.has(q, "evaluation", "strong", "explanation"):
                    ex = await explain_without_letter(strong_model, q, limiter=strong_limit, max_attempts=w.max_attempts)
                    run.record(q, "evaluation", "strong", "explanation", 0, letter=None, text=ex.text or "",
                               unanswered=None if ex.text else f"withheld: named a letter in {ex.leaked_attempts} tries",
                               model=strong.label, tokens=(ex.input_tokens, ex.output_tokens), seconds=ex.duration_s,
                               calls=ex.attempts)
                explanation = store.qa_call(call_id(exp.name, "evaluation", q.id, "strong", "explanation"))["text"]
                strong_letter = run.stored_letter(q, "evaluation", "strong", "answer") or q.letters[0]
                distractor = next(x for x in q.letters if x != strong_letter)
                if w.debate_variant:
                    for s, letter in enumerate((strong_letter, distractor)):
                        if not run.has(q, "evaluation", "strong", "advocate", s):
                            arg = await advocate(strong_model, q, letter, limiter=strong_limit)
                            run.record(q, "evaluation", "strong", "advocate", s, letter=letter, text=arg.text,
                                       unanswered=None, model=strong.label,
                                       tokens=(arg.input_tokens, arg.output_tokens), seconds=arg.duration_s, calls=1)
                for agent in facilitated:
                    if explanation and not run.has(q, "evaluation", agent, "facilitated"):
                        rec = await answer_question(models[agent], q, persona=personas[agent], limiter=weak_limit[agent],
                                                    context=f"An expert's explanation (it does not give the answer):\n"
                                                            f"{explanation}\n", max_attempts=w.max_attempts)
                        run.record(q, "evaluation", agent, "facilitated", 0, letter=rec.letter, text=rec.reason,
                                   unanswered=rec.unanswered_reason, model=config.model_for(agent).label,
                                   tokens=(rec.input_tokens, rec.output_tokens), seconds=rec.duration_s, calls=rec.calls)
                    if w.debate_variant and not run.has(q, "evaluation", agent, "debate"):
                        args = store.qa_calls(exp.name, kind="advocate", question_id=q.id, split="evaluation")
                        # Random but reproducible order (str hash() changes per process): no position cue.
                        flip = int(hashlib.sha256(q.id.encode()).hexdigest(), 16) % 2
                        order = list(reversed(args)) if flip else args
                        debate = "\n\n".join(f"Argument for option {a['letter']}:\n{a['text']}" for a in order)
                        rec = await answer_question(models[agent], q, persona=personas[agent], limiter=weak_limit[agent],
                                                    context=f"Two debaters argued for different options:\n{debate}\n",
                                                    max_attempts=w.max_attempts)
                        run.record(q, "evaluation", agent, "debate", 0, letter=rec.letter, text=rec.reason,
                                   unanswered=rec.unanswered_reason, model=config.model_for(agent).label,
                                   tokens=(rec.input_tokens, rec.output_tokens), seconds=rec.duration_s, calls=rec.calls)

        await asyncio.gather(*(facilitate(q) for q in data["evaluation"]))
        run.raise_failures("facilitation")

    results = compute_results(store, exp.name, data, weak, facilitated, best)
    store.write_result(f"{exp.name}:w2s", exp.name, "w2s", results)
    results["run"] = {"new_calls": run.new_calls, "wall_s": round(time.monotonic() - started, 1)}
    return results


STAGE_FAILURES = (UserError, ConnectionError, OSError, httpx.HTTPError, ollama.ResponseError)


def stored_answers(store: Store, experiment: str) -> dict[tuple[str, str, str, str, int], str | None]:
    return {(r["split"], r["question_id"], r["agent"], r["kind"], r["sample"]): r["letter"]
            for r in store.qa_calls(experiment)}


def stored_option_probs(store: Store, experiment: str) -> dict[tuple[str, str, str], dict[str, float]]:
    """(split, question, agent) -> option probabilities of the weak agents' answers, where recorded."""
    return {(r["split"], r["question_id"], r["agent"]): json.loads(r["option_probs"])
            for r in store.qa_calls(experiment, kind="answer") if r["option_probs"] is not None}


def best_agent(answers: dict, questions: list[Question], weak: list[str]) -> str:
    def acc(agent: str) -> float:
        return sum(answers.get(("calibration", q.id, agent, "answer", 0)) == q.answer for q in questions)

    return max(weak, key=lambda a: (acc(a), -weak.index(a)))


def _acc_entry(pred: list[str | None], truth: list[str], calls: int) -> dict[str, Any]:
    import numpy as np

    correct = np.array([p == t for p, t in zip(pred, truth, strict=True)], dtype=float)
    lo, hi = bootstrap_ci(correct) if len(correct) else (None, None)
    return {"accuracy": float(correct.mean()) if len(correct) else None, "ci_low": lo, "ci_high": hi,
            "n": len(truth), "unanswered": sum(p is None for p in pred), "calls_per_question": calls}


def compute_results(store: Store, experiment: str, data: dict[str, list[Question]], weak: list[str],
                    facilitated: list[str], best: str) -> dict[str, Any]:
    """Every method's accuracy from the stored answers (a report never needs a model)."""
    answers = stored_answers(store, experiment)
    option_probs = stored_option_probs(store, experiment)
    cal, ev = data["calibration"], data["evaluation"]
    letters = sorted({x for q in cal + ev for x in q.letters})
    n_classes = max(len(q.options) for q in cal + ev)

    def column(split: str, qs: list[Question], agent: str, kind: str = "answer", s: int = 0) -> list[str | None]:
        return [answers.get((split, q.id, agent, kind, s)) for q in qs]

    cal_truth, ev_truth = [q.answer for q in cal], [q.answer for q in ev]
    cal_answers = {a: column("calibration", cal, a) for a in weak}
    ev_answers = {a: column("evaluation", ev, a) for a in weak}
    samme = fit_samme(cal_answers, cal_truth, n_classes)
    acc_weights = {a: accuracy(cal_answers[a], cal_truth) for a in weak}
    k = len(weak)
    methods: dict[str, dict[str, Any]] = {}
    for a in weak:
        methods[f"single: {a}"] = _acc_entry(ev_answers[a], ev_truth, 1)
    methods["best single agent"] = {**_acc_entry(ev_answers[best], ev_truth, 1), "agent": best}
    preds = {
        "majority vote": majority_vote(ev_answers, letters),
        "accuracy-weighted vote": weighted_vote(ev_answers, acc_weights, letters),
        "SAMME-weighted vote": weighted_vote(ev_answers, samme.alphas, letters),
        "SAMME-weighted option probabilities": weighted_probability_vote(
            ev_answers, {a: [option_probs.get(("evaluation", q.id, a)) for q in ev] for a in weak}, samme.alphas,
            letters),
        "self-consistency (best agent, equal budget)": majority_vote(
            {f"s{s}": column("evaluation", ev, best, "self_consistency", s) for s in range(k)}, letters),
    }
    for name, pred in preds.items():
        methods[name] = _acc_entry(pred, ev_truth, k)
    methods["strong model alone"] = _acc_entry(column("evaluation", ev, "strong"), ev_truth, 1)
    correct = {name: [p == t for p, t in zip(pred, ev_truth, strict=True)] for name, pred in preds.items()}
    correct["best single agent"] = [p == t for p, t in zip(ev_answers[best], ev_truth, strict=True)]
    tests = {f"SAMME vs {other}": mcnemar(correct["SAMME-weighted vote"], correct[other])
             for other in ("majority vote", "accuracy-weighted vote", "best single agent",
                           "self-consistency (best agent, equal budget)")}
    tests["SAMME option probabilities vs SAMME letters"] = mcnemar(correct["SAMME-weighted option probabilities"],
                                                                   correct["SAMME-weighted vote"])
    answered = sum(x is not None for a in weak for x in ev_answers[a])
    with_probs = sum(1 for q in ev for a in weak if ("evaluation", q.id, a) in option_probs)
    strong_ev = column("evaluation", ev, "strong")
    facilitation = {}
    for a in facilitated:
        for variant, kind in (("explanation", "facilitated"), ("debate", "debate")):
            after = column("evaluation", ev, a, kind)
            if any(x is not None for x in after):
                m = facilitation_metrics(ev_answers[a], after, ev_truth, strong_ev)
                m["mcnemar_after_vs_before"] = mcnemar([x == t for x, t in zip(after, ev_truth, strict=True)],
                                                       [x == t for x, t in zip(ev_answers[a], ev_truth, strict=True)])
                facilitation[f"facilitated {a} ({variant})"] = m
    withheld = sum(r["unanswered_reason"] is not None for r in store.qa_calls(experiment, kind="explanation"))
    return {
        "calibration": {"n": len(cal), "agents": {a: _acc_entry(cal_answers[a], cal_truth, 1) for a in weak}},
        "weights": {"samme_alpha": samme.alphas, "samme_rounds": samme.rounds, "samme_stopped": samme.stopped,
                    "accuracy": acc_weights},
        "evaluation": {"n": len(ev), "methods": methods, "mcnemar": tests},
        "facilitation": facilitation, "explanations_withheld_for_naming_a_letter": withheld,
        "best_agent": best, "n_classes": n_classes,
        "option_probabilities": {"evaluation_answers": answered, "with_probabilities": with_probs},
    }
