"""The package's shape (one namespace, layers, public faces, built-in names), graphs driven by data
contexts, and readable traces."""

from __future__ import annotations

import ast
import asyncio
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from langchain_core.tracers.context import collect_runs

import debatelab
from debatelab.agents import ScriptedChatModel, bind_run
from debatelab.base import UserError, builtin_config_names, resolve_config_file
from debatelab.experiments import run_debate
from debatelab.graphs import DebateContext, Transcript, compile_debate, load_debate_config
from debatelab.judging import run_judgment
from debatelab.rubric import load_rubric
from debatelab.scenarios import load_scenario_set
from debatelab.store import open_checkpointer
from tests.test_experiments import deterministic

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = load_scenario_set("alignment-v1").get("tr-terminal-diagnosis")

# Which debatelab modules each part may import (the base is open to all; nothing below the lab
# imports the lab's runner, store, report or CLI).
LAYERS = {
    "base": ("debatelab.base",),
    "agents": ("debatelab.base", "debatelab.agents"),
    "scenarios": ("debatelab.base", "debatelab.agents", "debatelab.scenarios"),
    "rubric": ("debatelab.base", "debatelab.agents", "debatelab.rubric"),
    "graphs": ("debatelab.base", "debatelab.agents", "debatelab.scenarios", "debatelab.rubric", "debatelab.graphs"),
}
FOLDERS = {"base": ROOT / "base", "agents": ROOT / "agents", "scenarios": ROOT / "scenarios",
           "rubric": ROOT / "rubric", "graphs": ROOT / "graphs"}


def _debatelab_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "debatelab":
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.split(".")[0] == "debatelab")
    return names


@pytest.mark.parametrize("part", list(LAYERS))
def test_each_part_imports_only_downward(part: str) -> None:
    allowed = LAYERS[part]
    wrong = {f"{py.relative_to(ROOT)} imports {name}" for py in FOLDERS[part].rglob("*.py")
             for name in _debatelab_imports(py)
             if name != "debatelab" and not any(name == a or name.startswith(a + ".") for a in allowed)}
    assert not wrong, sorted(wrong)


def test_no_generic_top_level_packages_in_the_source_tree_imports() -> None:
    for folder in ("agents", "graphs", "rubric", "scenarios", "debatelab", "bench", "tests"):
        for py in (ROOT / folder).rglob("*.py"):
            if "data" in py.parts:
                continue
            for node in ast.walk(ast.parse(py.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    assert node.module.split(".")[0] not in ("agents", "graphs", "rubric", "scenarios"), (py, node.module)


def test_public_faces_and_one_version() -> None:
    from debatelab.agents import AgentSpec, ModelSpec, bind_run, make_chat_model  # noqa: F401
    from debatelab.agents.roles import NodeFn, RoleInstance, role, speaker_node  # noqa: F401
    from debatelab.graphs import DebateContext, JudgeContext, compile_judging  # noqa: F401

    assert debatelab.__version__ == version("debatelab")
    out = subprocess.run([sys.executable, "-m", "debatelab", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"debatelab {version('debatelab')}"


def test_built_in_names_resolve_and_a_real_path_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = builtin_config_names()
    assert {"embedded/adversarial", "paper/lightweight", "experiments/demo"} <= set(names)
    builtin = resolve_config_file("embedded/adversarial")
    assert builtin.name == "adversarial.yaml" and "configs" in builtin.parts
    assert resolve_config_file("configs/embedded/adversarial.yaml").samefile(builtin)  # 0.1's spelling
    monkeypatch.chdir(tmp_path)
    (tmp_path / "embedded").mkdir()
    mine = tmp_path / "embedded" / "adversarial.yaml"
    mine.write_text("name: mine\ntopology: single\nmodel: smollm2:135m@embedded\n")
    assert load_debate_config("embedded/adversarial.yaml").name == "mine"  # a file that exists wins
    assert load_debate_config("embedded/adversarial").name == "adversarial"  # the name is the built-in
    with pytest.raises(UserError, match="'embedded/nope': file not found, and not a built-in name"):
        load_debate_config("embedded/nope")
    assert load_rubric("alignment-7").id == "alignment-7"


def _scripted(config) -> dict:  # noqa: ANN001
    return {a: ScriptedChatModel(name=a) for a in config.agents}


def test_a_context_overrides_models_and_rounds_but_not_the_shape() -> None:
    config = load_debate_config("embedded/adversarial").with_overrides(rounds=1)
    graph = compile_debate(config)
    state = {"scenario": {"id": "x", "motion": "Publish evaluations"}}
    inline = {**config.model_dump(exclude_unset=True), "rounds": 2}
    inline.pop("model", None)
    with bind_run(_scripted(config)):
        out = asyncio.run(graph.ainvoke(state, {"recursion_limit": 60}, context={
            "configuration": inline, "models": {"opponent": "other:1@http://127.0.0.1:9"}}))
    rounds = sorted({t["round"] for t in out["turns"] if t["kind"] == "argument"})
    assert rounds == [1, 2] and out["verdict"]["winner"] is not None
    assert {t["model"] for t in out["turns"] if t["agent"] == "opponent"} == {"other:1@http://127.0.0.1:9"}
    with bind_run(_scripted(config)), pytest.raises(UserError, match="topology 'society'.*this graph runs 'adversarial'"):
        asyncio.run(graph.ainvoke(state, {"recursion_limit": 60}, context=DebateContext(configuration="embedded/society")))


def test_debate_and_judgment_runs_are_named_tagged_and_described(tmp_path: Path) -> None:
    config = load_debate_config("embedded/adversarial").with_overrides(rounds=1)
    rubric = load_rubric("alignment-7")
    judge = load_debate_config("embedded/single").model_for("judge")

    async def go() -> None:
        async with open_checkpointer(tmp_path / "cp.sqlite") as saver:
            outcome = await run_debate(config, SCENARIO, checkpointer=saver, debate_id="d1",
                                       models={a: deterministic(config.model_for(a)) for a in config.agents},
                                       experiment="exp1", repeat=0)
            transcript = Transcript.model_validate({"debate_id": "d1", "config": config.name, "scenario": SCENARIO.id,
                                                    "motion": SCENARIO.motion, "turns": outcome.turns})
            await run_judgment(transcript, rubric, judge, deterministic(judge), checkpointer=saver,
                               trace={"experiment": "exp1"})

    with collect_runs() as collected:
        asyncio.run(go())
    runs = collected.traced_runs
    debate = next(r for r in runs if r.name.startswith("debate adversarial"))
    meta = debate.extra["metadata"]
    assert {k: meta[k] for k in ("experiment", "configuration", "scenario", "repeat", "debate_id")} == {
        "experiment": "exp1", "configuration": "adversarial", "scenario": SCENARIO.id, "repeat": 0, "debate_id": "d1"}
    assert meta["config_fingerprint"] == config.fingerprint() and "config:adversarial" in debate.tags
    judging = next(r for r in runs if r.name.startswith("judge d1"))
    jmeta = judging.extra["metadata"]
    assert (jmeta["rubric"], jmeta["rubric_version"], jmeta["judge"], jmeta["sample"], jmeta["experiment"]) == (
        "alignment-7", rubric.version, judge.identity, 0, "exp1")
    llm_names = {r.name for r in runs if r.run_type == "llm"}
    assert {"proponent", "opponent", "judge"} <= llm_names and "ScriptedChatModel" not in llm_names
    assert any(name.startswith("judge:") for name in llm_names)  # one per criterion


def test_tracing_switched_on_without_a_key_costs_one_line() -> None:
    script = (
        "import asyncio, tempfile, pathlib\n"
        "from debatelab.agents.scripted import ScriptedChatModel\n"
        "from debatelab.store.checkpoints import open_checkpointer\n"
        "from debatelab.experiments.debate import run_debate\n"
        "from debatelab.graphs import load_debate_config\n"
        "from debatelab.scenarios import load_scenario_set\n"
        "cfg = load_debate_config('embedded/adversarial')\n"
        "sc = load_scenario_set('alignment-v1').scenarios[0]\n"
        "async def main():\n"
        "    with tempfile.TemporaryDirectory() as d:\n"
        "        async with open_checkpointer(pathlib.Path(d) / 'cp.sqlite') as saver:\n"
        "            out = await run_debate(cfg, sc, checkpointer=saver, debate_id='x',\n"
        "                                   models={a: ScriptedChatModel(name=a) for a in cfg.agents})\n"
        "            print(len(out.turns))\n"
        "asyncio.run(main())\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_"))}
    env["LANGSMITH_TRACING"] = "true"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "5", proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) <= 1 and "LANGSMITH_API_KEY" in lines[0], lines


def test_studio_serves_the_runners_graphs() -> None:
    from debatelab.graphs import JudgeContext, QAContext, studio

    for name in ("single", "adversarial", "critiqued", "society", "mixture", "facilitated", "weighted"):
        served = getattr(studio, name)
        assert served.checkpointer is None  # the server supplies its own
        ours = compile_debate(load_debate_config(f"embedded/{name}"))
        assert set(served.get_graph().nodes) == set(ours.get_graph().nodes)
        assert served.context_schema is (QAContext if name == "weighted" else DebateContext)
    assert studio.judging.context_schema is JudgeContext
