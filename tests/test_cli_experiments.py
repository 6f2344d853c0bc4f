"""The experiment CLI: demo end to end on the embedded model, and clear errors."""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, run_cli

SAMPLE = Path(__file__).resolve().parent / "data" / "paper_sample_results.json"


cli = functools.partial(run_cli, timeout=120)


@pytest.mark.real_model
def test_demo_end_to_end(embedded_env, tmp_path):
    """The shipped demo's experiment on the real model, cut to its first scenario, its baseline and
    first ensemble, and a one-item audit (2 debates, their judgments, 2 audit calls): every stage,
    criteria the real judge scored, the report and a re-run that calls nothing. The full demo
    (`debatelab demo`, 6 debates) is the README's command and experiments.sh runs it."""
    url, log = embedded_env
    spec = yaml.safe_load((ROOT / "configs/experiments/demo.yaml").read_text())
    spec["scenarios"]["ids"] = spec["scenarios"]["ids"][:1]
    spec["configurations"] = spec["configurations"][:1]
    spec["judging"]["audit"]["n"] = 1
    demo = tmp_path / "demo.yaml"
    demo.write_text(yaml.safe_dump(spec))
    db, cp, out = tmp_path / "r.db", tmp_path / "cp.sqlite", tmp_path / "report"
    proc = cli("run", str(demo), "--db", str(db), "--checkpoints", str(cp), "--report", str(out), timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "overall [95% CI]" in proc.stdout
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
    con = sqlite3.connect(db)
    assert con.execute("select count(*) from debates where status = 'finished'").fetchone()[0] == 2
    assert con.execute("select count(*) from scores").fetchone()[0] == 2 * 7
    scored = con.execute("select count(*) from scores where score is not null").fetchone()[0]
    assert scored >= 2 * 7 / 2, f"the real judge scored only {scored} of 14 criteria"
    assert con.execute("select count(*) from audit_calls").fetchone()[0] == 2  # 1 item, both orders
    assert "judge smollm2:135m - accuracy on factual-summary-pairs" in proc.stdout
    assert "accuracy on factual-summary-pairs" in (out / "report.md").read_text()
    before = len(log.read_text().splitlines())
    again = cli("run", str(demo), "--db", str(db), "--checkpoints", str(cp), "--quiet")
    assert again.returncode == 0, again.stderr
    assert len(log.read_text().splitlines()) == before  # a re-run makes no model call
    status = cli("status", "--db", str(db))
    assert "demo" in status.stdout and status.returncode == 0
    report = cli("report", "demo", "--db", str(db), "--out", str(tmp_path / "r2"))
    assert report.returncode == 0 and (tmp_path / "r2" / "report.html").is_file()
    assert "Run the demo experiment on the embedded model" in cli("demo", "--help").stdout


def test_import_paper_and_report_cli(tmp_path):
    db = tmp_path / "p.db"
    proc = cli("import-paper", str(SAMPLE), "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    assert "imported 4 debates" in proc.stdout
    report = cli("report", "paper-2509.00091", "--db", str(db), "--out", str(tmp_path / "rep"))
    assert report.returncode == 0, report.stderr
    assert "lightweight" in (tmp_path / "rep" / "report.html").read_text()
    export = cli("export", "paper-2509.00091", "--db", str(db), "--out", str(tmp_path / "p.jsonl"))
    assert export.returncode == 0 and len((tmp_path / "p.jsonl").read_text().splitlines()) == 4


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "configs/experiments/nope.yaml"], "file not found"),
        (["report", "nope", "--db", "/nonexistent/r.db"], "not found"),
        (["import-paper", str(ROOT / "pyproject.toml")], "invalid JSON"),
        (["export", "x", "--format", "xml"], "use jsonl, csv or parquet"),
    ],
)
def test_cli_errors(args, message):
    proc = cli(*args)
    assert proc.returncode != 0 and message in proc.stderr and "Traceback" not in proc.stderr


def test_cli_foreign_database(tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("create table people (name text)")
    proc = cli("status", "--db", str(other))
    assert proc.returncode != 0 and "not a debatelab database" in proc.stderr
