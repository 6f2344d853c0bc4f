"""report.json stays the same for the same store: the committed store (the shipped demo run with
scripted models, tests/data/golden/make_golden.py) was reported by 0.3's code, and again by 0.4's
when the scenario became the unit of analysis (intervals on scenario means, pairs per scenario,
effect sizes and length control "too few" below their minimum n, judge diagnostics: a change
made on purpose, in CHANGELOG.md). The current code must write the same figures from it. A
refactor that moves a number fails here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from debatelab.store import Store
from debatelab.studies import study_of_experiment

GOLDEN = Path(__file__).parent / "data" / "golden"


def test_the_demo_store_reports_what_0_4_reported(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    shutil.copy(GOLDEN / "demo.db", db)  # a copy: the committed file stays as it is
    with Store.open(db, create=False) as store:
        study = study_of_experiment(store.require_experiment("demo"))
        study.report(store, "demo", tmp_path / "report")
    written = json.loads((tmp_path / "report" / "report.json").read_text())
    expected = json.loads((GOLDEN / "report.json").read_text())
    assert study.name == "debates"
    assert written["per_config"] and written["paper_table"]  # a report with figures, not an empty one
    assert written == expected


def test_a_table_written_to_a_pipe_keeps_whole_headers(tmp_path: Path) -> None:
    """Captured in a log (not a terminal), the summary table is as wide as it needs: rich would
    otherwise cut it at 80 columns ("unscor…")."""
    import os
    import subprocess
    import sys

    shutil.copy(GOLDEN / "demo.db", tmp_path / "demo.db")
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run([sys.executable, "-m", "debatelab", "report", "demo", "--db", "demo.db", "--out", "rep"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    header = next(line for line in done.stdout.splitlines() if "configuration" in line)
    assert all(word in header for word in ("configuration (kind)", "overall [95% CI]", "unscored", "Δ vs baseline",
                                           "p (Holm)")), header
    assert "…" not in done.stdout
