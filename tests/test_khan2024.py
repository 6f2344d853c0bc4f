"""Khan et al. 2024's human judgments, read from a fixture in the documented shape (the released
file is a Git LFS object not readable here; tests/fixtures/khan2024/README.md): each documented
exclusion by name, verdicts and transcripts as stored, a re-import that adds nothing, and
malformed rows named by line."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from debatelab.analysis import oversight_results
from debatelab.experiments import import_khan2024
from debatelab.scenarios import read_judgments
from debatelab.store import Store
from tests.conftest import run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "khan2024" / "judgments.csv"
DEFAULT = ("8_v0", "swap_bug", "context_required")


def _total(db: Path) -> int:
    con = sqlite3.connect(db)
    names = [t for (t,) in con.execute("select name from sqlite_master where type='table'")]
    return sum(con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in names)


def test_rows_are_read_and_malformed_ones_named_by_line():
    rows, skipped = read_judgments(FIXTURE)
    assert len(rows) == 11 and len(skipped) == 2
    assert "debate_method 'chess'" in skipped[0] and "judgments.csv:" in skipped[0]
    assert "field 'judge_id' is missing" in skipped[1]
    d5 = next(r for r in rows if r.debate_id == "d5")
    assert d5.interactive and d5.confidence == 0.85 and [w for _, w, _ in d5.speeches].count("judge") == 1
    d2 = next(r for r in rows if r.debate_id == "d2")
    assert d2.truth == "B" and d2.answers == ("never", "at dawn")  # swap: the correct answer shown second


def test_the_documented_exclusions_by_name(tmp_path):
    with Store.open(tmp_path / "k.db") as store:
        n = import_khan2024(store, FIXTURE, exclusions=DEFAULT)
        assert (n["kept"], n["trials"]) == (8, 7)
        assert n["excluded"] == {"8_v0": 1, "swap_bug": 1, "context_required": 1}
        rows = {(r["protocol"], r["debaters"]): r for r in oversight_results(store, "khan2024")["oversight"]
                if r["judge"] == "human"}
        verdicts = store.oversight_verdicts("khan2024")
    # Static debates kept: d1 (two judges: right, wrong), d2 (wrong), d8 (right).
    assert (rows[("debate", "ai")]["correct"], rows[("debate", "ai")]["n"]) == (2, 4)
    assert (rows[("interactive_debate", "ai")]["correct"], rows[("naive", "none")]["n"]) == (1, 1)
    assert {v["judge"] for v in verdicts if v["trial_id"] == "khan2024:d1"} == {"human:khan-1", "human:khan-4"}
    with Store.open(tmp_path / "t.db") as store:
        test_set = import_khan2024(store, FIXTURE, experiments=["8"], exclusions=(*DEFAULT, "test_phase_judges"))
    assert (test_set["kept"], test_set["excluded"]["not a chosen experiment"]) == (6, 5)


def test_transcripts_become_turns_and_a_reimport_adds_nothing(tmp_path):
    db = tmp_path / "k.db"
    done = run_cli("import", "khan2024", str(FIXTURE), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "imported 8 of 11 judgments (7 debates" in done.stdout and "2 rows skipped" in done.stdout
    assert done.stdout.count("skipped: ") == 2
    with Store.open(db) as store:
        turns = store.oversight_turns("khan2024", "khan2024:d5")
        trial = store.oversight_trial("khan2024:d2")
    assert [t["kind"] for t in turns] == ["argument", "argument", "question", "argument", "argument"]
    assert json.loads(trial["question"])["options"] == ["never", "at dawn"] and trial["truth"] == "B"
    before = _total(db)
    assert run_cli("import", "khan2024", str(FIXTURE), "--db", str(db)).returncode == 0 and _total(db) == before
    bad = run_cli("import", "khan2024", str(FIXTURE), "--exclude", "typos", "--db", str(db))
    assert bad.returncode == 2 and "unknown exclusion 'typos'" in bad.stderr
    none = run_cli("import", "khan2024", "--db", str(db))
    assert none.returncode == 2 and "give the dataset's CSV or zip" in none.stderr
    lfs = tmp_path / "pointer.zip"
    lfs.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 5\n")
    pointer = run_cli("import", "khan2024", str(lfs), "--db", str(db))
    assert pointer.returncode == 2 and "Git LFS pointer" in pointer.stderr
