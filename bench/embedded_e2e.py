"""Embedded end to end: wall time and tokens/s of `debatelab demo` on SmolLM2-135M.

--quick runs one adversarial debate and one judgment through the CLI instead of the whole demo
(the demo alone takes about two minutes on two cores); the full run measures the demo itself.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Figure, write_experiment


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
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            return [Figure("embedded end to end", None, "s", "runs", False, note=proc.stderr[-300:])]
        con = sqlite3.connect(db)
        calls, out_tokens, model_s = con.execute(
            "select sum(calls), sum(output_tokens), sum(duration_s) from model_calls").fetchone()
    return [Figure(
        "embedded end to end" + (" (quick)" if quick else ": demo"), round(wall, 1), "s",
        "demo < 180 s" if not quick else "reported", wall < 180 if not quick else True,
        detail={"what": what, "model_calls": calls, "output_tokens": out_tokens,
                "output_tokens_per_wall_s": round(out_tokens / wall, 1),
                "output_tokens_per_model_s": round(out_tokens / model_s, 1) if model_s else None},
    )]
