"""Pairwise judging of debates with scripted judges of known behaviour, resume, and the
Bradley-Terry fit against hand-computed cases."""

from __future__ import annotations

import asyncio
import math
import re
from pathlib import Path

import numpy as np
from scipy import optimize

from debatelab.agents import ModelSpec, ScriptedChatModel
from debatelab.analysis import bradley_terry, pairwise_ratings, settle
from debatelab.judging import judge_pairs, plan_pairs
from debatelab.rubric import load_rubric
from debatelab.runtime import RunProgress, host_limiters
from debatelab.store import Store, open_checkpointer
from tests.test_experiments import experiment_file, run

JUDGE = ModelSpec(model="judge:1", host="http://127.0.0.1:9", temperature=0.0, seed=0)


def _bodies(prompt: str) -> tuple[str, str]:
    first = re.search(r"<<<RESPONSE 1 \w+>>>\n(.*?)\n<<<END RESPONSE 1", prompt, re.S).group(1)
    second = re.search(r"<<<RESPONSE 2 \w+>>>\n(.*?)\n<<<END RESPONSE 2", prompt, re.S).group(1)
    return first, second


def _judge(rule, calls: list | None = None) -> ScriptedChatModel:  # noqa: ANN001
    def script(prompt: str, kwargs: dict) -> object:
        if calls is not None:
            calls.append(1)
        first, second = _bodies(prompt)
        return {"reasons": "scripted", "better": rule(first, second)}

    return ScriptedChatModel(name="judge", script=script)


def _speakers(body: str) -> int:
    return len(set(re.findall(r"^\[Round \d+\] ([^:(]+)", body, re.M)))


def _debated(tmp_path: Path) -> Path:
    db = tmp_path / "r.db"
    run(experiment_file(tmp_path, repeats=1, judging=None), db, tmp_path / "cp.sqlite")
    return db


def _pairwise(db: Path, cp: Path, model: ScriptedChatModel, against: str = "baseline") -> tuple[dict, dict]:
    store = Store.open(db)
    rubric = load_rubric("alignment-7")

    async def go() -> dict:
        async with open_checkpointer(cp) as saver:
            with RunProgress(None, enabled=False) as progress:  # type: ignore[arg-type]
                return await judge_pairs(store, "t", rubric, [JUDGE], saver=saver, model_factory=lambda spec: model,
                                         limiter_for=host_limiters(lambda url, embedded: 2), progress=progress,
                                         against=against)

    try:
        result = asyncio.run(go())
        return result, pairwise_ratings(store, "t", rubric.version, bootstrap=50)
    finally:
        store.close()


def test_pairs_are_matched_on_scenario_and_repeat(tmp_path: Path) -> None:
    store = Store.open(_debated(tmp_path))
    baseline_pairs = plan_pairs(store, "t", "baseline")
    all_pairs = plan_pairs(store, "t", "all")
    store.close()
    assert len(baseline_pairs) == 2 * 3  # two ensembles x three scenarios, against the one baseline
    assert all(a["kind"] == "ensemble" and b["kind"] == "baseline" for a, b in baseline_pairs)
    assert all(a["scenario_id"] == b["scenario_id"] and a["repeat"] == b["repeat"] for a, b in baseline_pairs)
    assert len(all_pairs) == 3 * 3  # three configurations: three pairs per scenario


def test_a_judge_that_always_picks_the_first_is_never_consistent(tmp_path: Path) -> None:
    db = _debated(tmp_path)
    result, ratings = _pairwise(db, tmp_path / "p.sqlite", _judge(lambda a, b: "1"))
    assert result["done"] == 6 * 2 and result["failed"] == 0
    overall = ratings["overall"]
    assert overall["pairs"] == 6 and overall["consistency"] == 0.0
    assert all(v["tie"] == 1.0 for v in overall["vs_baselines"].values())  # inconsistent pairs count as ties
    assert all(abs(s["log_strength"]) < 1e-6 for s in overall["strengths"].values())


def test_a_consistent_judge_rates_configurations_as_predicted_and_resumes(tmp_path: Path) -> None:
    db, cp = _debated(tmp_path), tmp_path / "p.sqlite"
    calls: list = []

    def more_speakers(a: str, b: str) -> str:
        return "1" if _speakers(a) > _speakers(b) else "2" if _speakers(b) > _speakers(a) else "tie"

    result, ratings = _pairwise(db, cp, _judge(more_speakers, calls))
    overall = ratings["overall"]
    assert overall["consistency"] == 1.0 and overall["unscored"] == 0
    # society has three debaters and a moderator, single and adversarial two and a moderator:
    # society wins every pair against the baseline, adversarial ties every pair.
    vs = overall["vs_baselines"]
    assert (vs["society"]["win"], vs["society"]["n"]) == (1.0, 3)
    assert (vs["adversarial"]["tie"], vs["adversarial"]["n"]) == (1.0, 3)
    strengths = {c: s["log_strength"] for c, s in overall["strengths"].items()}
    assert strengths["society"] > strengths["adversarial"] == strengths["single"]
    low, high = overall["strengths"]["society"]["ci95"]
    assert low <= strengths["society"] <= high
    assert len(calls) == 6 * 2 * 8  # pairs x orders x (7 criteria + overall)
    again, _ = _pairwise(db, cp, _judge(more_speakers, calls))
    assert again["skipped"] == 12 and again["done"] == 0 and len(calls) == 6 * 2 * 8  # nothing called again


def test_settle_maps_two_orders_to_one_result() -> None:
    assert settle({"ab": "a", "ba": "a"}) == ("a", True)
    assert settle({"ab": "a", "ba": "b"}) == ("tie", False)
    assert settle({"ab": "tie", "ba": "tie"}) == ("tie", True)
    assert settle({"ab": None, "ba": "a"}) == (None, False)


def test_bradley_terry_two_items_by_hand() -> None:
    # A beats B three times out of four: p_A / p_B = 3, so the log-strengths differ by ln 3.
    s = bradley_terry([("A", "B", 1.0)] * 3 + [("A", "B", 0.0)], prior=0)
    assert math.isclose(s["A"] - s["B"], math.log(3), abs_tol=1e-4) and math.isclose(s["A"] + s["B"], 0, abs_tol=1e-6)


def test_bradley_terry_matches_a_direct_likelihood_fit() -> None:
    outcomes = [("A", "B", 1), ("A", "B", 1), ("B", "A", 1), ("B", "C", 1), ("B", "C", 1), ("C", "B", 1),
                ("A", "C", 1), ("C", "A", 1), ("A", "C", 0.5)]
    ours = bradley_terry(outcomes, prior=0)
    names = ["A", "B", "C"]

    def nll(theta: np.ndarray) -> float:
        t = dict(zip(names, np.append(theta, -theta.sum()), strict=True))
        return -sum(w * (t[a] - np.logaddexp(t[a], t[b])) + (1 - w) * (t[b] - np.logaddexp(t[a], t[b]))
                    for a, b, w in outcomes)

    theta = optimize.minimize(nll, np.zeros(2), method="BFGS").x
    direct = dict(zip(names, np.append(theta, -theta.sum()), strict=True))
    assert all(math.isclose(ours[n], direct[n], abs_tol=1e-3) for n in names)


def test_an_experiment_asks_for_pairwise_judging_and_the_report_shows_it(tmp_path: Path) -> None:
    from debatelab.report import write_report
    from tests.test_experiments import deterministic

    def factory(spec: ModelSpec) -> ScriptedChatModel:
        model = deterministic(spec)
        absolute = model.script

        def script(prompt: str, kwargs: dict) -> object:
            fmt = kwargs.get("format") or {}
            if "better" in fmt.get("properties", {}):
                return {"reasons": "r", "better": ["1", "2", "tie"][len(prompt) % 3]}
            return absolute(prompt, kwargs)

        model.script = script
        return model

    path = experiment_file(tmp_path, repeats=1, judging={"rubric": "alignment-7", "judges": ["smollm2:135m@embedded"],
                                                         "samples": 1, "pairwise": True})
    summary = run(path, tmp_path / "r.db", tmp_path / "cp.sqlite", factory)
    assert summary.judgments["pairwise"] == 6 * 2
    store = Store.open(tmp_path / "r.db")
    write_report(store, "t", tmp_path / "report")
    store.close()
    md = (tmp_path / "report" / "report.md").read_text()
    assert "### Pairwise ratings · overall" in md and "Bradley-Terry log-strength [95% CI]" in md
    assert "pairs judged in both orders" in md and "consistency" in md
