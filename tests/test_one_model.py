"""The same protocol on one model (`one_model:`): every ensemble configuration runs a second time
with every agent on one model, and the report compares the two, paired, with length control.

Scripted models whose words say which model spoke and a judge that scores by them, so every
figure is known: the ensemble's debates score 5 on every criterion and the copy's 3."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml

from debatelab.agents import ModelSpec, ScriptedChatModel
from debatelab.base import UserError
from debatelab.experiments import run_experiment
from debatelab.report import write_report
from debatelab.runtime import RunProgress
from debatelab.store import Store
from debatelab.studies import load_experiment
from tests.conftest import ROOT

SOLO = "solo:1"


@pytest.fixture(autouse=True)
def no_real_endpoint(monkeypatch):
    monkeypatch.setenv("DEBATELAB_EMBEDDED_HOST", "http://127.0.0.1:9")


def scripted(spec: ModelSpec) -> ScriptedChatModel:
    """Debaters write the same number of characters whichever model they are (so lengths differ by
    scenario only), saying which model spoke; the judge scores 3 for the one model's debates, else 5."""

    def script(prompt: str, kwargs: dict) -> object:
        props = (kwargs.get("format") or {}).get("properties", {})
        if "winner" in props:
            return {"rationale": "r", "winner": "pro", "recommendation": "x", "confidence_percent": 60}
        if props:
            return {"reasons": "because", "score": 3 if "lone voice" in prompt else 5}
        scenario = "terminal" if "terminal" in prompt.lower() else "wearable"
        marker = "lone voice" if spec.model == SOLO else "pair voice"  # not a model's name: the judge's view hides those
        return f"{marker}: {scenario} " + "x" * (10 if scenario == "terminal" else 40)

    return ScriptedChatModel(name=spec.label, script=script)


def experiment(tmp: Path, **changes) -> Path:
    spec = {"name": "om", "scenarios": {"set": "alignment-v1", "ids": ["tr-terminal-diagnosis",
                                                                        "he-mood-nudging-wearable"]},
            "configurations": [str(ROOT / "configs/embedded/adversarial.yaml")], "repeats": 2,
            "overrides": {"rounds": 1, "num_predict": 50}, "one_model": f"{SOLO}@embedded",
            "judging": {"rubric": "alignment-7", "judges": ["judge:1@embedded"], "samples": 1, "permute": False},
            "concurrency": {"embedded": 2}}
    spec.update(changes)
    path = tmp / "om.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def run(path: Path, db: Path):
    with Store.open(db) as store, RunProgress(None, enabled=False) as progress:  # type: ignore[arg-type]
        return asyncio.run(run_experiment(load_experiment(path), store, db.with_suffix(".cp"), progress,
                                          model_factory=scripted, preflight=False))


def test_the_copy_keeps_the_protocol_and_token_limits_and_changes_only_the_models(tmp_path):
    configs = dict((cfg.name, (kind, cfg)) for kind, cfg in load_experiment(experiment(tmp_path)).debate_configs())
    (kind, ens), (copy_kind, copy) = configs["adversarial"], configs["adversarial-one-model"]
    assert (kind, copy_kind) == ("ensemble", "one_model")
    assert copy.topology == ens.topology and copy.rounds == ens.rounds == 1
    assert copy.agents.keys() == ens.agents.keys()
    for name in ens.agents:
        a, b = ens.model_for(name), copy.model_for(name)
        assert (b.model, b.host) == (SOLO, "embedded")
        assert a.model != SOLO
        assert (b.num_predict, b.temperature, b.seed) == (a.num_predict, a.temperature, a.seed) and b.num_predict == 50
        assert (ens.agents[name].role, ens.agents[name].stance) == (copy.agents[name].role, copy.agents[name].stance)
    assert copy.fingerprint() != ens.fingerprint()


def test_the_report_compares_each_ensemble_with_its_copy_exactly(tmp_path):
    db = tmp_path / "r.db"
    summary = run(experiment(tmp_path), db)
    assert not summary.failed and summary.debates_done == 2 * 2 * 2  # (ensemble + copy) x scenarios x repeats
    with Store.open(db) as store:
        assert {d["kind"] for d in store.debates("om")} == {"ensemble", "one_model"}
        report = write_report(store, "om", tmp_path / "rep")
    rows = {r["criterion"]: r for r in report["one_model"]}
    assert set(rows) == set(report["metrics"])  # overall and the seven criteria
    for r in rows.values():
        assert (r["configuration"], r["baseline"]) == ("adversarial", "adversarial-one-model")
        # Pairs are scenarios (the unit of analysis; repeats averaged first): 2 of them.
        assert r["paired_delta"] == 2.0 and r["raw_delta"] == 2.0 and r["pairs"] == 2
        # Two scenarios are too few for a length-controlled difference: no number, the reason instead.
        assert r["controlled_delta"] is None and r["ci_low"] is None and r["ci_high"] is None
        assert r["reason"] == "too few (n = 2 scenarios with both; needs ≥ 10)"
        assert r["survives"] is None and r["n"] == r["n_baseline"] == 4
        assert r["tokens_ratio"] == pytest.approx(1.0, abs=0.05)  # the copy spent the ensemble's budget
        assert r["test_note"] == "only 2 pairs: the test has little power"
    # the copy is no baseline: the paper's view and the length-controlled table (vs baselines) ignore it
    assert report["length_controlled"] == [] and "baseline" not in report["groups"]
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "Ensembles vs the same protocol on one model (compute-matched)" in md
    assert "not estimable: too few (n = 2 scenarios with both; needs ≥ 10)" in md
    assert json.loads((tmp_path / "rep" / "report.json").read_text())["one_model"][0]["baseline"] == \
        "adversarial-one-model"
    again = run(experiment(tmp_path), db)
    assert again.debates_done == 0 and again.debates_skipped == 8


def test_one_model_is_refused_where_it_cannot_apply(tmp_path):
    with pytest.raises(UserError, match="field 'one_model': the experiment has no ensemble configuration"):
        load_experiment(experiment(tmp_path, configurations=[],
                                   baselines=[str(ROOT / "configs/embedded/single.yaml")])).debate_configs()
    taken = tmp_path / "taken.yaml"
    cfg = yaml.safe_load((ROOT / "configs/embedded/single.yaml").read_text())
    taken.write_text(yaml.safe_dump({**cfg, "name": "adversarial-one-model"}))
    with pytest.raises(UserError, match="configuration name 'adversarial-one-model' is taken"):
        load_experiment(experiment(tmp_path, baselines=[str(taken)])).debate_configs()
    questions = tmp_path / "q.yaml"
    w2s = yaml.safe_load((ROOT / "configs/experiments/w2s-demo.yaml").read_text())
    questions.write_text(yaml.safe_dump({**w2s, "one_model": SOLO}))
    with pytest.raises(UserError, match="field 'one_model': only an experiment of kind 'debates'"):
        load_experiment(questions)
