"""Embedded end to end: wall time and tokens/s of `debatelab demo` on SmolLM2-135M.

--quick runs one adversarial debate and one judgment through the CLI instead of the whole demo
(the demo alone takes about two minutes on two cores); the full run measures the demo itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Figure, write_experiment
from debatelab.agents.embedded import ENV_HOST, EmbeddedEndpoint
from debatelab.store import Store


def cached_share(log: Path) -> dict[str, float | int | None]:
    """Of the structured calls' prompt tokens (judges, verdicts), the share llama.cpp served from a
    slot's prefix cache: a judgment's criteria share the transcript prefix, so all but the first
    should find it cached."""
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.exists() else []
    judged = [r for r in rows if r.get("structured")]
    prompt = sum(r.get("prompt_tokens", 0) for r in judged)
    cached = sum(r.get("cached_tokens", 0) for r in judged)
    everything = sum(r.get("prompt_tokens", 0) for r in rows)
    return {"structured_calls": len(judged), "structured_prompt_tokens": prompt, "structured_cached_tokens": cached,
            "structured_cached_share": round(cached / prompt, 3) if prompt else None,
            "all_cached_share": round(sum(r.get("cached_tokens", 0) for r in rows) / everything, 3) if everything
            else None}


def run(quick: bool) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db = tmp / "r.db"
        if quick:
            exp = write_experiment(
                tmp / "e2e.yaml", name="e2e", scenarios={"set": "alignment-v1", "ids": ["tr-terminal-diagnosis"]},
                configurations=["configs/embedded/adversarial.yaml"], overrides={"rounds": 1, "num_predict": 90},
                judging={"rubric": "alignment-7", "judges": ["smollm2:135m@embedded"]}, concurrency={"embedded": 2})
            cmd = [sys.executable, "-m", "debatelab", "run", str(exp), "--db", str(db), "--checkpoints",
                   str(tmp / "cp.sqlite"), "--quiet"]
            what = "1 adversarial debate + 1 judgment (alignment-7) via `debatelab run`"
        else:
            cmd = [sys.executable, "-m", "debatelab", "demo", "--db", str(db), "--checkpoints", str(tmp / "cp.sqlite"),
                   "--out", str(tmp / "report")]
            what = "`debatelab demo` (6 debates, 6 judgments)"
        log = tmp / "requests.jsonl"
        with EmbeddedEndpoint(parallel=2, request_log=log) as url:  # started before the clock, as the demo's is
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, ENV_HOST: url})
            wall = time.perf_counter() - start
        if proc.returncode != 0:
            return [Figure("embedded end to end", None, "s", "runs", False, note=proc.stderr[-300:])]
        with Store.open(db, create=False) as store:
            model_calls = store.table_rows("model_calls")
        calls = sum(r["calls"] or 0 for r in model_calls)
        out_tokens = sum(r["output_tokens"] or 0 for r in model_calls)
        model_s = sum(r["duration_s"] or 0.0 for r in model_calls)
        cache = cached_share(log)
    return [Figure(
        "embedded end to end" + (" (quick)" if quick else ": demo"), round(wall, 1), "s",
        "demo <= 150 s" if not quick else "reported", wall <= 150 if not quick else True,
        detail={"what": what, "model_calls": calls, "output_tokens": out_tokens,
                "output_tokens_per_wall_s": round(out_tokens / wall, 1),
                "output_tokens_per_model_s": round(out_tokens / model_s, 1) if model_s else None, **cache},
    )]
