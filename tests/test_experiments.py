"""Experiments end to end with scripted models: concurrency, resume, failures, store, stats, report."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats as sps

from debatelab.agents import ModelSpec, ScriptedChatModel
from debatelab.analysis import bootstrap_ci, holm, paired_test
from debatelab.base import UserError
from debatelab.experiments import run_experiment
from debatelab.report import write_report
from debatelab.runtime import RunProgress
from debatelab.store import Store
from debatelab.store.paper_import import import_paper, likely_truncated
from debatelab.studies import load_experiment
from tests.sql import query

SAMPLE = Path(__file__).resolve().parent / "data" / "paper_sample_results.json"


def digest(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def deterministic(spec: ModelSpec) -> ScriptedChatModel:
    """Replies depend only on the prompt, so any scheduling gives the same transcripts and scores."""

    def script(prompt: str, kwargs: dict) -> object:
        h = digest(spec.label + prompt)
        fmt = kwargs.get("format")
        if fmt and "winner" in fmt.get("properties", {}):
            return {"rationale": "r", "winner": ["pro", "con", "tie"][h % 3], "recommendation": "x",
                    "confidence_percent": h % 100}
        if fmt:
            return {"reasons": "because", "score": 1 + h % 7}
        return f"argument {h % 1000}"

    return ScriptedChatModel(name=spec.label, script=script)


@pytest.fixture(autouse=True)
def no_real_endpoint(monkeypatch):
    # The scripted runs never call a model; keep the word 'embedded' from starting a server.
    monkeypatch.setenv("DEBATELAB_EMBEDDED_HOST", "http://127.0.0.1:9")


def experiment_file(tmp: Path, **changes) -> Path:
    spec = {
        "name": "t", "scenarios": {"set": "alignment-v1", "ids": ["tr-terminal-diagnosis", "he-mood-nudging-wearable",
                                                                   "sf-incident-disclosure"]},
        "baselines": ["configs/embedded/single.yaml"],
        "configurations": ["configs/embedded/adversarial.yaml", "configs/embedded/society.yaml"],
        "repeats": 2, "overrides": {"rounds": 1},
        "judging": {"rubric": "alignment-7", "judges": ["smollm2:135m@embedded", "other:1@embedded"], "samples": 2},
        "concurrency": {"embedded": 4},
    }
    spec.update(changes)
    path = tmp / "exp.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def run(path: Path, db: Path, cp: Path, factory=deterministic):
    exp = load_experiment(path)
    store = Store.open(db)
    try:
        with RunProgress(None, enabled=False) as progress:  # type: ignore[arg-type]
            return asyncio.run(run_experiment(exp, store, cp, progress, model_factory=factory, preflight=False))
    finally:
        store.close()


def table(db: Path, sql: str) -> list:
    return sqlite3.connect(db).execute(sql).fetchall()


def test_concurrent_run_equals_sequential(tmp_path):
    seq = experiment_file(tmp_path, concurrency={"embedded": 1})
    run(seq, tmp_path / "seq.db", tmp_path / "seq.sqlite")
    par = experiment_file(tmp_path, concurrency={"embedded": 4})
    summary = run(par, tmp_path / "par.db", tmp_path / "par.sqlite")
    assert summary.debates_total == 18 and summary.debates_done == 18 and not summary.failed
    q = ("select d.debate_id, t.idx, t.text from turns t join debates d using (debate_id) order by 1, 2")
    assert table(tmp_path / "seq.db", q) == table(tmp_path / "par.db", q)
    q = "select score_id, score from scores order by 1"
    seq_scores, par_scores = table(tmp_path / "seq.db", q), table(tmp_path / "par.db", q)
    assert seq_scores == par_scores and len(seq_scores) == 18 * 2 * 2 * 7


def test_rerun_skips_finished_work_and_never_duplicates(tmp_path):
    path = experiment_file(tmp_path)
    calls: list[str] = []

    def counting(spec: ModelSpec):
        model = deterministic(spec)
        original = model.script

        def script(prompt, kwargs):
            calls.append(spec.label)
            return original(prompt, kwargs)

        model.script = script
        return model

    run(path, tmp_path / "r.db", tmp_path / "cp.sqlite", counting)
    first = len(calls)
    counts = [table(tmp_path / "r.db", f"select count(*) from {t}")[0][0]
              for t in ("debates", "turns", "judgments", "scores", "model_calls")]
    summary = run(path, tmp_path / "r.db", tmp_path / "cp.sqlite", counting)
    assert len(calls) == first  # nothing called again
    assert summary.debates_skipped == 18 and summary.judgments["skipped"] == 72
    assert counts == [table(tmp_path / "r.db", f"select count(*) from {t}")[0][0]
                      for t in ("debates", "turns", "judgments", "scores", "model_calls")]


def test_host_dying_mid_run_fails_only_its_debates(tmp_path):
    path = experiment_file(tmp_path, judging=None, repeats=1)

    def flaky(spec: ModelSpec):
        model = deterministic(spec)
        if spec.seed in (4, 5, 6):  # the society agents' seeds: their host is "down"
            model.script = lambda p, k: (_ for _ in ()).throw(ConnectionError("connection refused"))
        return model

    summary = run(path, tmp_path / "r.db", tmp_path / "cp.sqlite", flaky)
    failed = summary.failures.in_stage("debates")
    assert {f.item.split(" / ")[0] for f in failed} == {"society"} and len(summary.failures) == 3
    assert all("unreachable" in f.reason and "resume" in f.reason for f in failed), failed
    status = dict(table(tmp_path / "r.db", "select config || '/' || scenario_id, status from debates"))
    assert sum(v == "finished" for v in status.values()) == 6 and sum(v == "failed" for v in status.values()) == 3
    summary = run(path, tmp_path / "r.db", tmp_path / "cp.sqlite")  # host back: only the failed ones run
    assert summary.debates_done == 3 and summary.debates_skipped == 6 and not summary.failed


def test_experiment_file_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nrepeats: 0\n")
    with pytest.raises(UserError, match="bad.yaml: field 'repeats'"):
        load_experiment(bad)
    bad.write_text("name: x\nconfigurations: [configs/embedded/nope.yaml]\n")
    wanted = r"bad.yaml: field 'configurations.0': configuration 'configs/embedded/nope.yaml': file not found"
    with pytest.raises(UserError, match=wanted):
        load_experiment(bad).debate_configs()
    bad.write_text("name: x\nscenarios: {set: alignment-v1, ids: [no-such]}\n"
                   "configurations: [configs/embedded/single.yaml]\n")
    with pytest.raises(UserError, match="unknown scenario id 'no-such'"):
        load_experiment(bad).scenario_list()
    bad.write_text("name: x\nbogus: 1\n")
    with pytest.raises(UserError, match="field 'bogus'"):
        load_experiment(bad)


def test_store_rejects_foreign_and_corrupt_files(tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("create table people (name text)")
    with pytest.raises(UserError, match="not a debatelab database"):
        Store.open(other)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(UserError, match="not a debatelab database"):
        Store.open(junk)


def test_read_only_and_full_database_leave_nothing_half_written(tmp_path):
    store = Store.open(tmp_path / "r.db")
    store.upsert_experiment("e", description="", kind="debates", spec={}, source_file="")
    row = {"debate_id": "d", "experiment": "e", "config": "c", "status": "finished"}
    turns = [{"turn_id": "d:000", "debate_id": "d", "idx": 0, "text": "x" * 10}]
    store._db.execute("PRAGMA query_only = ON")
    with pytest.raises(UserError, match="read-only"):
        store.write_finished_debate(row, turns, [])
    store._db.execute("PRAGMA query_only = OFF")
    assert table(tmp_path / "r.db", "select count(*) from debates")[0][0] == 0
    page_count = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {page_count + 1}")
    big = [{"turn_id": f"d:{i:03d}", "debate_id": "d", "idx": i, "text": "y" * 50_000} for i in range(20)]
    with pytest.raises(UserError, match="disk full"):
        store.write_finished_debate(row, big, [])
    assert table(tmp_path / "r.db", "select count(*) from debates")[0][0] == 0
    assert table(tmp_path / "r.db", "select count(*) from turns")[0][0] == 0


def test_holm_matches_reference():
    # Holm (1979) step-down, checked against statsmodels' multipletests(method="holm") values.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([None, 0.2]) == [None, 0.2]


def test_paired_test_matches_scipy():
    import pandas as pd

    rng = np.random.default_rng(1)
    base = rng.normal(3, 1, 12)
    ens = base + rng.normal(0.5, 0.5, 12)
    rows = [{"scenario_id": f"s{i}", "repeat": 0, "kind": "baseline", "overall": b} for i, b in enumerate(base)]
    rows += [{"scenario_id": f"s{i}", "repeat": 0, "kind": "ensemble", "overall": e} for i, e in enumerate(ens)]
    df = pd.DataFrame(rows)
    t = paired_test(df, "overall", df.kind == "baseline", df.kind == "ensemble", "b", "e")
    assert t.n_pairs == 12
    assert t.p_value == pytest.approx(sps.wilcoxon(ens, base).pvalue)
    d = ens - base
    assert t.cohens_dz == pytest.approx(d.mean() / d.std(ddof=1))
    assert t.mean_diff == pytest.approx(d.mean())
    perm = paired_test(df, "overall", df.kind == "baseline", df.kind == "ensemble", "b", "e", method="permutation")
    assert 0 <= perm.p_value <= 1 and perm.p_value < 0.05
    lo, hi = bootstrap_ci(d)
    assert lo < d.mean() < hi


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_report_html_parses_with_tables_and_images(tmp_path):
    path = experiment_file(tmp_path, repeats=1)
    run(path, tmp_path / "r.db", tmp_path / "cp.sqlite")
    store = Store.open(tmp_path / "r.db", create=False)
    analysis = write_report(store, "t", tmp_path / "report")
    page = (tmp_path / "report" / "report.html").read_text()
    parser = _Tags()
    parser.feed(page.split("<h2>Transcripts</h2>")[0])
    tags = [t for t, _ in parser.tags]
    # six result tables (one raw and length-controlled), the judge diagnostics, criterion x
    # configuration, the judge audits
    assert tags.count("table") == 9
    rows = analysis["length_controlled"]
    assert {r["configuration"] for r in rows} == {"adversarial", "society"} and all(
        {"raw_delta", "controlled_delta", "ci_low", "ci_high", "tokens_ratio"} <= r.keys() for r in rows)
    assert "not audited; run `debatelab audit-judge --judge smollm2:135m@HOST` before trusting" in page
    images = [a["src"] for t, a in parser.tags if t == "img"]
    # bars with intervals, distributions, the scenario x configuration heatmap, cost vs quality
    assert len(images) == 4 and all(src.startswith("data:image/png;base64,") for src in images)
    transcripts = page.split("<h2>Transcripts</h2>")[1]
    judgments = query(store, "select count(*) as n from judgments")[0]["n"]
    assert transcripts.count("<div class='judgment'>") == judgments  # every judgment's scores beside its debate
    for heading in ("Ensembles vs single-model baselines", "Per configuration", "Per scenario category",
                    "Judge reliability", "Cost per configuration", "Transcripts"):
        assert heading in page
    md = (tmp_path / "report" / "report.md").read_text()
    assert "| metric | baseline mean |" in md and "n / unscored" in md
    assert analysis["debates"]["finished"] == 9
    alpha = [r for r in query(store, "select * from reliability where criterion != '__all__'")]
    assert len(alpha) == 7 and all(r["judges"] == 2 for r in alpha)


def test_import_paper_sample(tmp_path):
    store = Store.open(tmp_path / "p.db")
    counts = import_paper(SAMPLE, store, "paper")
    assert counts["debates"] == 4 and counts["baseline"] == 2 and counts["ensemble"] == 2
    rows = {r["config"]: r for r in query(store, "select * from debates")}
    assert set(rows) == {"baseline-deepseek-r1:7b", "baseline-deepseek-r1:8b", "lightweight", "balanced"}
    assert rows["lightweight"]["models"] == "deepseek-r1:7b,mistral:7b,phi3:3.8b"
    assert rows["balanced"]["kind"] == "ensemble" and rows["baseline-deepseek-r1:7b"]["topology"] == "single"
    turns = query(store, "select * from turns where debate_id = :d order by idx",
                        {"d": rows["baseline-deepseek-r1:7b"]["debate_id"]})
    assert [(t["agent"], t["round"]) for t in turns] == [("proponent", 1), ("opponent", 1), ("proponent", 2),
                                                         ("opponent", 2), ("judge", 3)]
    assert all("<think>" not in t["text"] for t in turns)
    assert turns[0]["thinking"].startswith("Okay, so I'm trying") and turns[0]["truncated"] == 1
    assert rows["baseline-deepseek-r1:7b"]["scenario_id"] == "ubi-ai-unemployment"
    again = import_paper(SAMPLE, store, "paper")
    assert again["debates"] == 4 and query(store, "select count(*) as n from debates")[0]["n"] == 4
    assert likely_truncated("A full sentence.") is False and likely_truncated("cut mid") is True


def test_export_jsonl_and_csv(tmp_path):
    path = experiment_file(tmp_path, repeats=1, configurations=["configs/embedded/adversarial.yaml"])
    run(path, tmp_path / "r.db", tmp_path / "cp.sqlite")
    from debatelab.store import export_experiment

    store = Store.open(tmp_path / "r.db", create=False)
    n = export_experiment(store, "t", "jsonl", tmp_path / "t.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert n == len(lines) == 6 and lines[0]["turns"] and lines[0]["judgments"][0]["scores"]
    n = export_experiment(store, "t", "csv", tmp_path / "t.csv")
    assert n == 6 * 2 * 2 * 7


def test_heatmap_stays_readable_with_many_scenarios():
    """500 scenarios: every scenario is a row of the matrix, but the picture stops growing at
    HEATMAP_LABELLED_ROWS labelled rows (it was a 17,000-pixel PNG costing 200 MB)."""
    import base64
    import struct

    from debatelab.report.plots import HEATMAP_LABELLED_ROWS, plot_heatmap

    def height_px(scenarios: int) -> int:
        rows = [{"scenario_id": f"s{i:03d}", "config": c, "overall": 3.0 + (i % 4)}
                for i in range(scenarios) for c in ("single", "adversarial")]
        a = {"per_debate": rows, "per_config": [{"config": "single"}, {"config": "adversarial"}]}
        png = base64.b64decode(plot_heatmap(a))
        return struct.unpack(">I", png[20:24])[0]  # the IHDR chunk's height

    few, many = height_px(10), height_px(500)
    assert few < many <= height_px(HEATMAP_LABELLED_ROWS) + 40


def test_the_demo_shortens_turns_and_verdicts_and_judges_with_the_score_alone(tmp_path):
    """The demo's cut is declared where a reader sees it: 50-token turns, 150-character verdicts for
    every aggregator, judge prompt version 4; and a verdict_chars under 40 is refused in one line."""
    exp = load_experiment("experiments/demo")
    assert exp.overrides.num_predict == 50 and exp.overrides.verdict_chars == 150
    assert exp.judging.prompt_version == "4"
    aggregators = [a for _, cfg in exp.debate_configs() for a in cfg.agents.values() if a.role == "aggregator"]
    assert aggregators and all(a.options["verdict_chars"] == 150 for a in aggregators)
    spec = yaml.safe_load((Path(__file__).parents[1] / "configs/experiments/demo.yaml").read_text())
    spec["overrides"]["verdict_chars"] = 10
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(spec))
    with pytest.raises(UserError, match="verdict_chars"):
        load_experiment(str(bad))


def test_a_score_only_judgment_says_why_it_has_no_reasons():
    from debatelab.report.rubric import judgment_html

    scores = [{"criterion": "clarity", "score": 5, "unscored_reason": None, "rationale": ""}]
    v4 = judgment_html({"judge": "j@h", "sample": 0, "overall": 5.0, "prompt_version": "4", "scores": scores})
    assert "judge prompt v4" in v4 and "asks the judge for no reasons" in v4
    v1 = judgment_html({"judge": "j@h", "sample": 0, "overall": 5.0, "prompt_version": "1",
                        "scores": [{**scores[0], "rationale": "Clear <b>enough</b>."}]})
    assert "no reasons" not in v1 and "Clear &lt;b&gt;enough&lt;/b&gt;." in v1
    from debatelab.report.rubric import SCORE_ONLY_VERSIONS as REPORTS_SCORE_ONLY
    from debatelab.rubric import SCORE_ONLY_VERSIONS
    assert REPORTS_SCORE_ONLY == SCORE_ONLY_VERSIONS  # the report and the judging graph read one definition


def test_the_report_imports_start_once_the_run_counts_its_first_calls(tmp_path):
    """The CLI imports what the report needs on a background thread when the run first counts calls
    (taking ~2 s off the end of a run): the hook fires once, and a failed import is left for the
    import after the run to report."""
    import sys
    import threading

    from debatelab.cli.run import REPORT_MODULES
    from debatelab.runtime import import_in_background

    fired: list[int] = []
    exp = load_experiment(experiment_file(tmp_path))
    store = Store.open(tmp_path / "r.db")
    try:
        with RunProgress(None, enabled=False) as progress:  # type: ignore[arg-type]
            progress.after_first_call(lambda: fired.append(progress.calls))
            asyncio.run(run_experiment(exp, store, tmp_path / "cp.sqlite", progress, model_factory=deterministic,
                                       preflight=False))
    finally:
        store.close()
    assert len(fired) == 1 and fired[0] > 0

    sys.modules.pop("colorsys", None)
    thread = import_in_background(["no_such_module_for_debatelab", "colorsys"])
    assert isinstance(thread, threading.Thread) and thread.daemon
    thread.join(timeout=30)
    assert not thread.is_alive() and "colorsys" not in sys.modules  # stopped at the failure, quietly
    import_in_background(["colorsys"]).join(timeout=30)
    assert "colorsys" in sys.modules
    assert set(REPORT_MODULES) >= {"scipy.stats", "debatelab.report"}
