"""Debate on labelled questions with scripted agents whose answers are fixed per round: every dynamics
figure and baseline difference must equal the hand-computed value, and self-consistency must spend
the debate's tokens to within one sample."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
import yaml

from debatelab.agents import ModelSpec, ScriptedChatModel
from debatelab.analysis import dynamics, majority, paired_difference, samples_for_equal_tokens
from debatelab.analysis.dynamics import vote
from debatelab.base import UserError
from debatelab.report import write_dynamics_report
from debatelab.runtime import RunProgress
from debatelab.store import Store
from debatelab.studies import load_experiment
from debatelab.studies import run_study as run_questions

DATA = Path(__file__).parent / "data"

# Truth is A on every question. Round 0: careful A; quick B; sceptic A on q0-q1 and C on q2-q3.
# Rounds 1 and 2: careful A, quick A (it gives in), sceptic B. Self-consistency (the baseline agent,
# careful, sampled hot): A on q0-q1, D on q2-q3. Chain of thought: A on q0 only.
ROUNDS = {"careful": ["AAAA", "AAAA", "AAAA"], "quick": ["BBBB", "AAAA", "AAAA"], "sceptic": ["AACC", "BBBB", "BBBB"]}
PERSONA = {"careful": "You are careful", "quick": "You answer quickly", "sceptic": "You distrust"}


def scripted(calls: list[str]):
    def factory(spec: ModelSpec) -> ScriptedChatModel:
        def script(prompt: str, kwargs: dict) -> object:
            q = int(re.search(r"Which number is (\d+)", prompt).group(1))
            agent = next(a for a, p in PERSONA.items() if p in prompt)
            if "Think step by step" in prompt:
                letter, kind = ("A" if q == 0 else "D"), "cot"
            elif spec.temperature == 0.8:
                letter, kind = ("A" if q < 2 else "D"), "sc"
            else:
                seen = re.search(r"answered this question in round (\d+)", prompt)
                r = int(seen.group(1)) + 1 if seen else 0
                letter, kind = ROUNDS[agent][r][q], f"round{r}"
                probe = re.search(r"- probe: ([A-D])", prompt)
                if agent == "sceptic" and probe:  # the sceptic gives in to a confident peer
                    letter = probe.group(1)
            calls.append(f"{agent}:{kind}:{q}")
            return {"reason": "because", "letter": letter}

        return ScriptedChatModel(name=spec.label, script=script)

    return factory


def experiment(tmp_path: Path, **debate: object) -> Path:
    questions = tmp_path / "q.jsonl"  # q0-q3 ("Which number is 0?" ...), answer A
    questions.write_text("".join((DATA / "questions.jsonl").read_text().splitlines(keepends=True)[:4]))
    path = tmp_path / "dyn.yaml"
    path.write_text(yaml.safe_dump({
        "name": "dyn", "kind": "questions", "judging": None,
        "questions": {"set": str(questions), "seed": 0},
        "debate": {"agents": "embedded/weighted", "rounds": 2, **debate}}))
    return path


def run(path: Path, db: Path, calls: list[str]) -> object:
    with Store.open(db) as store, RunProgress(None, enabled=False) as progress:  # type: ignore[arg-type]
        return asyncio.run(run_questions(load_experiment(path), store, db.with_suffix(".sqlite"), progress,
                                         model_factory=scripted(calls), preflight=False))


def test_every_figure_equals_the_hand_computed_value(tmp_path: Path) -> None:
    calls: list[str] = []
    summary = run(experiment(tmp_path), tmp_path / "d.db", calls)
    assert not summary.failed
    r = summary.results
    assert sorted({int(c.split(":")[2]) for c in calls}) == [0, 1, 2, 3]
    dyn = r["dynamics"]
    # Round 0 on q2 and q3 is a three-way tie (A, B, C): the seeded draw gives B and C there (the
    # earliest-letter rule of 0.3 gave A, the truth, and called the vote 1.0).
    assert [vote(["A", "B", "C"], f"{q}|0|vote")[0] for q in ("q2", "q3")] == ["B", "C"]
    assert [(x["round"], x["accuracy"], x["vote_accuracy"], x["n"]) for x in dyn["rounds"]] == [
        (0, 0.5, 0.5, 4), (1, 0.6667, 1.0, 4), (2, 0.6667, 1.0, 4)]
    assert dyn["flips"] == {"cc": 12, "ci": 2, "ic": 4, "ii": 6}
    # Ties are left out of adoption: quick gives in on q0-q1 (2 of 2), sceptic never (0 of 4 in round 1).
    assert dyn["majority_adoption"] == 0.3333 and dyn["majority_adoption_n"] == 6
    iv = dyn["intervals"]  # every figure has its interval, questions as the unit
    assert iv["majority_adoption"]["estimate"] == 0.3333 and iv["majority_adoption"]["n"] == 4
    assert iv["right_to_wrong"]["estimate"] == round(2 / 14, 4) and iv["wrong_to_right"]["estimate"] == 0.4
    assert all(r["ci_low"] <= r["accuracy"] <= r["ci_high"] for r in dyn["rounds"])
    # The self-consistency curve: the baseline agent (the first answerer, fixed in advance) says A on
    # q0-q1 and D on q2-q3 in every sample, so 0.5 at every k; the last k spends the debate's tokens.
    curve = r["self_consistency_curve"]
    assert [c["k"] for c in curve] == list(range(1, r["self_consistency_samples"] + 1))
    assert {c["accuracy"] for c in curve} == {0.5} and [c["equal_compute"] for c in curve][-1] is True
    assert dyn["disagreement_collapse"] == 0.0 and dyn["disagreements"] == 4 and dyn["collapsed_right"] is None
    assert dyn["oracle_gap"] == 0.0
    assert r["debate"]["accuracy"] == 1.0
    base = {b["method"]: b for b in r["baselines"]}
    assert (base["vote"]["accuracy"], base["vote"]["delta_vs_debate"]) == (0.5, 0.5)
    assert all(b["p_holm"] >= b["p"] for b in base.values() if b["p"] is not None)
    assert (base["self_consistency"]["accuracy"], base["self_consistency"]["delta_vs_debate"]) == (0.5, 0.5)
    assert base["self_consistency"]["p"] == 0.5  # McNemar exact: 2 discordant questions, both the debate's
    assert (base["cot"]["accuracy"], base["cot"]["delta_vs_debate"]) == (0.25, 0.75)
    for b in base.values():
        assert b["ci_low"] <= b["delta_vs_debate"] <= b["ci_high"]
    # equal compute: self-consistency's samples spend the debate's tokens per question, to within one sample
    per_sample = base["self_consistency"]["tokens_per_question"] / r["self_consistency_samples"]
    assert abs(base["self_consistency"]["tokens_per_question"] - dyn["tokens_per_question"]) <= per_sample
    assert sum(c.startswith("careful:sc") for c in calls) == 4 * r["self_consistency_samples"]


def test_a_rerun_makes_no_call_and_the_report_carries_dynamics_and_baselines(tmp_path: Path) -> None:
    calls: list[str] = []
    path = experiment(tmp_path)
    run(path, tmp_path / "d.db", calls)
    made = len(calls)
    again = run(path, tmp_path / "d.db", calls)
    assert len(calls) == made and again.new_calls == 0
    with Store.open(tmp_path / "d.db") as store:
        write_dynamics_report(store, "dyn", tmp_path / "rep")
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert {"rounds", "flips", "majority_adoption", "oracle_gap", "tokens_per_question"} <= set(report["dynamics"])
    assert {b["method"] for b in report["baselines"]} == {"vote", "self_consistency", "cot"}
    assert "near chance" in (tmp_path / "rep" / "report.md").read_text()


def test_an_edited_question_is_asked_again_and_its_old_answers_never_read(tmp_path: Path) -> None:
    """Answers are keyed by the question's content: editing q0's passage re-asks q0 only; the
    other questions resume; the results read q0's new answers, never the old ones (still stored)."""
    calls: list[str] = []
    path = experiment(tmp_path)
    first = run(path, tmp_path / "d.db", calls)
    questions = tmp_path / "q.jsonl"
    lines = questions.read_text().splitlines(keepends=True)
    item = json.loads(lines[0])
    questions.write_text(json.dumps({**item, "passage": "A new passage about the number 0."}) + "\n"
                         + "".join(lines[1:]))
    calls.clear()
    second = run(path, tmp_path / "d.db", calls)
    assert calls and {c.split(":")[2] for c in calls} == {"0"}  # only q0 asked again
    with Store.open(tmp_path / "d.db") as store:
        stored = [(q, c.rsplit(":", 1)[-1]) for q, c in store._db.execute("select question_id, call_id from qa_calls")]
        current = store.qa_calls("dyn", kind="debate")
    keys_q0 = {k for q, k in stored if q == "q0"}
    assert len(keys_q0) == 2  # the old answers are kept, under their own key
    assert len({r["call_id"].rsplit(":", 1)[-1] for r in current if r["question_id"] == "q0"}) == 1
    assert len(current) == 4 * 3 * 3  # 4 questions x 3 agents x rounds 0-2: the current rows only
    assert second.results["debate"]["n"] == first.results["debate"]["n"] == 4


def test_the_conformity_probe_counts_agents_that_give_in(tmp_path: Path) -> None:
    calls: list[str] = []
    summary = run(experiment(tmp_path, probe=True), tmp_path / "d.db", calls)
    c = summary.results["conformity"]
    # Right at round 0 (shared by both arms): careful x4 and sceptic on q0-q1 = 6. With the probe the
    # sceptic answers the probe's letter at round 1 (gives in, 2 of 6); without it, it says B, which
    # is not the probe's letter there (D on q0, C on q1): 0 of 6.
    assert c["right_at_round_0_with_probe"] == c["right_at_round_0_without_probe"] == 6
    assert c["sycophancy_rate_with_probe"] == pytest.approx(2 / 6, abs=1e-4)
    assert c["sycophancy_rate_without_probe"] == 0.0
    assert c["difference"] == pytest.approx(0.25, abs=1e-4)  # per question: 1/2, 1/2, 0, 0
    assert c["ci_low"] <= c["difference"] <= c["ci_high"] and c["questions"] == 4
    assert sum(":round0:" in x for x in calls) == 3 * 4  # round 0 once: the probed debates share it
    assert sum(":round1:" in x for x in calls) == 2 * 3 * 4  # both arms, every agent and question


def test_the_building_blocks() -> None:
    assert majority(["B", "A", None, "B"]) == "B" and majority([None]) is None
    # A tie is a seeded draw, the same for the same key, and not always the earliest letter.
    draws = [majority(["C", "A"], tie_key=f"q{i}") for i in range(40)]
    assert draws == [majority(["A", "C"], tie_key=f"q{i}") for i in range(40)]
    assert set(draws) == {"A", "C"} and 10 <= draws.count("A") <= 30
    d = dynamics({"q": {0: {"x": "A", "y": None}, 1: {"x": "A", "y": "A"}}}, {"q": "A"})
    assert d.flips == {"cc": 1, "ci": 0, "ic": 1, "ii": 0} and d.rounds[0]["accuracy"] == 0.5
    assert d.majority_adoption_n == 0  # an unanswered agent is not "in the minority"
    diff = paired_difference([True, True, False], [True, False, False])
    assert diff["delta_vs_debate"] == pytest.approx(1 / 3, abs=1e-4) and diff["ci_low"] <= diff["delta_vs_debate"]
    assert samples_for_equal_tokens(1000, 190) == 5 and samples_for_equal_tokens(10, 0) == 1


def test_a_debate_without_questions_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump({"name": "e", "kind": "questions", "debate": {"agents": "embedded/weighted"}}))
    with pytest.raises(UserError, match="field 'questions'"):
        load_experiment(path)


def test_the_report_says_plainly_whether_a_gain_survives_length_control():
    """A gain that is all length does not survive; one that holds at every length does; too few
    scenarios or lengths that do not overlap give no number, with the reason."""
    import numpy as np

    from debatelab.analysis import controlled_difference, survives_length_control

    rng = np.random.default_rng(0)
    scenario = np.repeat(np.arange(40), 2)
    ensemble = np.tile([1.0, 0.0], 40)
    hard = rng.normal(0, 0.5, 40)[scenario]
    length = np.where(ensemble == 1, 600, 400) * 2 ** rng.normal(0, 0.4, 80)
    # scores that follow length only: the ensemble's raw gain is its longer transcripts
    length_only = controlled_difference(np.log2(length) + hard + rng.normal(0, 0.2, 80), ensemble, length, scenario)
    assert length_only["raw_delta"] > 0.4
    assert survives_length_control(length_only) == (False, "does not survive length control (interval includes 0)")
    # a gain of 1 point at every length
    real = controlled_difference(4 + ensemble + hard + rng.normal(0, 0.3, 80), ensemble, length, scenario)
    assert survives_length_control(real) == (True, "survives length control (interval excludes 0)")
    assert abs(real["controlled_delta"] - 1) < 0.2
    few = controlled_difference(real_scores := 4 + ensemble[:4], ensemble[:4], length[:4], scenario[:4])
    assert few["controlled_delta"] is None and few["ci_low"] is None and "too few (n = 2" in few["reason"]
    assert few["raw_delta"] == round(float(real_scores[0] - real_scores[1]), 4)
    apart = controlled_difference(4 + ensemble, ensemble, np.where(ensemble == 1, 5000, 100.0) + scenario, scenario)
    assert apart["controlled_delta"] is None and "do not overlap" in apart["reason"]
    assert survives_length_control(apart)[0] is None


def test_the_cr2_fit_matches_a_direct_regression_and_the_paired_t_test():
    """The within-scenario coefficient equals least squares with one dummy per scenario; with two
    debates a scenario and no other regressor, CR2 with Bell-McCaffrey degrees of freedom is
    exactly the paired t test (standard error sd/sqrt(G), G - 1 df)."""
    import numpy as np

    from debatelab.analysis.length_control import cr2_coefficient

    rng = np.random.default_rng(3)
    g = 12
    scenario = np.repeat(np.arange(g), 3)
    ensemble = np.tile([1.0, 0.0, 0.0], g)
    loglen = rng.normal(0, 0.5, 3 * g) + 0.4 * ensemble
    score = rng.normal(0, 1, g)[scenario] + 0.7 * ensemble + 0.3 * loglen + rng.normal(0, 0.5, 3 * g)
    dummies = (scenario[:, None] == np.arange(g)[None, :]).astype(float)
    direct = np.linalg.lstsq(np.column_stack([ensemble, loglen, dummies]), score, rcond=None)[0][0]
    b, se, df = cr2_coefficient(score, np.column_stack([ensemble, loglen]), scenario)
    assert np.isclose(b, direct) and se > 0 and 1 < df < g
    pairs = np.repeat(np.arange(g), 2)
    treated = np.tile([1.0, 0.0], g)
    y = rng.normal(0, 1, g)[pairs] + 0.5 * treated + rng.normal(0, 0.4, 2 * g)
    d = y[treated == 1] - y[treated == 0]
    b, se, df = cr2_coefficient(y, treated[:, None], pairs)
    assert np.isclose(b, d.mean()) and np.isclose(se, d.std(ddof=1) / np.sqrt(g)) and np.isclose(df, g - 1)
    assert np.isnan(cr2_coefficient(y, np.column_stack([treated, treated]), pairs)[0])  # inseparable columns


def test_a_reading_question_shows_its_passage_to_every_answer(tmp_path: Path) -> None:
    """Reading sets (BoolQ, LogiQA, a JSONL with passages) are about their passage: every round's
    answers and the baselines read it (0.3 showed it to none)."""
    lines = (DATA / "questions.jsonl").read_text().splitlines()[:4]
    rows = [{**json.loads(line), "passage": f"Passage number {i}: the answer is plain."} for i, line in enumerate(lines)]
    path = experiment(tmp_path)
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    prompts: list[str] = []

    def factory(spec: ModelSpec) -> ScriptedChatModel:
        inner = scripted([])(spec)

        def script(prompt: str, kwargs: dict) -> object:
            prompts.append(prompt)
            return inner.script(prompt, kwargs)

        return ScriptedChatModel(name=spec.label, script=script)

    with Store.open(tmp_path / "p.db") as store, RunProgress(None, enabled=False) as progress:  # type: ignore[arg-type]
        summary = asyncio.run(run_questions(load_experiment(path), store, tmp_path / "p.sqlite", progress,
                                            model_factory=factory, preflight=False))
    assert not summary.failed and prompts
    for prompt in prompts:
        q = int(re.search(r"Which number is (\d+)", prompt).group(1))
        assert f"Passage number {q}: the answer is plain." in prompt


def test_a_multi_model_debate_is_compared_with_its_models_voting_alone(tmp_path: Path) -> None:
    """Three different models: besides one model's self-consistency, every model samples alone,
    round-robin, at the debate's budget, and the samples vote (model diversity without debate)."""
    config = yaml.safe_load((Path(__file__).parent.parent / "configs/embedded/weighted.yaml").read_text())
    for i, agent in enumerate(config["agents"].values()):
        agent["model"]["model"] = f"model-{i}"
    (tmp_path / "three.yaml").write_text(yaml.safe_dump(config))
    calls: list[str] = []
    summary = run(experiment(tmp_path, agents=str(tmp_path / "three.yaml")), tmp_path / "d.db", calls)
    assert not summary.failed
    base = {b["method"]: b for b in summary.results["baselines"]}
    multi = base["multi_model_vote"]
    assert multi["accuracy"] == 0.5 and multi["n"] == 4  # every sample: A on q0-q1, D on q2-q3
    assert 0.5 <= multi["tokens_per_question"] / summary.results["dynamics"]["tokens_per_question"] <= 1.5
    with Store.open(tmp_path / "d.db") as store:
        voters = {r["agent"] for r in store.qa_calls("dyn", kind="multi_vote")}
    assert voters == {"careful", "quick", "sceptic"}
    assert all(b["p_holm"] is None or b["p_holm"] >= b["p"] for b in base.values())
