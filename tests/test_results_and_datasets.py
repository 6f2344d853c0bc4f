"""`debatelab.results` (DataFrames for notebooks), `debatelab export --format parquet` (a data set
with a card) and `debatelab schema` (JSON Schema for editors), on a store whose numbers are known."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

import debatelab.results as R
from debatelab.base import UserError
from debatelab.rubric import load_rubric
from debatelab.studies import SCHEMA_NAMES, json_schema, schema_text, shipped_schema_text
from tests.conftest import ROOT, run_cli
from tests.viewer_store import EXPERIMENT, JUDGE, build_view_store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_view_store(tmp_path)


def test_every_stored_table_is_a_dataframe_with_the_schema_columns(db: Path) -> None:
    rubric = load_rubric("alignment-7")
    with R.open(db) as r:
        debates, turns, scores = r.debates(EXPERIMENT), r.turns(EXPERIMENT), r.scores(EXPERIMENT)
        assert isinstance(debates, pd.DataFrame) and len(debates) == 4
        assert list(turns.columns[:3]) == ["turn_id", "debate_id", "idx"] and "text" in turns.columns
        assert turns.groupby("debate_id").idx.apply(lambda s: list(s) == sorted(s)).all()  # in order
        assert len(scores) == 4 * len(rubric.criteria) and set(scores.judge) == {JUDGE}
        assert len(r.judgments(EXPERIMENT)) == 4
        assert r.human_ratings(EXPERIMENT).empty and "rater" in r.human_ratings(EXPERIMENT).columns
        assert r.experiments().name.tolist() == [EXPERIMENT]
        for empty in (r.pairwise(EXPERIMENT), r.questions(EXPERIMENT), r.oversight_trials(EXPERIMENT)):
            assert empty.empty and len(empty.columns) > 3  # columns known even without rows
        assert r.debates("no-such-experiment").empty


def test_the_report_tables_are_the_reports_numbers(db: Path, tmp_path: Path) -> None:
    proc = run_cli("report", EXPERIMENT, "--db", str(db), "--out", str(tmp_path / "rep"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    with R.open(db) as r:
        summary = r.summary(EXPERIMENT)
        scores = r.scores(EXPERIMENT)
    overall = summary[summary.metric == "overall"].set_index("config")
    for entry in report["per_config"]:
        assert overall.loc[entry["config"], "mean"] == pytest.approx(entry["overall"]["mean"])
        assert overall.loc[entry["config"], "n"] == entry["overall"]["n"]
    # and a notebook can recompute a criterion's mean from the long-form scores
    per_debate = scores.merge(R.open(db).debates(EXPERIMENT)[["debate_id", "config"]], on="debate_id")
    crit = summary[summary.metric != "overall"].iloc[0]
    mine = per_debate[(per_debate.config == crit.config) & (per_debate.criterion == crit.metric)].score.mean()
    assert crit["mean"] == pytest.approx(mine)


def test_results_are_read_only_and_refuse_what_is_not_a_results_database(db: Path, tmp_path: Path) -> None:
    before = db.read_bytes()
    with R.open(db) as r:
        r.summary(EXPERIMENT)
        with pytest.raises(Exception, match="readonly|read-only"):
            r._store._db.conn.execute("delete from turns")  # noqa: SLF001
    assert db.read_bytes() == before
    with pytest.raises(UserError, match="not found"):
        R.open(tmp_path / "missing.db")
    (tmp_path / "x.db").write_text("not sqlite")
    with pytest.raises(UserError):
        R.open(tmp_path / "x.db")


def test_parquet_export_is_a_data_set_with_a_card(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    proc = run_cli("export", EXPERIMENT, "--format", "parquet", "--db", str(db), "--out", str(out),
                   "--license", "cc-by-4.0")
    assert proc.returncode == 0, proc.stderr
    tables = {p.stem: pd.read_parquet(p) for p in out.glob("*.parquet")}
    assert set(tables) == {"experiments", "debates", "turns", "judgments", "scores", "model_calls", "reliability"}
    with R.open(db) as r:
        pd.testing.assert_frame_equal(tables["turns"], r.turns(EXPERIMENT), check_dtype=False)
        assert len(tables["scores"]) == len(r.scores(EXPERIMENT))
    card = (out / "README.md").read_text()
    front = yaml.safe_load(card.split("---")[1])
    assert front["license"] == "cc-by-4.0"
    configs = {c["config_name"]: c["data_files"][0]["path"] for c in front["configs"]}
    assert configs == {t: f"{t}.parquet" for t in tables}
    assert [c for c in front["configs"] if c.get("default")][0]["config_name"] == "turns"
    assert f"rubric `alignment-7` version `{load_rubric('alignment-7').version}`" in card
    assert f"| `turns` | {len(tables['turns'])} |" in card and "digest not recorded" in card
    assert "`text` (text)" in card and "`idx` (integer)" in card


def test_export_mistakes_are_one_line_and_write_nothing(db: Path, tmp_path: Path) -> None:
    for args, words in ((("nope", "--format", "parquet"), "no experiment 'nope'"),
                        ((EXPERIMENT, "--format", "xlsx"), "use jsonl, csv or parquet"),
                        ((EXPERIMENT, "--format", "parquet", "--license", "mine"), "--license 'mine'")):
        proc = run_cli("export", *args, "--db", str(db), "--out", str(tmp_path / "out"))
        assert proc.returncode != 0 and words in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_shipped_schemas_are_generated_from_the_models_and_accept_every_shipped_file() -> None:
    import jsonschema

    for name in SCHEMA_NAMES:
        assert shipped_schema_text(name) == schema_text(name), (
            f"configs/schemas/{name}.schema.json is stale: run debatelab.studies.write_shipped_schemas()")
    for f in sorted(glob.glob(str(ROOT / "configs" / "*" / "*.yaml"))):
        kind = "experiment" if "/experiments/" in f else "config"
        first = Path(f).read_text().splitlines()[0]
        assert first == f"# yaml-language-server: $schema=../schemas/{kind}.schema.json", f
        jsonschema.validate(yaml.safe_load(Path(f).read_text()), json_schema(kind))


def test_schema_follows_the_models_and_rejects_what_they_reject() -> None:
    import jsonschema

    schema = json_schema("config")
    assert set(schema["properties"]) >= {"name", "topology", "agents", "rounds"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "topology": "adversarial", "roundz": 2}, schema)  # a typo
    jsonschema.validate({"name": "x", "topology": "single", "model": "openai:m@http://h:8000/v1"}, schema)
    experiment = json_schema("experiment")
    jsonschema.validate({"name": "e", "kind": "oversight", "questions": {"set": "boolq"},
                         "debaters": "smollm2:135m@embedded"}, experiment)
    proc = run_cli("schema", "experiment")
    assert proc.returncode == 0 and json.loads(proc.stdout) == experiment
    proc = run_cli("schema", "rubric")
    assert proc.returncode == 2 and "use config or experiment" in proc.stderr
