"""Weak-to-strong: SAMME by hand, votes, facilitation metrics, the leak guard, loaders, the runner."""

from __future__ import annotations

import asyncio
import json
import math
import re
from pathlib import Path

import pytest
import yaml

from debatelab.agents import ModelSpec, ScriptedChatModel, WithLogprobs
from debatelab.agents.roles import leaks_answer
from debatelab.analysis.weak_to_strong import facilitation_metrics, fit_samme, mcnemar
from debatelab.base import UserError
from debatelab.graphs import majority_vote, weighted_vote
from debatelab.runtime import RunProgress
from debatelab.scenarios import load_questions, parse_answer, parse_options
from debatelab.store import Store
from debatelab.studies import load_experiment
from debatelab.studies import run_study as run_questions
from tests.conftest import ROOT, run_cli
from tests.sql import query

DATA = Path(__file__).parent / "data"


def test_samme_matches_hand_computed_example():
    truth = ["A", "B", "C", "D"]
    answers = {"a1": ["A", "B", "C", "A"], "a2": ["A", "A", "C", "D"], "a3": ["B", "B", "B", "D"]}
    fit = fit_samme(answers, truth, n_classes=4, max_rounds=3)
    # round 1: e(a1) = 1/4 -> ln(3) + ln(3); round 2: e(a2) = 1/12 -> ln(11) + ln(3); round 3: e(a3) = 2/44
    assert [r["agent"] for r in fit.rounds] == ["a1", "a2", "a3"]
    assert fit.alphas["a1"] == pytest.approx(math.log(9))
    assert fit.alphas["a2"] == pytest.approx(math.log(33))
    assert fit.alphas["a3"] == pytest.approx(math.log(63))
    assert [r["error"] for r in fit.rounds] == pytest.approx([0.25, 1 / 12, 2 / 44])
    assert weighted_vote(answers, fit.alphas, list("ABCD")) == ["A", "B", "C", "D"]


def test_always_wrong_agent_gets_the_lowest_weight_and_chance_stops():
    truth = ["A", "B", "C", "D", "A", "B"]
    answers = {"good": ["A", "B", "C", "A", "A", "B"], "fair": ["A", "C", "C", "D", "B", "B"],
               "wrong": ["B", "C", "D", "A", "B", "C"]}
    fit = fit_samme(answers, truth, n_classes=4)
    assert fit.alphas["wrong"] == min(fit.alphas.values()) == 0.0
    assert fit.alphas["good"] > 0
    chance = fit_samme({"x": ["B", "C", "D", "A"]}, ["A", "B", "C", "D"], n_classes=4)
    assert chance.alphas == {"x": 0.0} and ">= 1 - 1/C" in chance.stopped


def test_votes_ignore_unanswered_and_break_ties_deterministically():
    answers = {"a": ["A", None], "b": ["B", None], "c": ["B", None]}
    assert majority_vote(answers, list("ABCD")) == ["B", None]
    assert weighted_vote(answers, {"a": 3.0, "b": 1.0, "c": 1.0}, list("ABCD")) == ["A", None]
    assert weighted_vote({"a": ["C"], "b": ["A"]}, {"a": 1.0, "b": 1.0}, list("ABCD")) == ["A"]


def test_facilitation_metrics_on_scripted_answers():
    m = facilitation_metrics(before=["A", "B", None, "D"], after=["A", "C", "C", "D"], truth=["A", "C", "C", "A"],
                             strong=["A", "C", "B", "A"])
    assert (m["acc_weak"], m["acc_facilitated"], m["acc_strong"]) == (0.25, 0.75, 0.75)
    assert m["gain"] == 0.5 and m["gap_recovered"] == pytest.approx(1.0)
    assert (m["right_to_wrong"], m["wrong_to_right"]) == (0, 2)
    assert m["wrong_to_right_rate"] == pytest.approx(2 / 3)
    assert m["acc_after_when_strong_right"] == pytest.approx(2 / 3) and m["acc_after_when_strong_wrong"] == 1.0
    assert mcnemar([True, True, False], [False, True, True]) == {"a_only": 1, "b_only": 1, "p_value": 1.0}


@pytest.mark.parametrize("text, leaks", [
    ("The answer is B because photosynthesis needs light.", True),
    ("Option C sounds tempting but ignores friction.", True),
    ("(D) is what a careless reader picks.", True),
    ("A is correct since marshes are humid.", True),
    ("Think about where water vapour condenses: humid, low places with still air.", False),
    ("A marsh is humid; a desert is dry.", False),
])
def test_letter_leak_guard(text, leaks):
    assert leaks_answer(text, list("ABCD")) is leaks


def test_question_loader_formats_and_errors(tmp_path):
    assert parse_options("A. one\nB. two\n  continued\nC. three") == ["one", "two\ncontinued", "three"]
    assert parse_answer("B. two", ["one", "two"]) == "B" and parse_answer("two", ["one", "two"]) == "B"
    qs = load_questions(str(DATA / "questions.jsonl"))
    assert len(qs) == 8 and qs[0].answer == "A" and qs[0].letters == list("ABCD")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "q", "options": ["x", "y"], "answer": "E"}) + "\n")
    with pytest.raises(UserError, match="bad.jsonl: line 1"):
        load_questions(str(bad))
    with pytest.raises(UserError, match="not a built-in set"):
        load_questions("nope")


def scripted_factory(calls: dict[str, int], letter_probs: dict[str, float] | None = None):
    """Weak agents answer A (right) on even question numbers only; the strong one always right.
    With `letter_probs`, answers also carry logprobs giving that distribution."""

    def factory(spec: ModelSpec) -> ScriptedChatModel:
        def script(prompt: str, kwargs: dict) -> object:
            calls[spec.label] = calls.get(spec.label, 0) + 1
            number = int(re.search(r"Which number is (\d+)", prompt).group(1))
            if kwargs.get("format"):
                right = spec.temperature == 0.0 or (number + (spec.seed or 0)) % 2 == 0
                answer = {"reason": "because", "letter": "A" if right else "B"}
                return WithLogprobs(answer, letter_probs) if letter_probs else answer
            return "Consider the counting order of the numbers carefully."

        return ScriptedChatModel(name=spec.label, script=script)

    return factory


def test_runner_with_scripted_models_and_equal_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("DEBATELAB_EMBEDDED_HOST", "http://127.0.0.1:9")
    spec = yaml.safe_load((ROOT / "configs/experiments/w2s-demo.yaml").read_text())
    spec["w2s"]["calibration"] = {"source": str(DATA / "questions.jsonl"), "limit": 4}
    spec["w2s"]["evaluation"] = {"source": str(DATA / "questions.jsonl"), "limit": 4}
    path = tmp_path / "w2s.yaml"
    path.write_text(yaml.safe_dump(spec))
    exp = load_experiment(path)
    calls: dict[str, int] = {}
    store = Store.open(tmp_path / "w.db")
    with RunProgress(None, enabled=False) as progress:  # type: ignore[arg-type]
        results = asyncio.run(run_questions(exp, store, tmp_path / "cp.sqlite", progress,
                                            model_factory=scripted_factory(calls), preflight=False)).results
    methods = results["evaluation"]["methods"]
    assert {"majority vote", "SAMME-weighted vote", "self-consistency (best agent, equal budget)",
            "best single agent", "accuracy-weighted vote"} <= set(methods)
    rows = query(store, "select kind, count(*) as n, sum(calls) as calls from qa_calls group by kind")
    by_kind = {r["kind"]: r for r in rows}
    k, n_eval = 3, 4
    ensemble_eval_calls = query(store, "select count(*) as n from qa_calls where kind = 'answer' and split = "
                                      "'evaluation' and agent != 'strong'")[0]["n"]
    assert by_kind["self_consistency"]["n"] == k * n_eval == ensemble_eval_calls  # equal budget
    assert methods["strong model alone"]["accuracy"] == 1.0
    assert "facilitated careful (explanation)" in results["facilitation"]
    again_calls = dict(calls)
    with RunProgress(None, enabled=False) as progress:  # type: ignore[arg-type]
        again = asyncio.run(run_questions(exp, store, tmp_path / "cp.sqlite", progress,
                                          model_factory=scripted_factory(calls), preflight=False))
    assert calls == again_calls and again.new_calls == 0 and not again.failed  # a re-run repeats no call


def test_runner_stores_option_probabilities_and_votes_with_them(tmp_path, monkeypatch):
    monkeypatch.setenv("DEBATELAB_EMBEDDED_HOST", "http://127.0.0.1:9")
    spec = yaml.safe_load((ROOT / "configs/experiments/w2s-demo.yaml").read_text())
    spec["w2s"]["calibration"] = {"source": str(DATA / "questions.jsonl"), "limit": 4}
    spec["w2s"]["evaluation"] = {"source": str(DATA / "questions.jsonl"), "limit": 4}
    spec["w2s"]["debate_variant"] = False
    path = tmp_path / "w2s.yaml"
    path.write_text(yaml.safe_dump(spec))
    store = Store.open(tmp_path / "w.db")
    with RunProgress(None, enabled=False) as progress:  # type: ignore[arg-type]
        results = asyncio.run(run_questions(load_experiment(path), store, tmp_path / "cp.sqlite", progress,
                                            model_factory=scripted_factory({}, {"A": 0.6, "B": 0.4}),
                                            preflight=False)).results
    rows = query(store, "select option_probs, option_mass from qa_calls where kind = 'answer' and agent != 'strong'")
    assert rows and all(json.loads(r["option_probs"]) == pytest.approx({"A": 0.6, "B": 0.4, "C": 0, "D": 0})
                        for r in rows)
    assert all(r["option_mass"] == pytest.approx(1.0) for r in rows)
    assert results["option_probabilities"] == {"evaluation_answers": 12, "with_probabilities": 12}
    # every weak agent puts 0.6 on A, so the probability vote says A wherever anyone answered
    method = results["evaluation"]["methods"]["SAMME-weighted option probabilities"]
    assert method["n"] == 4 and "SAMME option probabilities vs SAMME letters" in results["evaluation"]["mcnemar"]
    # the strong model and self-consistency calls did not ask for logprobs
    assert query(store, "select count(*) as n from qa_calls where option_probs is not null and "
                       "(agent = 'strong' or kind != 'answer')")[0]["n"] == 0


def test_store_adds_columns_a_newer_debatelab_needs(tmp_path):
    db = tmp_path / "old.db"
    Store.open(db).close()
    import sqlite3

    con = sqlite3.connect(db)
    con.execute("alter table qa_calls drop column option_probs")
    con.commit()
    con.close()
    store = Store.open(db)
    assert "option_probs" in store._db.table("qa_calls").columns_dict


@pytest.mark.real_model
def test_w2s_demo_runs_on_embedded(embedded_env, tmp_path):
    """The shipped w2s demo on the real model, with 2 calibration and 2 evaluation questions instead
    of 12 and 12: every method and the report still run; the full demo is the README's command."""
    spec = yaml.safe_load((ROOT / "configs/experiments/w2s-demo.yaml").read_text())
    spec["w2s"]["calibration"]["limit"] = spec["w2s"]["evaluation"]["limit"] = 2
    exp = tmp_path / "w2s-demo-small.yaml"
    exp.write_text(yaml.safe_dump(spec))
    proc = run_cli("run", str(exp), "--db", str(tmp_path / "w.db"), "--checkpoints", str(tmp_path / "cp.sqlite"),
                   "--report", str(tmp_path / "rep"), timeout=600)
    assert proc.returncode == 0, proc.stderr[-1500:]
    for word in ("majority vote", "SAMME", "self-consistency", "facilitated"):
        assert word in proc.stdout
    assert (tmp_path / "rep" / "report.html").is_file()


def test_prose_calls_are_capped_and_a_context_overflow_is_unanswered():
    import ollama
    from langchain_ollama import ChatOllama

    from debatelab.agents.calls import with_max_output_tokens
    from debatelab.agents.roles import answer_question
    from debatelab.scenarios import Question

    assert with_max_output_tokens(ChatOllama(model="x"), 270).num_predict == 270  # uncapped: capped
    assert with_max_output_tokens(ChatOllama(model="x", num_predict=-1), 270).num_predict == 270  # -1 = no limit
    assert with_max_output_tokens(ChatOllama(model="x", num_predict=100), 270).num_predict == 100  # tighter: kept

    def overflow(prompt: str, kwargs: dict) -> object:
        raise ollama.ResponseError("request (4226 tokens) exceeds the available context size (4096 tokens)", 400)

    q = Question(id="q", question="Which?", options=["a", "b"], answer="A")
    rec = asyncio.run(answer_question(ScriptedChatModel(script=overflow), q, context="a very long debate"))
    assert rec.letter is None and "context window" in rec.unanswered_reason and rec.calls == 1

    def not_found(prompt: str, kwargs: dict) -> object:
        raise ollama.ResponseError("model 'x' not found", 404)

    with pytest.raises(ollama.ResponseError):  # other server errors still stop the run with their message
        asyncio.run(answer_question(ScriptedChatModel(script=not_found), q))
