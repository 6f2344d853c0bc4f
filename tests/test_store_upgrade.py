"""A results database and checkpoint file written by debatelab 0.1 open, resume and report as 0.1 did.

tests/data/store-0.1 was made by 0.1's own code (see its README): two debates there failed mid-way
and left checkpoints. Today's code must upgrade the store in place (ISO timestamps, foreign keys,
schema version 2), resume those debates with the same number of model calls 0.1 needed, and
write the same report.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from debatelab.experiments import run_experiment
from debatelab.report import write_report
from debatelab.runtime import RunProgress
from debatelab.store import SCHEMA_VERSION, Store
from debatelab.studies import load_experiment
from tests.sql import query
from tests.test_experiments import deterministic

LEGACY = Path(__file__).resolve().parent / "data" / "store-0.1"
CALLS_0_1_NEEDED_TO_RESUME = 18  # measured with 0.1's code on the same files (README there)


@pytest.fixture
def legacy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DEBATELAB_EMBEDDED_HOST", "http://127.0.0.1:9")  # scripted models only
    work = tmp_path / "legacy"
    shutil.copytree(LEGACY, work)
    return work


def _without_generated_line(text: str) -> str:
    """The report without its time stamp and without the sections 0.2 added (judge audits, the
    criterion x configuration table, human raters; 0.3 the raw and length-controlled differences;
    0.4 the judge diagnostics) or redefined (0.4: the scenario became the unit of analysis, so the
    intervals and pairs of the paper's view, per configuration and per category changed on purpose;
    test_golden_report pins them); every other line must be as 0.1 wrote it."""
    text = re.sub(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "Generated <time>", text)
    text = re.sub(r"\nHuman raters: none yet\.[^\n]*\n\n?", "\n", text)
    added = (r"Judge audits|Criterion x configuration|Raw and length-controlled|Judge diagnostics|Ensembles vs "
             r"single-model|Per configuration|Per scenario category")
    text = re.sub(rf"\n### ({added})[^\n]*\n.*?(?=\n### |\nTranscripts: )", "\n", text,
                  flags=re.S)
    return re.sub(r"\n{3,}", "\n\n", text)


def test_a_0_1_store_is_upgraded_in_place(legacy: Path) -> None:
    before = sqlite3.connect(legacy / "results.db").execute("select count(*) from turns").fetchone()[0]
    store = Store.open(legacy / "results.db")
    try:
        assert store.schema_version() == SCHEMA_VERSION
        started = query(store, "select started_at from debates where started_at is not null")
        assert started and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", r["started_at"])
                               for r in started)
        fks = {(fk.table, fk.column, fk.other_table) for name in ("turns", "judgments", "scores", "model_calls")
               for fk in store._db.table(name).foreign_keys}
        assert {("turns", "debate_id", "debates"), ("judgments", "debate_id", "debates"),
                ("scores", "judgment_id", "judgments"), ("model_calls", "debate_id", "debates"),
                ("model_calls", "judgment_id", "judgments")} <= fks
        assert query(store, "select count(*) as n from turns")[0]["n"] == before
        assert store._db.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        store.close()
    Store.open(legacy / "results.db").close()  # opening again changes nothing


def test_a_0_1_run_resumes_and_reports_as_0_1_did(legacy: Path) -> None:
    calls: list[str] = []

    def counting(spec):  # noqa: ANN001, ANN202
        model = deterministic(spec)
        original = model.script

        def script(prompt, kwargs):  # noqa: ANN001, ANN202
            calls.append(spec.label)
            return original(prompt, kwargs)

        model.script = script
        return model

    exp = load_experiment(legacy / "legacy.yaml")
    store = Store.open(legacy / "results.db")
    try:
        with RunProgress(None, enabled=False) as progress:  # type: ignore[arg-type]
            summary = asyncio.run(run_experiment(exp, store, legacy / "debates.sqlite", progress,
                                                 model_factory=counting, preflight=False))
        assert summary.debates_skipped == 2 and summary.debates_done == 2 and not summary.failed
        assert len(calls) == CALLS_0_1_NEEDED_TO_RESUME  # the proponents' finished turns were not redone
        write_report(store, "legacy", legacy / "report")
    finally:
        store.close()
    got = _without_generated_line((legacy / "report" / "report.md").read_text())
    want = _without_generated_line((LEGACY / "expected-report.md").read_text())
    assert got == want
