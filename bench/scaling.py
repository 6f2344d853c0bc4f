"""Concurrency scaling: `debatelab run` against a simulated model with K parallel slots, vs a
sequential loop issuing the same calls one by one (how the original study ran).

The simulated engine sits behind the real embedded HTTP server (`serve-embedded --simulate`):
it answers after a fixed latency per token with K slots, so the only thing that differs between
the two measurements is scheduling.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

from langchain_core.messages import HumanMessage

from bench.common import Figure, write_experiment
from debatelab.agents import ModelSpec, make_chat_model
from debatelab.agents.embedded import ENV_HOST, EmbeddedEndpoint
from debatelab.experiments import run_experiment
from debatelab.runtime import RunProgress
from debatelab.store import Store
from debatelab.studies import load_experiment

LATENCY_S, TOKENS = 0.01, 20  # 0.2 s per call


def _sequential(calls: int) -> float:
    spec = ModelSpec(model="smollm2:135m", host="embedded", num_predict=TOKENS)
    model = make_chat_model(spec)
    start = time.perf_counter()
    for i in range(calls):
        model.invoke([HumanMessage(f"call {i}")])
    return time.perf_counter() - start


def _floor(url: str, k: int, calls: int) -> float:
    """The same number of bare HTTP calls, K at a time, with no framework: what the server and
    this machine allow at best (the runner cannot beat it)."""
    import httpx

    async def go() -> float:
        sem = asyncio.Semaphore(k)
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=k)) as client:
            async def one(i: int) -> None:
                async with sem:
                    await client.post(f"{url}/api/chat", json={
                        "model": "smollm2:135m", "stream": False, "options": {"num_predict": TOKENS},
                        "messages": [{"role": "user", "content": f"floor {i}"}]})

            start = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(calls)))
            return time.perf_counter() - start

    return asyncio.run(go())


def _runner(tmp: Path, k: int, debates: int) -> tuple[float, int, int]:
    ids = ["tr-terminal-diagnosis", "he-mood-nudging-wearable", "sf-incident-disclosure", "gv-compute-licensing"]
    exp_path = write_experiment(
        tmp / f"scale{k}.yaml", name=f"scale-{k}", scenarios={"set": "alignment-v1", "ids": ids},
        configurations=["configs/embedded/adversarial.yaml"], repeats=max(1, -(-debates // len(ids))),
        overrides={"rounds": 1, "num_predict": TOKENS}, judging=None, concurrency={"embedded": k},
    )
    exp = load_experiment(exp_path)
    store = Store.open(tmp / f"scale{k}.db")
    with RunProgress(None, enabled=False) as progress:  # type: ignore[arg-type]
        start = time.perf_counter()
        summary = asyncio.run(run_experiment(exp, store, tmp / f"scale{k}.sqlite", progress))
        elapsed = time.perf_counter() - start
    store.close()
    return elapsed, summary.calls, summary.debates_done


def run(quick: bool) -> list[Figure]:
    figures = []
    for k in (1, 2, 4, 8):
        debates = 6 * k if quick else 12 * k
        with tempfile.TemporaryDirectory() as tmp, EmbeddedEndpoint(parallel=k, simulate=f"{LATENCY_S}:{TOKENS}") as url:
            old = os.environ.get(ENV_HOST)
            os.environ[ENV_HOST] = url
            try:
                t_run, calls, debates = _runner(Path(tmp), k, debates)
                seq_calls = min(calls, 24)  # a rate: every call takes the same simulated time
                t_seq = _sequential(seq_calls) * calls / seq_calls
                t_floor = _floor(url, k, calls)
            finally:
                if old is None:
                    os.environ.pop(ENV_HOST, None)
                else:
                    os.environ[ENV_HOST] = old
        speedup = (calls / t_run) / (calls / t_seq)
        figures.append(Figure(
            f"concurrency scaling K={k}", round(speedup, 2), "x sequential", f">= {0.9 * k:.1f}",
            speedup >= 0.9 * k,
            detail={"calls": calls, "debates": debates, "runner_s": round(t_run, 2), "sequential_s": round(t_seq, 2),
                    "runner_calls_per_s": round(calls / t_run, 2), "sequential_calls_per_s": round(calls / t_seq, 2),
                    "bare_http_floor_s": round(t_floor, 2), "floor_speedup": round(t_seq / t_floor, 2),
                    "runner_vs_floor": round(t_floor / t_run, 2),
                    "simulated_latency_per_call_s": LATENCY_S * TOKENS},
        ))
    return figures
