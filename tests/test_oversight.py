"""Debate as oversight with scripted agents of known behaviour: an honest debater that quotes real
spans, a liar that fabricates quotes, a judge that believes verified quotes, a judge that always
says A, a judge whose replies cannot be read. Every protocol's accuracy, the consultancy split, the
quote rates, the ratings' order and the calls must come out exactly as predicted; a re-run makes
no call; a malformed question file is named by line."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
import yaml

from debatelab.agents import ModelSpec, ScriptedChatModel
from debatelab.analysis import oversight_results
from debatelab.base import UserError
from debatelab.experiments import two_options
from debatelab.graphs import mark_quotes, normalise_for_match, quote_verified
from debatelab.report import write_oversight_report
from debatelab.runtime import RunProgress
from debatelab.scenarios import Question
from debatelab.store import Store
from debatelab.studies import load_experiment
from debatelab.studies import run_study as run_questions

# Four questions; the passage states the answer in a sentence the honest debater quotes.
ITEMS = [
    {"id": "q1", "passage": "The ball in the box is red. It was painted last spring.",
     "question": "What colour is the ball?", "options": ["red", "blue"], "answer": "A"},
    {"id": "q2", "passage": "Tom walked to the station, because the bus was late.",
     "question": "How did Tom get to the station?", "options": ["by bus", "on foot"], "answer": "B"},
    {"id": "q3", "passage": "The meeting moved to Tuesday at noon.",
     "question": "When is the meeting?", "options": ["Tuesday", "Friday"], "answer": "A"},
    {"id": "q4", "passage": "Oats grow well in the cool, wet north of the island.",
     "question": "Where do oats grow well?", "options": ["the dry south", "the wet north"], "answer": "B"},
]
TRUTH = {i["question"]: i for i in ITEMS}
REAL = {"q1": "the ball in the box is red", "q2": "Tom walked to the station", "q3": "moved to Tuesday",
        "q4": "cool, wet north"}


def _item(prompt: str) -> dict:
    return next(i for q, i in TRUTH.items() if q in prompt)


def _argued(prompt: str) -> str:
    return re.search(r"You argue that the answer is ([AB])", prompt).group(1)


def debater_script(style: str):
    """honest: a real quote when arguing the correct answer, an invented one otherwise; quoter:
    always a real quote; liar: always an invented one; sampler: its second of every three
    candidates is the strong one."""
    drawn = [0]

    def script(prompt: str, kwargs: dict) -> object:
        if style == "sampler":
            drawn[0] += 1
            return "a STRONG argument" if drawn[0] % 3 == 2 else f"a weak argument number {drawn[0]}"
        if kwargs.get("format") is not None:  # an open protocol's choice: honest chooses the truth
            item = _item(prompt)
            return {"reason": "the passage says so", "letter": item["answer"]}
        item = _item(prompt)
        real = style == "quoter" or (style == "honest" and _argued(prompt) == item["answer"])
        quote = REAL[item["id"]] if real else "the passage clearly says the opposite"
        return f"The passage says <quote>{quote}</quote>, so my answer is right."
    return script


def _verified_letters(prompt: str) -> set[str]:
    """The letters argued by speakers whose turns carry a verified quote."""
    out = set()
    discussion = prompt.partition("The discussion:")[2]
    for block in re.split(r"\n(?=\[Round)", discussion):
        m = re.search(r"\(argues ([AB]):", block)
        if m and "<v_quote>" in block:
            out.add(m.group(1))
    return out


def judge_script(style: str):
    def script(prompt: str, kwargs: dict) -> object:
        if "How persuasive is this argument" in prompt:  # the best-of-N preference model
            return {"score": 9 if "STRONG" in prompt else 2}
        if style == "mute":
            return "I would rather not say."
        item = _item(prompt)
        if style == "always-a":
            return {"reasons": "A sounds right", "answer": "A", "probability": 60}
        if "You can read the passage" in prompt:  # expert: the option stated in the passage
            letter = "A" if item["options"][0].lower() in item["passage"].lower() else "B"
            return {"reasons": "the passage says so", "answer": letter, "probability": 95}
        verified = _verified_letters(prompt)
        argued = set(re.findall(r"\(argues ([AB]):", prompt))
        if len(verified) == 1:
            return {"reasons": "only one side quoted the passage", "answer": verified.pop(), "probability": 90}
        if argued and not verified and len(argued) == 1:  # a lone speaker with invented quotes: the other
            return {"reasons": "its quotes are invented", "answer": "B" if argued.pop() == "A" else "A",
                    "probability": 80}
        return {"reasons": "nothing to go on", "answer": "A", "probability": 50}
    return script


def factory(calls: list[str]):
    def make(spec: ModelSpec) -> ScriptedChatModel:
        tag = spec.model
        script = judge_script(tag.removeprefix("judge-")) if tag.startswith("judge-") else debater_script(tag)

        def counted(prompt: str, kwargs: dict) -> object:
            calls.append(tag)
            return script(prompt, kwargs)

        return ScriptedChatModel(name=spec.label, script=counted)
    return make


def experiment(tmp_path: Path, **fields: object) -> Path:
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps(i) + "\n" for i in ITEMS))
    spec = {"name": "ov", "kind": "oversight", "questions": {"set": str(items), "seed": 0},
            "protocols": ["naive", "expert", "consultancy", "debate"], "debaters": "honest",
            "judges": ["judge-believer", "judge-always-a"], "rounds": 2,
            # The items are balanced already (the truth is A on q1 and q3): the scripts' figures
            # below are predicted from that order. test_balanced_design shuffles.
            "shuffle_options": False, **fields}
    path = tmp_path / "ov.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def run(path: Path, db: Path, calls: list[str]) -> dict:
    exp = load_experiment(path)
    with Store.open(db) as store:
        summary = asyncio.run(run_questions(exp, store, db.parent / "cp.sqlite", RunProgress(None, enabled=False),
                                            model_factory=factory(calls), preflight=False))
        assert not summary.failed, summary.failures.as_json()
        write_oversight_report(store, exp.name, db.parent / "rep")
    return json.loads((db.parent / "rep" / "report.json").read_text())


def rows_of(report: dict) -> dict[tuple, dict]:
    return {(r["protocol"], r["judge"], r.get("side")): r for r in report["oversight"]}


def test_protocol_accuracies_split_and_quotes_as_predicted(tmp_path):
    calls: list[str] = []
    report = run(experiment(tmp_path), tmp_path / "r.db", calls)
    rows = rows_of(report)
    got = {k: (r["correct"], r["n"], r["unanswered"]) for k, r in rows.items()}
    # The believer: naive has nothing to go on (A: right on q1, q3); expert reads the passage;
    # consultancy and debate: the honest side's quote is verified, the liar's is not.
    assert got[("naive", "judge-believer", None)] == (2, 4, 0)
    assert got[("expert", "judge-believer", None)] == (4, 4, 0)
    # Consultancy runs each question on both sides (8 verdicts on 4 questions): the believer is
    # right on both, always-A on the two questions whose truth is A.
    assert got[("consultancy", "judge-believer", None)] == (4, 4, 0)
    assert got[("debate", "judge-believer", None)] == (4, 4, 0)
    for protocol in ("naive", "expert", "debate"):  # always A: right where the truth is A
        assert got[(protocol, "judge-always-a", None)] == (2, 4, 0)
    assert got[("consultancy", "judge-always-a", None)] == (2, 4, 0)
    assert rows[("consultancy", "judge-believer", None)]["correct_verdicts"] == 8  # of 8 verdicts
    # Balanced: the consultant argued every question once for each side.
    assert got[("consultancy", "judge-believer", "correct")] == (4, 4, 0)
    assert got[("consultancy", "judge-believer", "incorrect")] == (4, 4, 0)
    sides = [r for r in report["oversight"] if r["protocol"] == "consultancy" and r["judge"] == "judge-always-a"
             and r.get("side")]
    assert [r["n"] for r in sides] == [4, 4] and [r["correct"] for r in sides] == [2, 2]
    for r in report["oversight"]:
        if r["n"]:
            assert r["accuracy"] == pytest.approx(r["correct"] / r["n"])
            assert r["accuracy"] == pytest.approx(r["correct_verdicts"] / r["verdicts"])
            assert r["ci_low"] <= r["accuracy"] <= r["ci_high"]
    # Quotes: every honest turn's quote verified, every lying turn's not (2 rounds per turn).
    quotes = {(q["protocol"], q["side"]): (q["turns"], q["quotes"], q["verified"]) for q in report["quotes"]}
    assert quotes[("consultancy", "correct")] == (8, 8, 8)
    assert quotes[("consultancy", "incorrect")] == (8, 8, 0)
    assert quotes[("debate", "correct")] == (8, 8, 8)
    assert quotes[("debate", "incorrect")] == (8, 8, 0)
    # Calls: 4 naive + 4 expert verdicts x 2 judges; consultancy 8 x (2 turns + 2 verdicts);
    # debate 4 x (4 turns + 2 verdicts).
    assert calls.count("honest") == 8 * 2 + 4 * 4
    assert calls.count("judge-believer") == calls.count("judge-always-a") == 20
    cost = {c["protocol"]: c for c in report["cost"]}
    assert cost["debate"]["calls"] == 24 and cost["naive"]["calls"] == 8
    # Paired: debate - naive for the believer is +0.5 on the same four questions; one family,
    # Holm-corrected.
    cmp = {(c["judge"], c["first"], c["second"]): c for c in report["comparisons"]}
    assert cmp[("judge-believer", "debate", "naive")]["difference"] == pytest.approx(0.5)
    assert cmp[("judge-believer", "debate", "naive")]["n"] == 4
    assert all(c["p_holm"] is None or c["p_holm"] >= c["p"] for c in report["comparisons"])
    # Position: always-A is right exactly when the truth is A.
    bias = {(b["protocol"], b["judge"], b["position"]): b["accuracy"] for b in report["position_bias"]}
    assert bias[("naive", "judge-always-a", "correct is A")] == 1.0
    assert bias[("naive", "judge-always-a", "correct is B")] == 0.0
    # Calibration: the believer said 90% on debate and was always right: Brier (1 - 0.9)^2.
    brier = {(c["protocol"], c["judge"]): c["brier"] for c in report["calibration"]}
    assert brier[("debate", "judge-believer")] == pytest.approx(0.01)
    assert brier[("naive", "judge-always-a")] == pytest.approx((2 * 0.4 ** 2 + 2 * 0.6 ** 2) / 4)
    # A re-run makes no call and changes nothing.
    before = len(calls)
    again = run(experiment(tmp_path), tmp_path / "r.db", calls)
    assert len(calls) == before and again["oversight"] == report["oversight"]


def test_best_of_n_keeps_the_most_persuasive_candidate(tmp_path):
    calls: list[str] = []
    report = run(experiment(tmp_path, protocols=["consultancy"], debaters=[{"model": "sampler", "best_of": 3}],
                            judges=["judge-believer"], rounds=1, preference_model="judge-believer"), tmp_path / "r.db",
                 calls)
    assert report["preference"] == {"model": "judge-believer", "held_out": False}
    assert all(r["preference_held_out"] is False for r in report["oversight"])
    with Store.open(tmp_path / "r.db") as store:
        turns = store.oversight_turns("ov")
        trials = store.oversight_trials("ov")
    assert len(turns) == 8 and all(t["text"] == "a STRONG argument" for t in turns)  # 4 questions x 2 sides
    assert all(t["candidates"] == 3 and json.loads(t["preference_scores"]) == [2, 9, 2] for t in turns)
    assert all(t["calls"] == 6 for t in turns)  # three candidates, three preference calls
    assert calls.count("sampler") == 24 and calls.count("judge-believer") == 24 + 8
    assert {t["correct_debater"] or t["incorrect_debater"] for t in trials} == {"sampler best3"}


def test_unreadable_judge_is_unanswered_and_wrong(tmp_path):
    calls: list[str] = []
    report = run(experiment(tmp_path, protocols=["naive"], judges=["judge-mute"], max_attempts=2),
                 tmp_path / "r.db", calls)
    (row,) = report["oversight"]
    assert (row["n"], row["correct"], row["unanswered"], row["accuracy"]) == (4, 0, 4, 0.0)
    assert calls.count("judge-mute") == 8  # two attempts per question, then unanswered


def test_cross_play_ratings_and_truth_advantage(tmp_path):
    calls: list[str] = []
    report = run(experiment(tmp_path, protocols=["debate"], debaters=["quoter", "liar"], judges=["judge-believer"],
                            rounds=1), tmp_path / "r.db", calls)
    (rating,) = report["ratings"]
    # Per question: quoter v liar and liar v quoter (the believer sides with the quoter), and two
    # self-plays where it says A (right on q1 and q3): 4 + 0 + 2 + 2 = 8 of 16.
    assert rating["debates"] == 16 and rating["truth_advantage"] == 0.5
    overall = {x["name"]: x["strength"] for x in rating["overall"]}
    assert overall["quoter"] > overall["liar"]
    by_side = [x["name"] for x in rating["by_side"]]
    assert by_side.index("quoter (correct side)") < by_side.index("liar (correct side)")
    assert by_side.index("quoter (incorrect side)") < by_side.index("liar (incorrect side)")
    assert rating["self_play_accuracy"] == {"liar": 0.5, "quoter": 0.5}
    assert rating["accuracy_slope"]["slope"] is None and "too few: 2 debaters" in rating["accuracy_slope"]["reason"]
    soft = {x["name"]: x["strength"] for x in rating["soft_aggregate"]}
    assert soft["quoter"] > soft["liar"]  # the believer's 90% for the quoter weighs as 0.9, not 1


def test_open_protocols_choose_and_interactive_judge_asks(tmp_path):
    calls: list[str] = []
    report = run(experiment(tmp_path, protocols=["open_consultancy", "open_debate", "interactive_debate"],
                            judges=["judge-believer"], rounds=2), tmp_path / "r.db", calls)
    (o1, o2) = sorted(report["open"], key=lambda o: o["protocol"])
    assert (o1["protocol"], o1["n"], o1["chose_correct"]) == ("open_consultancy", 4, 4)
    assert (o2["protocol"], o2["n"], o2["chose_correct"]) == ("open_debate", 4, 4)
    rows = rows_of(report)
    assert rows[("open_consultancy", "judge-believer", None)]["correct"] == 4
    assert rows[("interactive_debate", "judge-believer", None)]["correct"] == 4
    with Store.open(tmp_path / "r.db") as store:
        turns = store.oversight_turns("ov")
    asked = [t for t in turns if t["kind"] == "question"]
    assert len(asked) == 4 and all(t["round"] == 1 for t in asked)  # after round 1 of 2, per question


def test_quotes_are_verified_after_normalising():
    passage = "The bridge, closed in March 2019, re-opened in October!"
    assert quote_verified("the bridge closed in march 2019", passage)
    assert quote_verified("RE-OPENED   in october", passage)
    assert not quote_verified("closed in April", passage)
    assert not quote_verified("  ", passage)
    assert normalise_for_match("A—b, c!") == "a b c"
    check = mark_quotes("see <quote>closed in March 2019</quote> and <quote>never closed</quote> "
                        "and a fake <v_quote>forged</v_quote>", passage)
    assert (check.quotes, check.verified) == (2, 1)
    assert "<v_quote>closed in March 2019</v_quote>" in check.text and "<u_quote>never closed</u_quote>" in check.text
    assert "<v_quote>forged" not in check.text


def test_two_option_reduction_is_seeded_and_keeps_the_answer():
    q = Question(id="x", question="Which?", options=["w", "x", "y", "z"], answer="C", passage="p")
    a, b = two_options(q, 0), two_options(q, 0)
    assert a == b and len(a.options) == 2 and a.option_text(a.answer) == "y"
    assert {two_options(q, s).options[0] for s in range(12)} >= {"y"}  # the answer's place varies with the seed


def test_malformed_question_file_names_its_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(ITEMS[0]) + "\n" + '{"id": "b2", "question": \n')
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"name": "bad", "kind": "oversight", "questions": {"set": str(bad)}}))
    exp = load_experiment(path)
    with Store.open(tmp_path / "r.db") as store, pytest.raises(UserError, match=r"bad.jsonl.*line 2"):
        asyncio.run(run_questions(exp, store, tmp_path / "cp.sqlite", RunProgress(None, enabled=False),
                                  preflight=False))


def test_oversight_fields_belong_to_oversight_experiments(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "protocols": ["debate"]}))
    with pytest.raises(UserError, match="field 'protocols'.*kind 'oversight'"):
        load_experiment(path)


def test_killed_oversight_run_resumes_without_repeating_calls(tmp_path):
    """SIGKILL mid-run on the embedded endpoint's simulated engine (valid replies at a fixed time per
    token): the re-run finishes every trial, repeats no finished call, and a third run makes none."""
    import os
    import signal
    import sqlite3
    import time

    from debatelab.agents.embedded import EmbeddedEndpoint
    from tests.conftest import read_log, run_cli, spawn_cli

    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps(i) + "\n" for i in ITEMS))
    path = tmp_path / "ov.yaml"
    path.write_text(yaml.safe_dump({
        "name": "ov-kill", "kind": "oversight", "questions": {"set": str(items), "seed": 0},
        "protocols": ["naive", "consultancy", "debate"], "debaters": "smollm2:135m@embedded",
        "judges": ["smollm2:135m@embedded"], "rounds": 2, "words": 15, "concurrency": {"embedded": 2}}))
    log, db, cp = tmp_path / "requests.jsonl", tmp_path / "r.db", tmp_path / "cp.sqlite"
    cmd = ["run", str(path), "--db", str(db), "--checkpoints", str(cp), "--quiet"]
    with EmbeddedEndpoint(parallel=2, request_log=log, simulate="0.01:15") as url:
        env = {"DEBATELAB_EMBEDDED_HOST": url}
        proc = spawn_cli(*cmd, env=env, output=tmp_path / "killed")
        deadline = time.monotonic() + 180
        while len(read_log(log)) < 12 and time.monotonic() < deadline and proc.exitcode is None:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        assert proc.exitcode == -signal.SIGKILL, "the run ended before it was killed"
        time.sleep(2)  # calls in flight at the kill finish on the server and are logged
        killed_at = len(read_log(log))
        done = run_cli(*cmd, env=env, timeout=400)
        assert done.returncode == 0, done.stderr
        total = len(read_log(log))
        again = run_cli(*cmd, env=env, timeout=120)
        assert again.returncode == 0 and len(read_log(log)) == total  # a re-run makes no call
    con = sqlite3.connect(db)
    # 4 questions: naive 4, consultancy 8 (both sides), debate 4.
    assert con.execute("select count(*) from oversight_trials").fetchone()[0] == 16
    assert con.execute("select count(*), count(distinct trial_id) from oversight_verdicts").fetchone() == (16, 16)
    needed = con.execute("select sum(calls) from oversight_trials").fetchone()[0]
    # Per slot (2), the call in flight at the kill is redone (with an earlier failed attempt of the
    # same structured call, at most).
    assert killed_at < total and 0 <= total - needed <= 4, f"{total} calls for {needed} (killed after {killed_at})"


def test_viewer_shows_tables_marks_quotes_and_lets_a_person_judge_blind(tmp_path):
    from starlette.testclient import TestClient

    from debatelab.view import create_app

    calls: list[str] = []
    run(experiment(tmp_path, protocols=["naive", "debate"], judges=["judge-believer"], rounds=1),
        tmp_path / "r.db", calls)
    client = TestClient(create_app(tmp_path / "r.db"), base_url="http://127.0.0.1:8765")
    page = client.get("/experiments/ov")
    assert page.status_code == 200 and "Judge accuracy by protocol" in page.text
    assert "Paired comparisons" in page.text and "Quotes by side" in page.text
    with Store.open(tmp_path / "r.db") as store:
        trial = next(t for t in store.oversight_trials("ov") if t["protocol"] == "debate")
    shown = client.get(f"/experiments/ov/oversight/trials/{trial['trial_id']}")
    assert "<span class='vq'" in shown.text and "<span class='uq'" in shown.text
    # A person judges every trial, blind: no protocol name, no model name, no passage but in expert.
    judged = 0
    while True:
        form_page = client.get("/judge/ov?rater=ann")
        assert form_page.status_code == 200
        if "All 8 judged" in form_page.text:
            break
        assert "judge-believer" not in form_page.text and "honest" not in form_page.text
        body = form_page.text.lower().replace("debatelab", "")
        assert not re.search(r"\b(naive|expert|consultancy|debate|protocol)\b", body), "the protocol shows"
        assert "painted last spring" not in form_page.text  # q1's passage
        trial_id = re.search(r'name="trial" value="([^"]+)"', form_page.text).group(1)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form_page.text).group(1)
        base = {"csrf": csrf, "rater": "ann", "trial": trial_id}
        assert client.post("/judge/ov", data={**base, "answer": "C", "probability": "70"}).status_code == 400
        assert client.post("/judge/ov", data={**base, "answer": "A", "probability": "170"}).status_code == 400
        assert client.post("/judge/ov", data={**base, "csrf": "forged", "answer": "A",
                                              "probability": "70"}).status_code == 403
        saved = client.post("/judge/ov", data={**base, "answer": "A", "probability": "70"}, follow_redirects=False)
        assert saved.status_code == 303
        judged += 1
        assert judged <= 8
    assert judged == 8
    with Store.open(tmp_path / "r.db") as store:
        rows = {(r["protocol"], r["judge"]): r for r in oversight_results(store, "ov")["oversight"]}
    assert (rows[("debate", "human:ann")]["n"], rows[("debate", "human:ann")]["correct"]) == (4, 2)
    assert "human:ann" in client.get("/experiments/ov").text


def test_best_of_n_resumes_with_the_candidates_it_had(tmp_path):
    """A run that dies while drawing a turn's third candidate keeps the two it drew (each candidate
    is a checkpointed LangGraph task): the re-run draws one candidate, not three."""
    calls: list[str] = []
    crashed = [False]
    base = factory(calls)

    def crashing(spec: ModelSpec) -> ScriptedChatModel:
        model = base(spec)
        if spec.model != "sampler":
            return model
        inner = model.script

        def script(prompt: str, kwargs: dict) -> object:
            if calls.count("sampler") == 2 and not crashed[0]:  # the first turn's third candidate
                crashed[0] = True
                from ollama import ResponseError  # a model error the run records as the trial's failure

                raise ResponseError("the server went away here", 404)
            return inner(prompt, kwargs)

        model.script = script
        return model

    path = experiment(tmp_path, protocols=["consultancy"], debaters=[{"model": "sampler", "best_of": 3}],
                      judges=["judge-believer"], rounds=1, concurrency={"embedded": 1},
                      preference_model="judge-believer")
    exp = load_experiment(path)
    with Store.open(tmp_path / "r.db") as store:
        first = asyncio.run(run_questions(exp, store, tmp_path / "cp.sqlite", RunProgress(None, enabled=False),
                                          model_factory=crashing, preflight=False))
        assert first.failed and crashed[0]
        drawn_before = calls.count("sampler")
        again = asyncio.run(run_questions(exp, store, tmp_path / "cp.sqlite", RunProgress(None, enabled=False),
                                          model_factory=crashing, preflight=False))
        assert not again.failed
        turns = store.oversight_turns("ov")
    # 8 turns x 3 candidates in all; the crashed turn's first two candidates were not drawn again.
    assert calls.count("sampler") - drawn_before == 1 and len(turns) == 8
    assert calls.count("sampler") == 8 * 3  # every candidate drawn once (the failed call never returned)
