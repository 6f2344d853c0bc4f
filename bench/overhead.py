"""Overhead per agent step: the debate graph with SQLite checkpoints (durability="sync"), the same
graph without checkpoints, and a plain Python loop making the same model calls, all with a
zero-latency scripted model. The difference per step is what debatelab adds to every call.

LangGraph's own floor, measured in the same run, is the same graph without debatelab's nodes:
the configuration's topology built with every role replaced by a bare node that calls its model
on the motion and the transcript so far and returns the text, compiled with the same checkpointer
and durability, and invoked without debatelab's runner (no resume check, trace metadata, turn
records, limits). The ratio to it is what debatelab's nodes and runner cost on top of LangGraph.
A second, lower floor, a plain chain of the same number of steps with no routers, shows what the
topology's routing itself costs.

All three run in the state `debatelab run` runs debates in: the runner's imports loaded (LangGraph,
LangChain, pydantic, pandas: ~170k long-lived objects; scipy loads later, on first use) and the
start-up heap frozen, as the runner does.
Without the freeze, garbage collections walking those objects cost about 1 ms per step."""

from __future__ import annotations

import asyncio
import gc
import statistics
import tempfile
import time
from operator import add
from pathlib import Path
from typing import Annotated, Any
from unittest import mock

from langchain_core.messages import HumanMessage
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from bench.common import Figure
from debatelab.agents import ScriptedChatModel, bind_run
from debatelab.agents.roles import registry as roles
from debatelab.experiments.debate import initial_state, run_debate
from debatelab.graphs import DebateContext, build_graph, compile_debate, load_debate_config, recursion_limit
from debatelab.runtime import freeze_startup_heap
from debatelab.scenarios import load_scenario_set
from debatelab.store import open_checkpointer

TARGET_MS = 2.0


class FloorState(TypedDict):
    motion: str
    transcript: Annotated[list[str], add]


def _models(config):  # noqa: ANN001, ANN202
    return {a: ScriptedChatModel(name=a) for a in config.agents}


async def _with_checkpoints(config, scenario, debates: int, path: Path) -> tuple[float, int]:  # noqa: ANN001
    models = _models(config)  # one chat model per agent for the whole run, as the product caches them
    async with open_checkpointer(path) as saver:
        start = time.perf_counter()
        steps = 0
        for i in range(debates):
            out = await run_debate(config, scenario, checkpointer=saver, models=models, debate_id=f"b{i}")
            steps += len(out.turns)
        return time.perf_counter() - start, steps


async def _without_checkpoints(config, scenario, debates: int) -> tuple[float, int]:  # noqa: ANN001
    graph = compile_debate(config)
    models = _models(config)
    start = time.perf_counter()
    steps = 0
    for i in range(debates):
        with bind_run(models):
            out = await graph.ainvoke(initial_state(f"n{i}", config, scenario),
                                      {"recursion_limit": recursion_limit(config)}, context=DebateContext())
        steps += len(out["turns"])
    return time.perf_counter() - start, steps


def _bare_role(models: dict[str, Any]):  # noqa: ANN202
    """A role factory whose node only calls the agent's model on the motion and transcript so far."""

    def factory(inst: roles.RoleInstance):  # noqa: ANN202
        async def speak(task: dict[str, Any], runtime: Any) -> dict[str, Any]:
            text = "\n".join(t["text"] for t in task.get("turns", []))
            reply = await models[inst.agent].ainvoke([HumanMessage(task["scenario"]["motion"] + "\n" + text)])
            return {"turns": [{"agent": inst.agent, "round": task["round"], "text": str(reply.content)}],
                    "round": task["round"]}
        return speak

    return factory


async def _same_graph_floor(config, scenario, debates: int, path: Path) -> float:  # noqa: ANN001
    """LangGraph's floor for this configuration: its own graph (edges, routers, joins) with every
    role a bare node, the same checkpointer and durability, invoked directly."""
    models = _models(config)
    bare = _bare_role(models)
    with mock.patch.dict(roles._ROLES, {name: bare for name in roles.available_roles()}):
        builder = build_graph(config)
    async with open_checkpointer(path) as saver:
        graph = builder.compile(checkpointer=saver)
        start = time.perf_counter()
        for i in range(debates):
            await graph.ainvoke(initial_state(f"floor{i}", config, scenario),
                                {"configurable": {"thread_id": f"floor{i}"}, "recursion_limit": recursion_limit(config)},
                                context=DebateContext(), durability="sync")
        return time.perf_counter() - start


async def _bare_chain(config, scenario, debates: int, steps_per_debate: int, path: Path) -> float:  # noqa: ANN001
    """A lower floor: a StateGraph of the same number of steps in a plain chain (no routers), each a
    bare node calling its scripted model on the transcript so far, with the same SQLite
    checkpointer and durability."""
    names = list(config.agents)

    def node(agent: str):  # noqa: ANN202
        async def speak(state: FloorState) -> dict:
            reply = await models[agent].ainvoke([HumanMessage(state["motion"] + "\n" + "\n".join(state["transcript"]))])
            return {"transcript": [str(reply.content)]}
        return speak

    builder = StateGraph(FloorState)
    previous = START
    for s in range(steps_per_debate):
        builder.add_node(f"step{s}", node(names[s % len(names)]))
        builder.add_edge(previous, f"step{s}")
        previous = f"step{s}"
    builder.add_edge(previous, END)
    models = _models(config)
    async with open_checkpointer(path) as saver:
        graph = builder.compile(checkpointer=saver)
        start = time.perf_counter()
        for i in range(debates):
            await graph.ainvoke({"motion": scenario.motion, "transcript": []},
                                {"configurable": {"thread_id": f"floor{i}"}}, durability="sync")
        return time.perf_counter() - start


async def _plain_loop(config, scenario, debates: int, steps_per_debate: int) -> float:  # noqa: ANN001
    """The same number of model calls, each with a prompt of similar size, no framework."""
    models = _models(config)
    start = time.perf_counter()
    for _ in range(debates):
        names = list(config.agents)
        transcript: list[str] = []
        for s in range(steps_per_debate):
            reply = await models[names[s % len(names)]].ainvoke(
                [HumanMessage(scenario.motion + "\n" + "\n".join(transcript))])
            transcript.append(str(reply.content))
    return time.perf_counter() - start


def run(quick: bool) -> list[Figure]:
    import debatelab.experiments.runner  # noqa: F401 - the product's imports, so the heap is the size it is in a run

    freeze_startup_heap()
    config = load_debate_config("embedded/critiqued")
    scenario = load_scenario_set("alignment-v1").get("tr-terminal-diagnosis")
    debates, reps = (20, 5) if quick else (50, 9)
    samples: dict[str, list[float]] = {"checkpoints": [], "no_checkpoints": [], "plain": [], "langgraph_floor": [],
                                       "bare_chain": []}
    steps = 0
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_with_checkpoints(config, scenario, 2, Path(tmp) / "warm.sqlite"))  # warm imports and caches
        for rep in range(reps):  # interleaved repetitions; medians resist this machine's noise
            t_cp, steps = asyncio.run(_with_checkpoints(config, scenario, debates, Path(tmp) / f"cp{rep}.sqlite"))
            t_no, _ = asyncio.run(_without_checkpoints(config, scenario, debates))
            t_plain = asyncio.run(_plain_loop(config, scenario, debates, steps // debates))
            t_floor = asyncio.run(_same_graph_floor(config, scenario, debates, Path(tmp) / f"floor{rep}.sqlite"))
            t_chain = asyncio.run(_bare_chain(config, scenario, debates, steps // debates,
                                              Path(tmp) / f"chain{rep}.sqlite"))
            for key, value in (("checkpoints", t_cp), ("no_checkpoints", t_no), ("plain", t_plain),
                               ("langgraph_floor", t_floor), ("bare_chain", t_chain)):
                samples[key].append(value / steps * 1000)
    per = {k: statistics.median(v) for k, v in samples.items()}
    overhead = per["checkpoints"] - per["plain"]
    floor_ratio = per["checkpoints"] / per["langgraph_floor"]
    return [Figure(
        "agent step vs LangGraph's floor (the same graph with bare nodes, same checkpointer)", round(floor_ratio, 2),
        "x", "<= 1.3", floor_ratio <= 1.3,
        detail={"ms_per_step_debatelab": round(per["checkpoints"], 3),
                "ms_per_step_langgraph_floor": round(per["langgraph_floor"], 3),
                "ms_per_step_bare_chain": round(per["bare_chain"], 3),
                "ratio_vs_bare_chain": round(per["checkpoints"] / per["bare_chain"], 2)},
    ), Figure(
        "overhead per agent step (SQLite checkpoints, sync)", round(overhead, 3), "ms/step",
        f"<= {TARGET_MS} ms", overhead <= TARGET_MS,
        detail={"ms_per_step": {k: round(v, 3) for k, v in per.items()}, "steps_per_run": steps, "runs": reps,
                "ratio_checkpoints_vs_plain": round(per["checkpoints"] / per["plain"], 2),
                "ratio_no_checkpoints_vs_plain": round(per["no_checkpoints"] / per["plain"], 2),
                "topology": "critiqued, 2 rounds (7 agent steps per debate)",
                "frozen_startup_objects": gc.get_freeze_count()},
    )]
