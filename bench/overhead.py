"""Overhead per agent step: the debate graph with SQLite checkpoints (durability="sync"), the same
graph without checkpoints, and a plain Python loop making the same model calls, all with a
zero-latency scripted model. The difference per step is what debatelab adds to every call.

All three run in the state `debatelab run` runs debates in: the runner's imports loaded (pandas
and scipy included, ~150k long-lived objects) and the start-up heap frozen, as the runner does.
Without the freeze, garbage collections walking those objects cost about 1 ms per step."""

from __future__ import annotations

import asyncio
import gc
import statistics
import tempfile
import time
from pathlib import Path

from langchain_core.messages import HumanMessage

from bench.common import Figure
from debatelab.agents.run_bindings import bind_run
from debatelab.agents.testing import ScriptedChatModel
from debatelab.checkpoints import open_checkpointer
from debatelab.debate_runner import initial_state, run_debate
from debatelab.graphs.config import load_debate_config
from debatelab.graphs.context import DebateContext
from debatelab.graphs.registry import compile_debate, recursion_limit
from debatelab.heap import freeze_startup_heap
from debatelab.scenarios.schema import load_scenario_set

TARGET_MS = 2.0


def _models(config):  # noqa: ANN001, ANN202
    return {a: ScriptedChatModel(name=a) for a in config.agents}


async def _with_checkpoints(config, scenario, debates: int, path: Path) -> tuple[float, int]:  # noqa: ANN001
    async with open_checkpointer(path) as saver:
        start = time.perf_counter()
        steps = 0
        for i in range(debates):
            out = await run_debate(config, scenario, checkpointer=saver, models=_models(config), debate_id=f"b{i}")
            steps += len(out.turns)
        return time.perf_counter() - start, steps


async def _without_checkpoints(config, scenario, debates: int) -> tuple[float, int]:  # noqa: ANN001
    graph = compile_debate(config)
    start = time.perf_counter()
    steps = 0
    for i in range(debates):
        with bind_run(_models(config)):
            out = await graph.ainvoke(initial_state(f"n{i}", config, scenario),
                                      {"recursion_limit": recursion_limit(config)}, context=DebateContext())
        steps += len(out["turns"])
    return time.perf_counter() - start, steps


async def _plain_loop(config, scenario, debates: int, steps_per_debate: int) -> float:  # noqa: ANN001
    """The same number of model calls, each with a prompt of similar size, no framework."""
    start = time.perf_counter()
    for _ in range(debates):
        models = _models(config)
        names = list(config.agents)
        transcript: list[str] = []
        for s in range(steps_per_debate):
            reply = await models[names[s % len(names)]].ainvoke(
                [HumanMessage(scenario.motion + "\n" + "\n".join(transcript))])
            transcript.append(str(reply.content))
    return time.perf_counter() - start


def run(quick: bool) -> list[Figure]:
    import debatelab.runner  # noqa: F401 - the product's imports, so the heap is the size it is in a run

    freeze_startup_heap()
    config = load_debate_config("embedded/critiqued")
    scenario = load_scenario_set("alignment-v1").get("tr-terminal-diagnosis")
    debates, reps = (20, 5) if quick else (50, 9)
    samples: dict[str, list[float]] = {"checkpoints": [], "no_checkpoints": [], "plain": []}
    steps = 0
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_with_checkpoints(config, scenario, 2, Path(tmp) / "warm.sqlite"))  # warm imports and caches
        for rep in range(reps):  # interleaved repetitions; medians resist this machine's noise
            t_cp, steps = asyncio.run(_with_checkpoints(config, scenario, debates, Path(tmp) / f"cp{rep}.sqlite"))
            t_no, _ = asyncio.run(_without_checkpoints(config, scenario, debates))
            t_plain = asyncio.run(_plain_loop(config, scenario, debates, steps // debates))
            for key, value in (("checkpoints", t_cp), ("no_checkpoints", t_no), ("plain", t_plain)):
                samples[key].append(value / steps * 1000)
    per = {k: statistics.median(v) for k, v in samples.items()}
    overhead = per["checkpoints"] - per["plain"]
    return [Figure(
        "overhead per agent step (SQLite checkpoints, sync)", round(overhead, 3), "ms/step",
        f"<= {TARGET_MS} ms", overhead <= TARGET_MS,
        detail={"ms_per_step": {k: round(v, 3) for k, v in per.items()}, "steps_per_run": steps, "runs": reps,
                "ratio_checkpoints_vs_plain": round(per["checkpoints"] / per["plain"], 2),
                "ratio_no_checkpoints_vs_plain": round(per["no_checkpoints"] / per["plain"], 2),
                "topology": "critiqued, 2 rounds (7 agent steps per debate)",
                "frozen_startup_objects": gc.get_freeze_count()},
    )]
