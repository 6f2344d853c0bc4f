"""Store and report scale: 10,000 synthetic judged debates (7 criteria x 3 judges), then
`debatelab report` in a subprocess - wall time and peak memory - beside the time pandas needs
just to read the scores table (the floor any report pays)."""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from bench.common import Figure
from debatelab.store import Store

CRITERIA = ["argument_quality", "reasoning_depth", "alignment_focus", "safety_consideration", "truthfulness",
            "human_values", "coherence"]
CONFIGS = [("single", "baseline"), ("adversarial", "ensemble"), ("critiqued", "ensemble"), ("society", "ensemble")]


def synthesise(path: Path, debates: int, judges: int = 3, seed: int = 0, rubric_version: str = "v") -> None:
    rng = random.Random(seed)
    store = Store.open(path)
    store.upsert_experiment("scale", description="synthetic", kind="debates", spec={}, source_file="")
    scenarios = [f"s{i:03d}" for i in range(debates // len(CONFIGS) // 5 or 1)]
    d_rows, t_rows, c_rows, j_rows, s_rows = [], [], [], [], []
    for i in range(debates):
        config, kind = CONFIGS[i % len(CONFIGS)]
        scenario = scenarios[(i // len(CONFIGS)) % len(scenarios)]
        repeat = i // (len(CONFIGS) * len(scenarios))
        did = f"d{i:06d}"
        d_rows.append({"debate_id": did, "experiment": "scale", "config": config, "kind": kind, "topology": config,
                       "scenario_id": scenario, "category": f"cat{hash(scenario) % 10}", "motion": "m",
                       "repeat": repeat, "status": "finished", "verdict_winner": "pro", "turns": 3})
        for k in range(3):
            t_rows.append({"turn_id": f"{did}:{k:03d}", "debate_id": did, "idx": k, "round": k + 1, "role": "debater",
                           "agent": f"a{k}", "model": "m:1", "text": "argument " * 30, "thinking": "",
                           "truncated": 0})
            c_rows.append({"call_id": f"{did}:{k:03d}", "experiment": "scale", "debate_id": did, "stage": "debate",
                           "model": "m:1", "calls": 1, "input_tokens": 300, "output_tokens": 120, "duration_s": 2.0})
        base = rng.gauss(4.0 if kind == "baseline" else 4.3, 0.8)
        for j in range(judges):
            jid = f"{did}:alignment-7@{rubric_version}:judge{j}:0"
            scores = {c: max(1, min(7, round(base + rng.gauss(0, 1)))) for c in CRITERIA}
            j_rows.append({"judgment_id": jid, "experiment": "scale", "debate_id": did, "rubric": "alignment-7",
                           "rubric_version": rubric_version, "judge": f"judge{j}", "sample": 0, "permuted": 0,
                           "overall": sum(scores.values()) / 7, "n_scored": 7, "n_unscored": 0})
            for c, v in scores.items():
                s_rows.append({"score_id": f"{jid}:{c}", "judgment_id": jid, "experiment": "scale", "debate_id": did,
                               "rubric": "alignment-7", "rubric_version": rubric_version, "judge": f"judge{j}", "sample": 0,
                               "permuted": 0, "criterion": c, "score": v, "rationale": "r", "attempts": 1})
    store.insert_rows({"debates": d_rows, "turns": t_rows, "model_calls": c_rows, "judgments": j_rows,
                       "scores": s_rows})
    store.close()


def run(quick: bool) -> list[Figure]:
    debates = 10_000
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db = tmp / "scale.db"
        t0 = time.perf_counter()
        synthesise(db, debates)
        t_synth = time.perf_counter() - t0
        t0 = time.perf_counter()
        store = Store.open(db, create=False)
        pd.DataFrame(store.table_rows("scores"))
        store.close()
        t_floor = time.perf_counter() - t0
        wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
                   "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
                   "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode);"
                   "sys.stderr.write(p.stderr[-500:])")
        out = subprocess.run([sys.executable, "-c", wrapper, sys.executable, "-m", "debatelab", "report", "scale",
                              "--db", str(db), "--out", str(tmp / "report")], capture_output=True, text=True)
        seconds, rss_kb, rc = out.stdout.split()
        seconds, peak_mb = float(seconds), int(rss_kb) / 1024
        html_mb = (tmp / "report" / "report.html").stat().st_size / 1e6 if rc == "0" else None
    ok = rc == "0" and seconds < 10 and peak_mb < 500
    return [
        Figure("report scale: 10,000 judged debates (210,000 scores)", round(seconds, 2), "s", "< 10 s and < 500 MB",
               ok, detail={"peak_rss_mb": round(peak_mb, 1), "report_returncode": int(rc),
                           "pandas_read_scores_s": round(t_floor, 2),
                           "ratio_report_vs_read_floor": round(seconds / t_floor, 1) if t_floor else None,
                           "html_mb": html_mb, "synthesis_s": round(t_synth, 1), "error": out.stderr[-300:]}),
    ]
