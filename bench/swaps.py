"""Model swaps on a host that holds one model at a time (an Ollama workstation, as in the study).

Workload: the paper-reproduction shape - 5 ensembles + 5 single-model baselines x 15 scenarios,
2 rounds (150 debates, `experiments/paper-reproduction` with the study's configurations), on one
simulated Ollama host with room for one model: a call to another model first waits for the
running calls, then pays a load. Schedules, each on the same simulated costs:

- sequential: the study's loop, one debate after another (its loads and time follow from the
  debates' call sequences, counted from the stored turns);
- 0.1 runner: `debatelab run` without swap-aware scheduling (debates grouped by model set, as many
  debates in flight as the host has slots);
- scheduler: `debatelab run` with `max_loaded: 1` (the default for Ollama hosts now).

The lower bound is the shortest common supersequence of the debates' model sequences (each run
of calls to one model collapsed): every load serves at most one step of each sequence, so no
schedule needs fewer loads. debatelab.experiments.swap_plan computes it exactly (the runner's own plan).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult

from bench.common import ROOT, Figure, write_experiment
from debatelab.agents import ModelSpec, ScriptedChatModel, host_registry
from debatelab.agents.calls import held_call_slot
from debatelab.experiments import collapse, run_experiment, shortest_supersequence
from debatelab.runtime import RunProgress
from debatelab.store import Store
from debatelab.studies import load_experiment

# Simulated costs (seconds); --quick scales them down 4x, and the event loop's own work per call
# then weighs more in the wall time (see README, Performance).
FULL_COSTS = (0.2, 0.02, 0.05)  # load, call, linger
QUICK_SCALE = 0.15
LOAD_S, CALL_S, LINGER_S = FULL_COSTS


class SimulatedOllama:
    """One host with room for one model: a call to another model waits until the running calls
    are done, then pays LOAD_S; every call takes CALL_S."""

    def __init__(self) -> None:
        self.loaded: str | None = None
        self.running = 0
        self.loads = 0
        self.changed = asyncio.Condition()

    async def serve(self, model: str) -> None:
        async with self.changed:
            while self.loaded != model:
                if self.running == 0:
                    self.running = 1  # the load occupies the host
                    await asyncio.sleep(LOAD_S)
                    self.loaded, self.loads, self.running = model, self.loads + 1, 0
                    self.changed.notify_all()
                    break
                await self.changed.wait()
            self.running += 1
        await asyncio.sleep(CALL_S)
        async with self.changed:
            self.running -= 1
            self.changed.notify_all()


class OnSimulatedHost(ScriptedChatModel):
    """A chat model on the simulated host. Like the product's ChatOllama (`HostChatOllama`), it
    holds the host's call slot for the request alone."""

    takes_call_slot: ClassVar[bool] = True
    host: Any = None
    tag: str = ""

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        async with held_call_slot():
            await self.host.serve(self.tag)
        return await super()._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)


def _script(prompt: str, kwargs: dict[str, Any]) -> Any:
    fmt = kwargs.get("format")
    if fmt and "winner" in fmt.get("properties", {}):
        return {"rationale": "r", "winner": "pro", "recommendation": "x", "confidence_percent": 60}
    return "an argument"


def _run(tmp: Path, name: str, swap_aware: bool) -> tuple[float, int, Path]:
    exp_path = write_experiment(
        tmp / f"{name}.yaml", name=name, scenarios={"set": "paper", "study_only": True},
        configurations=[f"configs/paper/{c}.yaml" for c in
                        ("lightweight", "balanced", "heavyweight", "creative_mix", "reasoning_focused")],
        baselines=[str(p.relative_to(ROOT)) for p in sorted((ROOT / "configs" / "paper").glob("baseline-*.yaml"))],
        repeats=1, overrides={"rounds": 2, "num_predict": 20}, judging=None, concurrency={"default": 1},
        max_loaded={"default": 1})
    exp = load_experiment(exp_path)
    if not swap_aware:  # debatelab 0.1: plain per-host slots, debates in flight capped by them
        object.__setattr__(exp, "max_loaded_for", lambda url, embedded: None)
    db = tmp / f"{name}.db"
    store = Store.open(db)

    async def go() -> tuple[float, int]:
        host_registry().linger_s = LINGER_S
        host = SimulatedOllama()

        shared: dict[str, OnSimulatedHost] = {}

        def factory(spec: ModelSpec) -> OnSimulatedHost:  # one per spec, as the product shares ChatOllama
            if spec.label not in shared:
                shared[spec.label] = OnSimulatedHost(name=spec.label, script=_script, host=host, tag=spec.model)
            return shared[spec.label]

        with RunProgress(None, enabled=False) as progress:  # type: ignore[arg-type]
            start = time.perf_counter()
            summary = await run_experiment(exp, store, tmp / f"{name}.sqlite", progress, model_factory=factory,
                                           preflight=False)
            elapsed = time.perf_counter() - start
        if summary.failed or summary.debates_done != 150:
            raise RuntimeError(f"{name}: {summary.debates_done} debates, {len(summary.failed)} failed")
        return elapsed, host.loads

    try:
        elapsed, loads = asyncio.run(go())
        return elapsed, loads, db
    finally:
        store.close()


def model_sequences(db: Path) -> list[list[str]]:
    store = Store.open(db, create=False)
    try:
        rows = sorted(store.table_rows("turns"), key=lambda r: (r["debate_id"], r["idx"]))
    finally:
        store.close()
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r["debate_id"], []).append(r["model"].split("@")[0])
    return list(out.values())


def sequential_loads(sequences: list[list[str]]) -> int:
    flat = [m for s in sequences for m in s]
    return len(collapse(flat))


def scs_length(sequences: list[tuple[str, ...]]) -> int:
    """The lower bound: the exact shortest common supersequence the runner's load plan uses."""
    plan = shortest_supersequence(sequences, max_states=10_000_000)
    assert plan is not None
    return len(plan)


def run(quick: bool) -> list[Figure]:
    global LOAD_S, CALL_S, LINGER_S
    LOAD_S, CALL_S, LINGER_S = (c * (QUICK_SCALE if quick else 1.0) for c in FULL_COSTS)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        t_old, loads_old, _ = _run(tmp, "runner-0-1", swap_aware=False)
        t_new, loads_new, db = _run(tmp, "scheduler", swap_aware=True)
        sequences = model_sequences(db)
    calls = sum(len(s) for s in sequences)
    loads_seq = sequential_loads(sequences)
    bound = scs_length([collapse(s) for s in sequences])
    t_seq = loads_seq * LOAD_S + calls * CALL_S
    t_bound = bound * LOAD_S + calls * CALL_S
    detail = {
        "debates": len(sequences), "calls": calls, "distinct_models": len({m for s in sequences for m in s}),
        "load_s": LOAD_S, "call_s": CALL_S, "linger_s": LINGER_S,
        "loads_sequential": loads_seq, "loads_runner_0_1": loads_old, "loads_scheduler": loads_new,
        "loads_lower_bound": bound, "wall_s_sequential": round(t_seq, 2), "wall_s_runner_0_1": round(t_old, 2),
        "wall_s_scheduler": round(t_new, 2), "wall_s_lower_bound": round(t_bound, 2),
    }
    return [
        Figure("model loads, scheduler / lower bound (150 debates, 1 model in memory)",
               round(loads_new / bound, 2), "x", "<= 1.2", loads_new <= 1.2 * bound, detail,
               f"sequential {loads_seq}, 0.1 runner {loads_old}, scheduler {loads_new}, bound {bound}"),
        Figure("wall time, scheduler / lower bound's time", round(t_new / t_bound, 2), "x", "<= 1.1",
               t_new <= 1.1 * t_bound, {}, "the bound's time counts loads and calls only, none of debatelab's own work"),
    ]
