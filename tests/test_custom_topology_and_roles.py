"""YAML topologies compile and run; roles come from entry points; bad configs fail clearly."""

from __future__ import annotations

import asyncio
import importlib.metadata
import sys
from pathlib import Path

import pytest

from debatelab.agents import ScriptedChatModel
from debatelab.agents.roles import available_roles
from debatelab.base import UserError
from debatelab.experiments import run_debate
from debatelab.graphs import DebateConfig, build_graph, compile_debate, load_debate_config
from debatelab.scenarios import load_scenario_set
from debatelab.store import open_checkpointer

SCENARIO = load_scenario_set("paper").get("ubi-ai-unemployment")


def run(cfg: DebateConfig, models, tmp: Path):
    async def go():
        async with open_checkpointer(tmp / "c.sqlite") as saver:
            return await run_debate(cfg, SCENARIO, checkpointer=saver, models=models, debate_id="x")

    return asyncio.run(go())


def test_custom_yaml_topology_runs_rounds_with_join(tmp_path):
    cfg = load_debate_config("configs/examples/custom-loop.yaml")
    low = {"rationale": "r", "winner": "tie", "recommendation": "x", "confidence_percent": 40}
    models = {a: ScriptedChatModel(name=a) for a in cfg.agents}
    models["judge"] = ScriptedChatModel(name="judge", script=lambda p, k: low)
    outcome = run(cfg, models, tmp_path)
    ids = [t["id"] for t in outcome.turns]
    for r in (1, 2, 3):  # parallel debaters (in LangGraph's deterministic task order), then critic, judge
        block = ids[4 * (r - 1): 4 * r]
        assert sorted(block[:2]) == [f"con@{r}", f"pro@{r}"] and block[2:] == [f"critic@{r}", f"judge@{r}"]
    saw = {t["id"]: t["saw"] for t in outcome.turns}
    assert sorted(saw["critic@1"]) == ["con@1", "pro@1"]  # the join waited for both debaters


def test_custom_loop_stops_when_judge_is_confident(tmp_path):
    cfg = load_debate_config("configs/examples/custom-loop.yaml")
    models = {a: ScriptedChatModel(name=a) for a in cfg.agents}
    high = {"rationale": "r", "winner": "con", "recommendation": "x", "confidence_percent": 90}
    models["judge"] = ScriptedChatModel(name="judge", script=lambda p, k: high)
    outcome = run(cfg, models, tmp_path)
    assert [t["id"] for t in outcome.turns][-1] == "judge@1" and len(outcome.turns) == 4


def custom(**changes) -> dict:
    base = {
        "name": "c", "topology": "custom", "rounds": 2,
        "agents": {"pro": {"role": "debater", "stance": "pro", "model": "m:1"},
                   "judge": {"role": "aggregator", "model": "m:1"}},
        "graph": {"edges": [["START", "pro"], ["pro", "judge"], ["judge", "END"]]},
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"graph": {"edges": [["START", "pro"], ["pro", "ghost"], ["judge", "END"]]}}, "dangling edge"),
        ({"graph": {"edges": [["START", "pro"], ["pro", "judge"]]}}, "no path from START to END"),
        ({"graph": {"edges": [["START", "pro"], ["pro", "END"]]}}, "never reached"),
        ({"topology": "pentagon"}, "unknown topology 'pentagon'"),
        ({"agents": {"pro": {"role": "oracle", "model": "m:1"}, "judge": {"role": "aggregator", "model": "m"}}},
         "unknown role 'oracle'"),
    ],
)
def test_custom_topology_errors(changes, message):
    cfg = DebateConfig.model_validate(custom(**changes))
    with pytest.raises(UserError, match=message):
        build_graph(cfg)


def test_config_errors_name_file_and_field(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("name: x\ntopology: adversarial\nrounds: 0\nagents: {a: {role: debater, model: m}}\n")
    with pytest.raises(UserError, match=r"bad.yaml: field 'rounds'"):
        load_debate_config(f)
    f.write_text("name: x\ntopology: adversarial\nagents: {a: {role: debater}}\n")
    with pytest.raises(UserError, match=r"field 'agents.a.model'"):
        load_debate_config(f)
    f.write_text("name: x\ntopology: adversarial\nagents:\n  a: {role: debater, model: m\n")
    with pytest.raises(UserError, match=r"bad.yaml: line \d+"):
        load_debate_config(f)
    f.write_text("name: x\ntopology: adversarial\nagents: {a: {role: debater, stance: pro, model: m}}\n")
    with pytest.raises(UserError, match="needs exactly one debater with stance con"):
        build_graph(load_debate_config(f))


def test_entry_point_role(tmp_path, monkeypatch):
    """Install the example package's metadata on sys.path the way pip would, without pip."""
    pkg = Path(__file__).parent / "example_role_pkg"
    site = tmp_path / "site"
    dist = site / "debatelab_example_role-0.1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: debatelab-example-role\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text(
        "[debatelab.roles]\ndevils_advocate = debatelab_example_role:devils_advocate\n"
    )
    (site / "debatelab_example_role.py").write_text((pkg / "debatelab_example_role.py").read_text())
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    assert "devils_advocate" in available_roles()
    cfg = DebateConfig.model_validate(custom(
        agents={"pro": {"role": "debater", "stance": "pro", "model": "m:1"},
                "devil": {"role": "devils_advocate", "model": "m:1"},
                "judge": {"role": "aggregator", "model": "m:1"}},
        graph={"edges": [["START", "pro"], ["pro", "devil"], ["devil", "judge"], ["judge", "END"]]},
        rounds=1,
    ))
    models = {a: ScriptedChatModel(name=a) for a in cfg.agents}
    outcome = run(cfg, models, tmp_path)
    assert [t["role"] for t in outcome.turns] == ["debater", "devils_advocate", "aggregator"]
    assert "Argue against whatever most speakers" in models["devil"].calls[0]["prompt"]
    assert "debatelab_example_role" in sys.modules
    compile_debate(cfg)
