"""`beliefs: every_round`: each LLM judge states its belief after every round but the last (as the
NYU judges did), reading only the rounds so far; the verdict is the last point. Scripted agents of
known behaviour make every stored belief, call count and trajectory figure predictable."""

from __future__ import annotations

import sqlite3

from tests.test_oversight import experiment, run


def test_beliefs_after_every_round_read_only_the_rounds_so_far(tmp_path):
    calls: list[str] = []
    path = experiment(tmp_path, protocols=["debate"], judges=["judge-believer"], beliefs="every_round")
    report = run(path, tmp_path / "r.db", calls)
    # 4 debate trials: 2 rounds x 2 debaters, one belief (after round 1) and one verdict each.
    assert calls.count("honest") == 16 and calls.count("judge-believer") == 8
    con = sqlite3.connect(tmp_path / "r.db")
    rows = con.execute("select after_round, source, letter, p_correct from judge_beliefs order by after_round").fetchall()
    assert len(rows) == 8 and {r[:2] for r in rows} == {(1, "judge"), (2, "verdict")}
    assert all(r[3] == 0.9 for r in rows)  # the honest side's quote is verified from round 1 on
    cells = {(r["judge"], r["after_round"]): r for r in report["beliefs"]["rounds"]}
    assert cells[("judge-believer", 1)]["mean_p_correct"] == 0.9 and cells[("judge-believer", 2)]["n"] == 4
    assert "alt='the judge's belief round by round'" in (tmp_path / "rep" / "report.html").read_text()
    (drift,) = report["beliefs"]["drift"]
    assert drift["n"] == 4 and drift["drift"] == 0.0
    again: list[str] = []
    run(path, tmp_path / "r.db", again)
    assert again == []  # finished: no call


def test_asking_for_beliefs_after_a_run_adds_only_the_beliefs(tmp_path):
    calls: list[str] = []
    run(experiment(tmp_path, protocols=["debate"], judges=["judge-believer"]), tmp_path / "r.db", calls)
    assert calls.count("judge-believer") == 4 and sqlite3.connect(tmp_path / "r.db").execute(
        "select count(*) from judge_beliefs").fetchone() == (0,)
    more: list[str] = []
    report = run(experiment(tmp_path, protocols=["debate"], judges=["judge-believer"], beliefs="every_round"),
                 tmp_path / "r.db", more)
    assert more == ["judge-believer"] * 4  # one belief per trial; no debater speaks again
    assert {(r["after_round"], r["n"]) for r in report["beliefs"]["rounds"]} == {(1, 4), (2, 4)}


def test_a_belief_prompt_holds_the_rounds_so_far_only(tmp_path, monkeypatch):
    import tests.test_oversight as ov

    prompts: list[str] = []
    original = ov.judge_script

    def recording(style):
        inner = original(style)

        def script(prompt, kwargs):
            prompts.append(prompt)
            return inner(prompt, kwargs)
        return script

    monkeypatch.setattr(ov, "judge_script", recording)
    run(experiment(tmp_path, protocols=["debate"], judges=["judge-believer"], beliefs="every_round", rounds=3),
        tmp_path / "r.db", [])
    seen = sorted({p.count("[Round ") for p in prompts})
    assert seen == [2, 4, 6]  # after round 1, after round 2, the verdict after round 3


def test_a_store_from_before_judge_beliefs_reads_read_only_without_a_change(tmp_path):
    """Schema 9 only adds `judge_beliefs`: a 0.3 store (schema 8) opened read-only reads it as empty
    through a TEMP table, and the file stays byte-identical."""
    from pathlib import Path

    from debatelab.store import Store

    db = tmp_path / "old.db"
    db.write_bytes((Path(__file__).parent / "data" / "golden" / "demo.db").read_bytes())
    before = db.read_bytes()
    with Store.open(db, create=False, read_only=True) as store:
        assert store.schema_version() == 8 and store.judge_beliefs("demo") == []
    assert db.read_bytes() == before
