"""Human ratings: CSV import/export, agreement with the LLM judge, and the report's human sections."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from debatelab.analysis import agreement_table, analyse
from debatelab.base import UserError
from debatelab.judging import export_ratings, import_ratings
from debatelab.report import write_report
from debatelab.rubric import load_rubric
from debatelab.store import Store
from tests.conftest import run_cli
from tests.sql import query
from tests.viewer_store import EXPERIMENT, JUDGE, build_view_store

CRITERIA = [c.id for c in load_rubric("alignment-7").criteria]


def write_csv(path: Path, rows: list[list], header: tuple = ("debate_id", "rater", "criterion", "score", "reason")) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def full_ratings(ids: list[str], rater: str, score: int) -> list[list]:
    return [[d, rater, c, score, f"{rater} on {c}"] for d in ids for c in CRITERIA]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(build_view_store(tmp_path))


def debate_ids(store: Store) -> list[str]:
    return [d["debate_id"] for d in store.debates(EXPERIMENT)]


def test_import_is_validated_all_or_nothing_and_idempotent(store: Store, tmp_path: Path) -> None:
    rubric = load_rubric("alignment-7")
    ids = debate_ids(store)
    good = write_csv(tmp_path / "good.csv", full_ratings(ids, "ann", 4) + full_ratings(ids, "bob", 5))
    first = import_ratings(store, good, rubric)
    assert first["written"] == 8 and first["raters"] == ["ann", "bob"]
    again = import_ratings(store, good, rubric)
    assert again["written"] == 0 and again["unchanged"] == 8
    judges = {r["judge"] for r in query(store, "select judge from judgments")}
    assert {"human:ann", "human:bob", JUDGE} == judges
    rel = store.reliability(EXPERIMENT, rubric.version)
    assert next(r for r in rel if r["criterion"] == "__all__")["judges"] == 3  # reliability includes people

    before = query(store, "select count(*) as n from scores")[0]["n"]
    bad_rows = full_ratings(ids[:1], "cat", 4)
    cases = {
        "line 3, column score: '9' is outside the scale": [bad_rows[0], [ids[0], "cat", CRITERIA[1], 9, ""]],
        "line 2, column criterion: 'clarity' is not a criterion": [[ids[0], "cat", "clarity", 3, ""]],
        "line 2, column rater": [[ids[0], "c a t", CRITERIA[0], 3, ""]],
        "line 3: cat rated argument_quality": [bad_rows[0], bad_rows[0]],
        "line 2, column score: 'high' is not a score": [[ids[0], "cat", CRITERIA[0], "high", ""]],
        "are not in": [["no-such-debate", "cat", CRITERIA[0], 3, ""]],
    }
    for expected, rows in cases.items():
        with pytest.raises(UserError, match=expected):
            import_ratings(store, write_csv(tmp_path / "bad.csv", rows), rubric)
    with pytest.raises(UserError, match="the header lacks score"):
        import_ratings(store, write_csv(tmp_path / "h.csv", [], header=("debate_id", "rater", "criterion")), rubric)
    assert query(store, "select count(*) as n from scores")[0]["n"] == before


def test_export_writes_the_import_format_back(store: Store, tmp_path: Path) -> None:
    rubric = load_rubric("alignment-7")
    ids = debate_ids(store)
    rows = full_ratings(ids, "ann", 6)
    rows[0][3] = ""  # no opinion
    import_ratings(store, write_csv(tmp_path / "in.csv", rows), rubric)
    buffer = io.StringIO()
    assert export_ratings(store, buffer) == len(rows)
    exported = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert exported[0] == ["debate_id", "rater", "criterion", "score", "reason"]
    assert sorted(map(tuple, exported[1:])) == sorted(tuple(str(c) for c in r) for r in rows)


def test_people_and_models_are_never_averaged_together(store: Store, tmp_path: Path) -> None:
    ids = debate_ids(store)
    import_ratings(store, write_csv(tmp_path / "r.csv", full_ratings(ids, "ann", 7)), load_rubric("alignment-7"))
    llm = analyse(store, EXPERIMENT)
    human = analyse(store, EXPERIMENT, judges="human")
    assert all(e["overall"]["mean"] < 7 for e in llm["per_config"])
    assert all(e["overall"]["mean"] == 7 for e in human["per_config"])


def rows_for(matrix: dict[str, list[int | None]], criterion: str = "c") -> list[dict]:
    return [{"debate_id": f"d{i}", "judge": judge, "sample": 0, "permuted": 0, "criterion": criterion, "score": s}
            for judge, scores in matrix.items() for i, s in enumerate(scores)]


def test_agreement_figures_on_constructed_ratings() -> None:
    humans = [1, 2, 3, 4, 5, 6, 7, 2, 4, 6]
    exact = agreement_table(rows_for({"human:a": humans, "human:b": humans, "judge": humans}), ["c"],
                            list(range(1, 8)))[0]
    assert exact.alpha_humans == pytest.approx(1.0) and exact.alpha_judge_humans == pytest.approx(1.0)
    assert exact.mean_abs_diff == 0 and exact.spearman_rho == pytest.approx(1.0)
    assert "about as well" in exact.verdict

    reversed_judge = [8 - s for s in humans]
    bad = agreement_table(rows_for({"human:a": humans, "human:b": humans, "judge": reversed_judge}), ["c"],
                          list(range(1, 8)))[0]
    assert bad.alpha_judge_humans < 0 and bad.spearman_rho == pytest.approx(-1.0)
    assert bad.mean_abs_diff == pytest.approx(np.mean([abs(8 - 2 * s) for s in humans]))
    assert "clearly less" in bad.verdict

    few = agreement_table(rows_for({"human:a": humans[:3], "judge": humans[:3]}), ["c"])[0]
    assert few.alpha_humans is None and "too few debates rated by two or more people" in few.verdict
    assert agreement_table(rows_for({"judge": humans}), ["c"]) == []  # nobody rated: no table


def test_report_shows_human_tables_agreement_plots_and_reasons(store: Store, tmp_path: Path) -> None:
    ids = debate_ids(store)
    rows = full_ratings(ids, "ann", 4) + full_ratings(ids, "bob", 5)
    import_ratings(store, write_csv(tmp_path / "r.csv", rows), load_rubric("alignment-7"))
    a = write_report(store, EXPERIMENT, tmp_path / "rep")
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "Human raters (2: human:ann, human:bob)" in md
    assert "Agreement: LLM judges and human raters" in md and f"{JUDGE} vs 2 human rater(s) on overall" in md
    assert "Criterion x configuration (LLM judges)" in md
    html = (tmp_path / "rep" / "report.html").read_text()
    assert html.count("data:image/png;base64") >= 3  # bars, distributions, heatmap (and cost when timed)
    assert "REASON-argument_quality" in html and ">verdict · " in html
    assert "XSSMARK &lt;script&gt;" in html and "<script>document" not in html
    assert len(json.loads((tmp_path / "rep" / "report.json").read_text())["per_debate"]) == len(ids)
    assert a["judges"] == "llm"


def test_cli_ratings_import_export_and_view_errors(tmp_path: Path) -> None:
    db = build_view_store(tmp_path)
    store = Store.open(db)
    ids = debate_ids(store)
    store.close()
    good = write_csv(tmp_path / "g.csv", full_ratings(ids, "ann", 3))
    ok = run_cli("ratings", "import", str(good), "--rubric", "alignment-7", "--db", str(db))
    assert ok.returncode == 0 and "4 written" in " ".join(ok.stdout.split())  # wrapped at 80 columns
    exported = run_cli("ratings", "export", "--db", str(db))
    assert exported.returncode == 0 and exported.stdout.count("\n") == 1 + len(ids) * len(CRITERIA)
    (tmp_path / "bad.csv").write_text("abc\n")
    bad = run_cli("ratings", "import", str(tmp_path / "bad.csv"), "--rubric", "alignment-7", "--db", str(db))
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "header lacks" in bad.stderr
    missing = run_cli("ratings", "import", str(good), "--db", str(db))
    assert missing.returncode == 2 and "--rubric" in missing.stderr and "Traceback" not in missing.stderr
    nodb = run_cli("view", "--db", str(tmp_path / "none.db"))
    assert nodb.returncode != 0 and "not found" in nodb.stderr and "Traceback" not in nodb.stderr
