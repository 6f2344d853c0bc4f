"""The statistics proven by simulation, the way a statistician would: intervals hold their coverage
under strong question and passage effects, a null family keeps its family-wise error, true values
follow the declared truth, a simulated study's report equals a real run's on the same rows, a
changed spec analyses only its own trials, and small or degenerate data print no finding."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from debatelab.analysis import oversight_results
from debatelab.base import UserError
from debatelab.studies import load_experiment, study_named
from debatelab.studies.simulate_oversight import OversightTruth, synthetic_questions
from tests.test_oversight import experiment as oversight_experiment
from tests.test_oversight import run as run_oversight_scripted


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def _oversight_design(tmp_path: Path, **fields: object) -> Path:
    return _write(tmp_path / "ov.yaml", {
        "name": "sim", "kind": "oversight", "questions": {"set": "boolq", "n": 30, "seed": 0},
        "protocols": ["naive", "consultancy", "debate"], "judges": ["judge-a@embedded"],
        "debaters": [{"model": "nowhere-1@embedded", "name": "d1"}], "rounds": 1, **fields})


STRONG = {"questions": 30, "passages": 15, "accuracy": {"naive": 0.55, "consultancy": 0.65, "debate": 0.8},
          "question_sd": 1.5, "passage_sd": 1.0, "judges": [0.0], "debaters": [0.0], "side_gap": 0.6,
          "position_bias": 0.4, "unanswered": 0.05}


def test_every_oversight_interval_holds_its_coverage_over_500_studies(tmp_path: Path) -> None:
    """Strong question and passage effects, 15 passages: each interval covers within 0.95 ± 3.5
    standard errors of a coverage estimate, and the mean over intervals lies in 0.93-0.97. No model
    exists for the names in the experiment: simulate calls none."""
    exp = load_experiment(_oversight_design(tmp_path))
    out = study_named("oversight").simulate(exp, _write(tmp_path / "t.yaml", STRONG), studies=500, seed=11)
    se = math.sqrt(0.95 * 0.05 / 500)
    covered = [e for e in out["estimates"] if e["coverage"] is not None]
    assert len(covered) >= 10
    bad = [e for e in covered if not 0.95 - 3.5 * se <= e["coverage"] <= 0.95 + 3.5 * se]
    assert not bad, bad
    assert 0.93 <= np.mean([e["coverage"] for e in covered]) <= 0.97
    figures = {e["figure"] for e in covered}
    assert {"accuracy", "difference", "truth_advantage"} <= figures
    powered = [t for t in out["tests"] if t["first"] == "debate" and t["second"] == "naive"]
    assert powered and powered[0]["power"] > 0.2  # 30 questions on 15 passages: a wide design, little power


def test_a_null_family_keeps_its_family_wise_error(tmp_path: Path) -> None:
    exp = load_experiment(_oversight_design(tmp_path, judges=["judge-a@embedded", "judge-b@embedded"]))
    null = {**STRONG, "accuracy": {"naive": 0.6, "consultancy": 0.6, "debate": 0.6}, "side_gap": 0.0,
            "judges": [0.0, 0.0]}
    out = study_named("oversight").simulate(exp, _write(tmp_path / "null.yaml", null), studies=500, seed=3)
    (family,) = out["family_wise_error"]
    assert family["family"] == "comparisons" and family["tests_per_study"] == 6
    assert family["rate"] <= 0.06


def test_true_values_follow_the_declared_truth(tmp_path: Path) -> None:
    """The declared accuracy is a judge with effect 0 among answered verdicts, averaged over
    positions and sides; the tool counts unanswered as wrong, so naive's true value is 0.95 x 0.55.
    A weaker judge's is lower; consultancy's sides straddle its average; a stronger debater arguing
    the truth raises the judge's accuracy."""
    exp = load_experiment(_oversight_design(tmp_path, judges=["judge-a@embedded", "judge-b@embedded"],
                                            debaters=[{"model": "x@embedded", "name": "d1"},
                                                      {"model": "y@embedded", "name": "d2"}]))
    truth = {**STRONG, "judges": [0.0, -0.5], "debaters": [0.0, 1.0]}
    out = study_named("oversight").simulate(exp, _write(tmp_path / "t.yaml", truth), studies=2, seed=0)
    true = {(e["figure"], e.get("protocol"), e.get("judge"), e.get("side"), e.get("matchup"), e.get("position")):
            e["true"] for e in out["estimates"]}
    a, b = "judge-a@embedded", "judge-b@embedded"
    assert true[("accuracy", "naive", a, None, None, None)] == pytest.approx(0.95 * 0.55, abs=1e-4)
    assert true[("accuracy", "debate", a, None, None, None)] == pytest.approx(0.95 * 0.8, abs=1e-4)
    assert true[("accuracy", "naive", b, None, None, None)] < 0.95 * 0.55
    c_right = true[("accuracy", "consultancy", a, "correct", None, None)]
    c_wrong = true[("accuracy", "consultancy", a, "incorrect", None, None)]
    assert c_wrong < 0.95 * 0.65 < c_right
    assert true[("accuracy", "debate", a, None, "1v0", None)] > true[("accuracy", "debate", a, None, "1v1", None)] \
        > true[("accuracy", "debate", a, None, "0v1", None)]
    assert true[("accuracy", "naive", a, None, None, "correct is A")] > true[("accuracy", "naive", a, None, None,
                                                                              "correct is B")]
    assert out["design"]["debaters"] == ["d1", "d2"] and out["design"]["passages"] == 15


def test_a_simulated_study_reports_as_a_real_run_of_the_same_rows(tmp_path: Path) -> None:
    """The simulator stores its verdicts through the runner's own row code: a scripted run's store,
    re-analysed, equals what the simulator's analysis reads from rows built the same way."""
    from debatelab.experiments import OversightRun
    from debatelab.runtime import RunProgress
    from debatelab.store import Store

    calls: list[str] = []
    path = oversight_experiment(tmp_path, protocols=["naive", "debate"], judges=["judge-believer"], rounds=1)
    real = run_oversight_scripted(path, tmp_path / "r.db", calls)
    exp = load_experiment(path)
    with Store.open(tmp_path / "r.db") as store:
        trials = {t["trial_id"]: t for t in store.oversight_trials("ov")}
        verdicts = {v["trial_id"]: v for v in store.oversight_verdicts("ov")}
    with Store.open(tmp_path / "copy.db") as copy:
        run = OversightRun(exp, copy, RunProgress(None, enabled=False), model_factory=None)  # type: ignore[arg-type]
        run.record_experiment()
        rows = []
        for trial in run.trials:
            v = verdicts[trial.trial_id]
            values = {"question": trial.question.model_dump(), "sides": list(trial.sides), "turns": [],
                      "verdicts": [{"judge": "judge_1", "letter": v["letter"], "probability": v["probability"],
                                    "reasons": v["reasons"], "unanswered_reason": v["unanswered_reason"],
                                    "input_tokens": v["input_tokens"], "output_tokens": v["output_tokens"],
                                    "duration_s": v["duration_s"], "calls": v["calls"]}]}
            rows.append(run.rows(trial, values, run.agents_of(trial)))
        copy.write_oversight_trials(rows)
        simulated = oversight_results(copy, "ov")
    assert set(trials) == {r[0]["trial_id"] for r in rows}
    for key in ("oversight", "oversight_matchups", "position_bias", "comparisons", "calibration"):
        assert simulated[key] == real[key], key


def test_simulate_needs_no_model_and_refuses_bad_truths_in_one_line(tmp_path: Path, monkeypatch) -> None:
    from tests.conftest import run_cli

    monkeypatch.setenv("DEBATELAB_EMBEDDED_HOST", "http://127.0.0.1:9")  # nothing listens: no call may go there
    design = _oversight_design(tmp_path)
    truth = _write(tmp_path / "t.yaml", {**STRONG, "questions": 12, "passages": 4})
    done = run_cli("simulate", str(design), "--truth", str(truth), "--studies", "5", "--out", str(tmp_path / "s.json"))
    assert done.returncode == 0, done.stderr
    sim = json.loads((tmp_path / "s.json").read_text())
    assert sim["studies"] == 5 and sim["estimates"] and "coverage" in sim["estimates"][0]
    cases = [({**STRONG, "accuracy": {"naive": 0.5}}, "no accuracy for protocol 'consultancy'"),
             ({**STRONG, "judges": [0.0, 1.0]}, "field 'judges': 2 values for the experiment's 1 judges"),
             ({**STRONG, "accuracy": {**STRONG["accuracy"], "naive": 1.2}}, "strictly between 0 and 1"),
             ({**STRONG, "surprise": 1}, "field 'surprise'")]
    for data, message in cases:
        bad = run_cli("simulate", str(design), "--truth", str(_write(tmp_path / "bad.yaml", data)), "--studies", "2",
                      "--out", str(tmp_path / "x.json"))
        assert bad.returncode != 0 and message in bad.stderr and "Traceback" not in bad.stderr, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
    missing = run_cli("simulate", str(design), "--truth", str(tmp_path / "none.yaml"), "--out", str(tmp_path / "x.json"))
    assert missing.returncode != 0 and "truth file" in missing.stderr and "Traceback" not in missing.stderr
    dyn = _write(tmp_path / "q.yaml", {"name": "q", "kind": "question_debate", "questions": {"set": "boolq"},
                                          "debate": {"agents": "embedded/weighted"}})
    other = run_cli("simulate", str(dyn), "--truth", str(truth), "--out", str(tmp_path / "x.json"))
    assert other.returncode != 0 and "has no simulator" in other.stderr


def test_synthetic_questions_share_passages_evenly() -> None:
    qs = synthetic_questions(OversightTruth(questions=60, passages=20, accuracy={"naive": 0.5}))
    by_passage: dict[str, int] = {}
    for q in qs:
        by_passage[q.passage] = by_passage.get(q.passage, 0) + 1
    assert len(qs) == 60 and sorted(set(by_passage.values())) == [3]


def test_the_rubric_simulator_covers_and_knows_its_true_values(tmp_path: Path) -> None:
    design = _write(tmp_path / "rub.yaml", {
        "name": "rsim", "scenarios": {"set": "alignment-v1"}, "configurations": ["embedded/adversarial"],
        "baselines": ["embedded/single"], "judging": {"rubric": "alignment-7", "judges": ["nobody@embedded"]}})
    truth = _write(tmp_path / "rt.yaml", {"scenarios": 15, "means": {"single": 3.0, "adversarial": 3.5},
                                          "scenario_sd": 0.8, "noise_sd": 0.8, "judges": [0.2],
                                          "length": {"single": 1.0, "adversarial": 1.4}, "length_sd": 0.3,
                                          "length_effect": 0.5})
    out = study_named("debates").simulate(load_experiment(design), truth, studies=200, seed=2)
    se = math.sqrt(0.95 * 0.05 / 200)
    covered = [e for e in out["estimates"] if e["coverage"] is not None]
    assert not [e for e in covered if not 0.95 - 3.5 * se <= e["coverage"] <= 0.95 + 3.5 * se]
    controlled = [e for e in covered if e["figure"] == "controlled_delta" and e["criterion"] == "overall"]
    assert controlled[0]["true"] == pytest.approx(0.5 - 0.5 * math.log2(1.4), abs=1e-4)
    means = {e.get("configuration"): e["true"] for e in covered if e["figure"] == "mean" and "configuration" in e}
    assert means == {"single": 3.2, "adversarial": 3.7}  # the judge's +0.2 included
    with pytest.raises(UserError, match="no mean for configuration 'adversarial'"):
        study_named("debates").simulate(load_experiment(design), _write(tmp_path / "b.yaml", {
            "scenarios": 5, "means": {"single": 3.0}}), studies=1, seed=0)


def test_a_changed_rubric_spec_reports_only_its_own_debates(tmp_path: Path) -> None:
    """Changing `overrides.rounds` changes every debate's id; the old debates stay stored (a revert
    resumes them) but the report counts only the debates the current spec plans."""
    from debatelab.analysis import analyse
    from debatelab.store import Store
    from tests.test_experiments import experiment_file
    from tests.test_experiments import run as run_rubric

    one = {"scenarios": {"set": "alignment-v1", "ids": ["tr-terminal-diagnosis", "he-mood-nudging-wearable"]},
           "repeats": 1, "judging": {"rubric": "alignment-7", "judges": ["smollm2:135m@embedded"], "samples": 1}}
    run_rubric(experiment_file(tmp_path, **one), tmp_path / "r.db", tmp_path / "cp.sqlite")
    run_rubric(experiment_file(tmp_path, **one, overrides={"rounds": 2}), tmp_path / "r.db", tmp_path / "cp.sqlite")
    with Store.open(tmp_path / "r.db") as store:
        assert len(store.debates("t")) == 12  # both specs' debates stored
        a = analyse(store, "t")
    assert a["debates"]["total"] == 6 and all(e["overall"]["n"] == 2 for e in a["per_config"])


def test_flat_and_constant_judges_are_flagged() -> None:
    import pandas as pd

    from debatelab.analysis import diagnostic_lines, position_diagnostics, rubric_diagnostics

    scores = pd.DataFrame([{"debate_id": f"d{d}", "judge": "flat", "sample": 0, "permuted": 0, "criterion": c,
                            "score": 3} for d in range(4) for c in "abc"]
                          + [{"debate_id": f"d{d}", "judge": "fine", "sample": 0, "permuted": 0, "criterion": c,
                              "score": d + i} for d in range(4) for i, c in enumerate("abc")])
    judgments = pd.DataFrame([{"debate_id": f"d{d}", "judge": j, "overall": 3.0 if j == "flat" else d + 1.0}
                              for d in range(4) for j in ("flat", "fine")])
    diag = {d["judge"]: d for d in rubric_diagnostics(scores, judgments)}
    assert diag["fine"]["flags"] == []
    assert [f.split(":")[0] for f in diag["flat"]["flags"]] == ["flat", "constant"]
    assert diag["flat"]["flat_judgments"] == 4 and diag["flat"]["distinct_overall_scores"] == 1
    pairs = [{"pair_key": "p|j", "judge": "j", "ord": o, "winner": "a" if o == "ab" else "b"} for o in ("ab", "ba") * 6]
    (position,) = position_diagnostics(pairs)
    assert position["picked_first"] == 1.0 and position["flags"][0].startswith("position: picked the response shown "
                                                                               "first in 100% of 12")
    assert len(diagnostic_lines(list(diag.values()))) == 2


def test_a_failed_trial_is_reported_missing_from_its_balanced_pair(tmp_path: Path) -> None:
    from debatelab.store import Store

    calls: list[str] = []
    path = oversight_experiment(tmp_path, protocols=["consultancy"], judges=["judge-believer"], rounds=1)
    run_oversight_scripted(path, tmp_path / "r.db", calls)
    with Store.open(tmp_path / "r.db") as store:
        assert [r["missing"] for r in oversight_results(store, "ov")["oversight"] if not r.get("side")] == [0]
        victim = store.oversight_verdicts("ov")[0]["verdict_id"]
        store._db.execute("delete from oversight_verdicts where verdict_id = ?", [victim])
        store._db.conn.commit()
        (head,) = [r for r in oversight_results(store, "ov")["oversight"] if not r.get("side")]
    assert head["missing"] == 1 and head["verdicts"] == 7 and head["n"] == 4
