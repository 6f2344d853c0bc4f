"""Build the golden store and its report.json: the shipped demo experiment run with scripted,
deterministic models (replies depend only on the prompt), then its report written.

Run with the debatelab to compare against importable (0.3's code made the committed files):
    python tests/data/golden/make_golden.py tests/data/golden
tests/test_golden_report.py writes the report from the committed store with the current code and
requires the same report.json: a refactor that changes a figure fails there.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("DEBATELAB_EMBEDDED_HOST", "http://127.0.0.1:9")  # scripted: never start a server


# A copy of tests/test_experiments.deterministic, not an import of it: this script must also run
# against an older debatelab (the golden files came from 0.3), whose tests module it cannot load.
def deterministic(spec):  # noqa: ANN001, ANN201 - a script, not the package
    from debatelab.agents import ScriptedChatModel

    def script(prompt: str, kwargs: dict) -> object:
        h = int(hashlib.sha256((spec.label + prompt).encode()).hexdigest()[:8], 16)
        fmt = kwargs.get("format")
        if fmt and "winner" in fmt.get("properties", {}):
            return {"rationale": "r", "winner": ["pro", "con", "tie"][h % 3], "recommendation": "x",
                    "confidence_percent": h % 100}
        if fmt:
            return {"reasons": "because", "score": 1 + h % 7}
        return f"argument {h % 1000}"

    return ScriptedChatModel(name=spec.label, script=script)


def main(out: Path) -> None:
    import debatelab.experiments as experiments
    from debatelab.report import write_report
    from debatelab.runtime import RunProgress
    from debatelab.store import Store

    try:
        from debatelab.studies import load_experiment
    except ImportError:  # 0.3
        load_experiment = experiments.load_experiment
    db, cp = out / "demo.db", out / "cp.sqlite"
    for p in (db, cp):
        p.unlink(missing_ok=True)
    exp = load_experiment("experiments/demo")
    with Store.open(db) as store:
        with RunProgress(None, enabled=False) as progress:  # type: ignore[arg-type]
            asyncio.run(experiments.run_experiment(exp, store, cp, progress, model_factory=deterministic,
                                                   preflight=False))
        analysis = write_report(store, "demo", out / "report")
    (out / "report.json").write_text(json.dumps(analysis, indent=2, default=str, sort_keys=True) + "\n")
    for p in (cp, *(out / "report").iterdir()):
        p.unlink()
    (out / "report").rmdir()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
