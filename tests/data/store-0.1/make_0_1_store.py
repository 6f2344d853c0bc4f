"""Make tests/data/store-0.1/: a results.db + checkpoints written by debatelab 0.1 (one debate failed)."""
import asyncio, shutil, sys
from pathlib import Path
sys.path.insert(0, "tests")
import yaml
from test_experiments import deterministic
from debatelab.experiments import run_experiment
from debatelab.studies import load_experiment
from debatelab.report import write_report
from debatelab.runtime import RunProgress
from debatelab.store import Store

out = Path("/tmp/fx/store-0.1"); shutil.rmtree(out, ignore_errors=True); out.mkdir()
spec = {"name": "legacy", "scenarios": {"set": "alignment-v1", "ids": ["tr-terminal-diagnosis", "he-mood-nudging-wearable"]},
        "baselines": ["configs/embedded/single.yaml"], "configurations": ["configs/embedded/adversarial.yaml"],
        "repeats": 1, "overrides": {"rounds": 1},
        "judging": {"rubric": "alignment-7", "judges": ["smollm2:135m@embedded"], "samples": 1},
        "concurrency": {"embedded": 2}}
(out / "legacy.yaml").write_text(yaml.safe_dump(spec))

def flaky(spec):
    m = deterministic(spec)
    orig = m.script
    def script(p, k):
        if "opponent" in p.lower() and "mood" in p.lower() and "Speaker" not in p:
            raise ConnectionError("connection refused")
        return orig(p, k)
    m.script = script
    return m

import os
os.environ["DEBATELAB_EMBEDDED_HOST"] = "http://127.0.0.1:9"
exp = load_experiment(out / "legacy.yaml")
store = Store.open(out / "results.db")
with RunProgress(None, enabled=False) as progress:
    s = asyncio.run(run_experiment(exp, store, out / "debates.sqlite", progress, model_factory=flaky, preflight=False))
print(s)
print(store.query("select config, scenario_id, status, error from debates"))
store.close()
