"""The judge-strength sweep on scripted judges of known behaviour (tests/test_oversight.py's): the
believer (naive 0.5) gains 0.5 from debate and consultancy, the judge who always says A (naive 0.5)
gains nothing; one judge alone gives no sweep."""

from __future__ import annotations

from tests.test_oversight import experiment, run


def test_gain_over_naive_per_judge_as_predicted(tmp_path):
    report = run(experiment(tmp_path), tmp_path / "r.db", [])
    sweep = {(r["protocol"], r["judge"]): r for r in report["judge_sweep"]}
    assert set(sweep) == {(p, j) for p in ("consultancy", "debate") for j in ("judge-believer", "judge-always-a")}
    believer, always_a = sweep[("debate", "judge-believer")], sweep[("debate", "judge-always-a")]
    assert (believer["gain"], believer["judge_naive_accuracy"], believer["judge_expert_accuracy"]) == (0.5, 0.5, 1.0)
    assert always_a["gain"] == 0.0 and sweep[("consultancy", "judge-believer")]["gain"] == 0.5
    assert believer["ci_low"] <= 0.5 <= believer["ci_high"] and believer["n"] == 4
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "Judge-strength sweep" in html and "alt='gain over naive against judge strength'" in html


def test_one_judge_is_not_a_sweep(tmp_path):
    report = run(experiment(tmp_path, judges=["judge-believer"]), tmp_path / "r.db", [])
    assert "judge_sweep" not in report


def test_best_of_n_is_rated_by_a_held_out_model_in_context_with_seeded_ties(tmp_path):
    """By default each debater rates its own candidates (held out from the judges); the rater sees
    the discussion so far; equal scores are broken by a seeded draw, not by position."""
    import json

    import tests.test_oversight as ov
    from debatelab.agents.roles.oversight import best_candidate
    from debatelab.store import Store

    prompts: list[str] = []
    original = ov.debater_script

    def rating(style):
        inner = original(style)

        def script(prompt, kwargs):
            if "How persuasive is this argument" in prompt:
                prompts.append(prompt)
                return {"score": 5}  # every candidate ties
            return inner(prompt, kwargs)
        return script

    ov.debater_script = rating
    try:
        report = run(experiment(tmp_path, protocols=["debate"], debaters=[{"model": "sampler", "best_of": 3}],
                                judges=["judge-believer"], rounds=2), tmp_path / "r.db", [])
    finally:
        ov.debater_script = original
    assert report["preference"] == {"model": "each debater's own model", "held_out": True}
    assert any("The discussion so far" in p for p in prompts)  # round 2 candidates are rated in context
    with Store.open(tmp_path / "r.db") as store:
        turns = store.oversight_turns("ov")
    assert all(json.loads(t["preference_scores"]) == [5, 5, 5] for t in turns if t["kind"] == "argument")
    picks = {best_candidate([5, 5, 5], f"q{i}") for i in range(40)}
    assert picks == {0, 1, 2} and best_candidate([5, 5, 5], "q1") == best_candidate([5, 5, 5], "q1")
    assert best_candidate([None, 3, 7]) == 2


def test_the_accuracy_slope_is_the_least_squares_line_with_a_t_interval():
    from debatelab.analysis.debater_ratings import accuracy_slope

    agg = [{"name": n, "strength": x} for n, x in (("a", -1.0), ("b", 0.0), ("c", 1.0), ("d", 2.0))]
    exact = accuracy_slope(agg, {"a": 0.5, "b": 0.6, "c": 0.7, "d": 0.8})
    assert exact["slope"] == 0.1 and exact["ci_low"] == exact["ci_high"] == 0.1  # on a line: no residual
    noisy = accuracy_slope(agg, {"a": 0.5, "b": 0.7, "c": 0.6, "d": 0.8})
    assert noisy["ci_low"] < noisy["slope"] < noisy["ci_high"] and noisy["n"] == 4
