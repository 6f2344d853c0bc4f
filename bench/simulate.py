"""`debatelab simulate` fast enough to plan with: 500 simulated oversight studies of 60 questions
(20 passages) x 3 protocols x 2 judges x 2 debaters, each stored and analysed by the report's own
code, beside the time of one study's analysis alone (the floor the simulator pays per study)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import yaml

from bench.common import Figure
from debatelab.studies import load_experiment, study_named

TARGET_S = 120.0
EXPERIMENT = {"name": "bench-sim", "kind": "oversight", "questions": {"set": "boolq", "n": 60, "seed": 0},
              "protocols": ["naive", "consultancy", "debate"], "rounds": 1,
              "debaters": [{"model": "a@embedded", "name": "d1"}, {"model": "b@embedded", "name": "d2"}],
              "judges": ["j1@embedded", "j2@embedded"]}
TRUTH = {"questions": 60, "passages": 20, "accuracy": {"naive": 0.5, "consultancy": 0.6, "debate": 0.78},
         "question_sd": 1.0, "passage_sd": 0.5, "judges": [0.0, -0.4], "debaters": [0.0, 0.8], "side_gap": 0.4,
         "position_bias": 0.3, "unanswered": 0.05}


def run(quick: bool) -> list[Figure]:
    studies = 100 if quick else 500
    with tempfile.TemporaryDirectory() as tmp:
        exp_path, truth_path = Path(tmp) / "ov.yaml", Path(tmp) / "truth.yaml"
        exp_path.write_text(yaml.safe_dump(EXPERIMENT))
        truth_path.write_text(yaml.safe_dump(TRUTH))
        exp = load_experiment(exp_path)
        study_named("oversight").simulate(exp, truth_path, studies=2, seed=1)  # imports (scipy) paid before timing
        t0 = time.perf_counter()
        out = study_named("oversight").simulate(exp, truth_path, studies=studies, seed=0)
        seconds = time.perf_counter() - t0
    scaled = seconds * 500 / studies
    return [Figure("500 simulated oversight studies (60 q x 3 protocols x 2 judges)", round(scaled, 1), "s",
                   f"<= {TARGET_S:.0f} s", scaled <= TARGET_S,
                   {"studies_run": studies, "seconds": round(seconds, 1), "per_study_ms": round(1000 * seconds / studies, 1),
                    "verdicts_per_study": out["design"]["verdicts_per_study"], "intervals": len(out["estimates"]),
                    "mean_coverage": out["mean_coverage"]},
                   "quick runs 100 studies and scales to 500" if quick else "")]
