"""Every built-in topology, run end to end with scripted models: who speaks when, and what they saw."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from debatelab.agents import ScriptedChatModel
from debatelab.base import UserError
from debatelab.experiments import debate_id_for, run_debate
from debatelab.graphs import DebateConfig, build_graph, compile_debate, load_debate_config
from debatelab.scenarios import load_scenario_set
from debatelab.store import open_checkpointer
from tests.conftest import ROOT

SCENARIO = load_scenario_set("alignment-v1").get("tr-terminal-diagnosis")
EMBEDDED = ROOT / "configs/embedded"


def scripted(config: DebateConfig) -> dict[str, ScriptedChatModel]:
    return {a: ScriptedChatModel(name=a) for a in config.agents}


def run(config: DebateConfig, models=None, tmp: Path | None = None, debate_id: str = "t1"):
    models = models or scripted(config)

    async def go():
        async with open_checkpointer((tmp or Path("/tmp")) / f"{debate_id}.sqlite") as saver:
            return await run_debate(config, SCENARIO, checkpointer=saver, models=models, debate_id=debate_id)

    return asyncio.run(go()), models


def order(outcome) -> list[str]:
    return [t["id"] for t in outcome.turns]


def test_adversarial_sequence_and_visibility(tmp_path):
    cfg = load_debate_config(EMBEDDED / "adversarial.yaml")
    outcome, models = run(cfg, tmp=tmp_path)
    assert order(outcome) == ["proponent@1", "opponent@1", "proponent@2", "opponent@2", "judge@3"]
    saw = {t["id"]: t["saw"] for t in outcome.turns}
    assert saw["proponent@1"] == []
    assert saw["opponent@1"] == ["proponent@1"]
    assert saw["proponent@2"] == ["proponent@1", "opponent@1"]
    assert saw["judge@3"] == ["proponent@1", "opponent@1", "proponent@2", "opponent@2"]
    assert outcome.verdict["winner"] == "pro" and outcome.verdict["confidence"] == 0.7
    assert all(len(m.calls) == (1 if a == "judge" else 2) for a, m in models.items())
    # the judge's call asked for the verdict schema as Ollama's `format`
    assert "properties" in models["judge"].calls[0]["kwargs"]["format"]


def test_single_uses_one_model_for_every_role(tmp_path):
    cfg = load_debate_config(EMBEDDED / "single.yaml")
    assert {cfg.model_for(a).model for a in cfg.agents} == {"smollm2:135m"}
    outcome, _ = run(cfg, tmp=tmp_path)
    assert [t["role"] for t in outcome.turns] == ["debater"] * 4 + ["aggregator"]


def test_critiqued_debaters_answer_the_critic(tmp_path):
    cfg = load_debate_config(EMBEDDED / "critiqued.yaml")
    outcome, models = run(cfg, tmp=tmp_path)
    assert order(outcome) == ["proponent@1", "opponent@1", "critic@1", "proponent@2", "opponent@2",
                              "critic@2", "judge@3"]
    round2_prompt = models["proponent"].calls[1]["prompt"]
    assert "critic, critique" in round2_prompt and "must answer the critic" in round2_prompt


def test_society_runs_debaters_in_parallel_then_revises(tmp_path):
    cfg = load_debate_config(EMBEDDED / "society.yaml")
    outcome, _ = run(cfg, tmp=tmp_path)
    ids = order(outcome)
    assert ids[:3] == ["ethicist@1", "engineer@1", "citizen@1"]  # task order, deterministic
    assert ids[3:6] == ["ethicist@2", "engineer@2", "citizen@2"]
    saw = {t["id"]: t["saw"] for t in outcome.turns}
    assert saw["engineer@1"] == []  # independent first answers
    assert saw["engineer@2"] == ["ethicist@1", "engineer@1", "citizen@1"]


def test_mixture_layers_see_only_previous_layer(tmp_path):
    cfg = load_debate_config(EMBEDDED / "mixture.yaml").with_overrides(rounds=3)
    outcome, _ = run(cfg, tmp=tmp_path)
    saw = {t["id"]: t["saw"] for t in outcome.turns}
    assert saw["proposer_b@3"] == ["proposer_a@2", "proposer_b@2", "proposer_c@2"]
    assert saw["judge@4"] == ["proposer_a@3", "proposer_b@3", "proposer_c@3"]


def test_facilitated_explains_between_rounds(tmp_path):
    cfg = load_debate_config(EMBEDDED / "facilitated.yaml")
    outcome, models = run(cfg, tmp=tmp_path)
    assert order(outcome) == ["proponent@1", "opponent@1", "facilitator@1", "proponent@2", "opponent@2", "judge@3"]
    assert "facilitator, explanation" in models["opponent"].calls[1]["prompt"]
    with pytest.raises(UserError, match="rounds"):
        build_graph(cfg.with_overrides(rounds=1))


def test_thinking_is_kept_apart(tmp_path):
    cfg = load_debate_config(EMBEDDED / "adversarial.yaml").with_overrides(rounds=1)
    models = scripted(cfg)
    models["proponent"] = ScriptedChatModel(name="p", script=lambda p, k: "<think>secret plan</think>Open argument.")
    outcome, models = run(cfg, models, tmp=tmp_path)
    first = outcome.turns[0]
    assert first["text"] == "Open argument." and first["thinking"] == "secret plan"
    assert "secret plan" not in models["opponent"].calls[0]["prompt"]


def test_unparseable_verdict_is_not_invented(tmp_path):
    cfg = load_debate_config(EMBEDDED / "adversarial.yaml").with_overrides(rounds=1)
    models = scripted(cfg)
    models["judge"] = ScriptedChatModel(name="j", script=lambda p, k: "I think pro won, 9/10")
    outcome, models = run(cfg, models, tmp=tmp_path)
    assert outcome.verdict["winner"] is None and "not JSON" in outcome.verdict["unparsed_reason"]
    assert len(models["judge"].calls) == 3  # bounded retries
    assert outcome.turns[-1]["calls"] == 3


def test_verdict_chars_bounds_every_aggregators_verdict_and_nothing_else(tmp_path):
    """`overrides.verdict_chars` reaches every aggregator as its `verdict_chars` option; the verdict's
    schema (and so the grammar) then bounds the rationale and the recommendation; a verdict longer
    than that is not read, and a bad value is one line naming the agent."""
    cfg = load_debate_config(EMBEDDED / "society.yaml").with_overrides(rounds=1, verdict_chars=120)
    assert {n: a.options.get("verdict_chars") for n, a in cfg.agents.items()} == {
        n: (120 if a.role == "aggregator" else None) for n, a in cfg.agents.items()}
    assert cfg.fingerprint() != load_debate_config(EMBEDDED / "society.yaml").with_overrides(rounds=1).fingerprint()
    outcome, models = run(cfg, tmp=tmp_path)
    aggregator = next(n for n, a in cfg.agents.items() if a.role == "aggregator")
    schema = models[aggregator].calls[0]["kwargs"]["format"]
    assert schema["properties"]["rationale"]["maxLength"] == 120
    assert schema["properties"]["recommendation"]["maxLength"] == 120
    assert list(schema["properties"]) == ["rationale", "winner", "recommendation", "confidence_percent"]  # reasons first
    assert outcome.verdict["winner"] == "pro"
    too_long = '{"rationale": "%s", "winner": "pro", "recommendation": "r", "confidence_percent": 50}' % ("x" * 121)
    models = scripted(cfg)
    models[aggregator] = ScriptedChatModel(name="j", script=lambda p, k: too_long)
    outcome, _ = run(cfg, models, tmp=tmp_path, debate_id="t2")
    assert outcome.verdict["winner"] is None  # over the bound: unread, never cut to fit
    bad = load_debate_config(EMBEDDED / "adversarial.yaml")
    bad.agents["judge"].options = {"verdict_chars": 5}
    with pytest.raises(UserError, match="agent 'judge': option 'verdict_chars' 5: give a whole number"):
        build_graph(bad)


def test_finished_debate_is_returned_without_calls(tmp_path):
    cfg = load_debate_config(EMBEDDED / "adversarial.yaml").with_overrides(rounds=1)
    first, models = run(cfg, tmp=tmp_path, debate_id="same")
    again, models2 = run(cfg, tmp=tmp_path, debate_id="same")
    assert again.status == "already_finished" and again.turns == first.turns
    assert sum(len(m.calls) for m in models2.values()) == 0


def test_failure_mid_debate_resumes_from_last_finished_turn(tmp_path):
    cfg = load_debate_config(EMBEDDED / "adversarial.yaml")
    models = scripted(cfg)
    state = {"fail": True}

    def flaky(prompt, kwargs):
        if state["fail"]:
            raise ConnectionError("host went away")
        return "opponent recovers"

    models["opponent"] = ScriptedChatModel(name="o", script=flaky)
    with pytest.raises(UserError, match="resume"):
        run(cfg, models, tmp=tmp_path, debate_id="flaky")
    calls_before = len(models["proponent"].calls)
    assert calls_before == 1
    state["fail"] = False
    outcome, models = run(cfg, models, tmp=tmp_path, debate_id="flaky")
    assert outcome.status == "resumed"
    assert len(models["proponent"].calls) == 2  # round 1 not repeated, only round 2
    assert len(outcome.turns) == 5


def test_thread_id_includes_config_fingerprint():
    a = load_debate_config(EMBEDDED / "adversarial.yaml")
    b = a.with_overrides(rounds=3)
    assert debate_id_for("e", a, "s") != debate_id_for("e", b, "s")
    assert debate_id_for("e", a, "s") == debate_id_for("e", load_debate_config(EMBEDDED / "adversarial.yaml"), "s")


def test_parallel_debates_in_one_process(tmp_path):
    cfg = load_debate_config(EMBEDDED / "society.yaml").with_overrides(rounds=1)

    async def go():
        async with open_checkpointer(tmp_path / "many.sqlite") as saver:
            return await asyncio.gather(*[
                run_debate(cfg, SCENARIO, checkpointer=saver, models=scripted(cfg), debate_id=f"d{i}")
                for i in range(8)
            ])

    outcomes = asyncio.run(go())
    assert all(len(o.turns) == 4 for o in outcomes)


@pytest.mark.parametrize("name", ["single", "adversarial", "critiqued", "society", "mixture", "facilitated"])
def test_every_builtin_draws_mermaid(name):
    cfg = load_debate_config(EMBEDDED / f"{name}.yaml")
    mermaid = compile_debate(cfg).get_graph().draw_mermaid()
    assert "graph TD" in mermaid and "judge" in mermaid


def test_paper_configs_load():
    for path in (ROOT / "configs/paper").glob("*.yaml"):
        cfg = load_debate_config(path)
        build_graph(cfg)
        assert cfg.rounds == 2 and cfg.model_for("proponent").num_predict == 200
    light = load_debate_config("configs/paper/lightweight.yaml")
    assert light.model_for("opponent").model == "mistral:7b" and light.model_for("judge").model == "phi3:3.8b"
