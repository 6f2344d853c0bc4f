"""The NYU debates (Michael et al. 2023): the shipped room metadata reproduces the paper's
headline exactly, a re-import adds nothing, malformed lines are named and skipped."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from debatelab.analysis import oversight_results
from debatelab.experiments import import_michael2023
from debatelab.scenarios import MICHAEL2023_PROVENANCE, metadata_file, read_rooms
from debatelab.store import Store
from tests.conftest import run_cli

FIXTURES = Path(__file__).parent / "fixtures" / "michael2023"


def _counts(db: Path) -> int:
    con = sqlite3.connect(db)
    tables = [t for (t,) in con.execute("select name from sqlite_master where type='table'")]
    return sum(con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables)


def test_the_shipped_metadata_reproduces_the_papers_table_exactly(tmp_path: Path) -> None:
    import hashlib

    shipped = metadata_file(None)
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == MICHAEL2023_PROVENANCE["sha256"]
    with Store.open(tmp_path / "m.db") as store:
        n = import_michael2023(store)
        rows = oversight_results(store, "michael2023")["oversight"]
    assert (n["rooms"], n["in_paper"], n["skipped"]) == (631, 413, [])
    got = {(r["protocol"], r["debaters"]): (r["correct"], r["n"]) for r in rows if r["judge"] == "human"}
    # The paper: human judges 84% with human debaters (130/154), 74% with human consultants (71/96).
    assert got[("debate", "human")] == (130, 154) and got[("consultancy", "human")] == (71, 96)
    assert got[("debate", "ai")] == (68, 87) and got[("consultancy", "ai")] == (61, 76)
    for r in rows:
        if r["judge"] == "human":
            assert r["unit"] == "debate" and r["ci_low"] < r["accuracy"] < r["ci_high"]
            assert r["clusters"] < r["n"]  # clustered by story
    before = _counts(tmp_path / "m.db")
    with Store.open(tmp_path / "m.db") as store:
        import_michael2023(store)
    assert _counts(tmp_path / "m.db") == before


def test_a_room_is_read_as_its_line_says() -> None:
    rooms, _ = read_rooms(metadata_file(None))
    room = next(r for r in rooms if r.name == "ambition-8")
    assert (room.protocol, room.setting, room.story_id, room.correct_index) == ("consultancy", "human", "51274", 1)
    assert room.final_judgement == (0.010000000000000009, 0.99) and room.judge == "Hopsy Hummingbird"
    assert room.included_in_paper and room.debaters == {"A": "Gigglesworth Grapevine"}


def test_malformed_lines_are_named_and_skipped(tmp_path: Path) -> None:
    good = metadata_file(None).read_text().splitlines()[1]
    folder = tmp_path / "pub"
    folder.mkdir()
    (folder / "debates-metadata.jsonl").write_text("\n".join([
        good, "not json", json.dumps({"setting": {"isHuman": True, "isDebate": True}, "name": "x"}), good]) + "\n")
    done = run_cli("import", "michael2023", str(folder), "--db", str(tmp_path / "b.db"))
    assert done.returncode == 0 and "Traceback" not in done.stderr + done.stdout
    assert "line 2 is not JSON" in done.stdout and "line 3:" in done.stdout and "appears twice" in done.stdout
    missing = run_cli("import", "michael2023", str(tmp_path / "nowhere"), "--db", str(tmp_path / "c.db"))
    assert missing.returncode != 0 and "no debates-metadata.jsonl" in missing.stderr
    unknown = run_cli("import", "khan2099", "--db", str(tmp_path / "c.db"))
    assert unknown.returncode != 0 and "unknown dataset 'khan2099'" in unknown.stderr


def test_the_report_of_the_import_names_its_rows(tmp_path: Path) -> None:
    shutil.copy(metadata_file(None), tmp_path / "meta.jsonl")
    assert run_cli("import", "michael2023", str(tmp_path / "meta.jsonl"), "--db", str(tmp_path / "m.db")).returncode == 0
    rep = run_cli("report", "michael2023", "--db", str(tmp_path / "m.db"), "--out", str(tmp_path / "rep"))
    assert rep.returncode == 0, rep.stderr
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "| debate | human | human |  | 154 |" in md


def test_released_debate_files_give_speeches_verified_quotes_and_the_judges_beliefs(tmp_path: Path) -> None:
    """With the released pub/ folder, a judged room's file becomes its transcript: the story as the
    passage, the answers as options, each speech with its quotes (the story's own spans, so all
    verified), and the live judge's belief after every round, equal to the file's."""
    from debatelab.scenarios import read_debate

    folder = tmp_path / "pub"
    shutil.copytree(FIXTURES, folder)
    shutil.copy(metadata_file(None), folder / "debates-metadata.jsonl")
    done = run_cli("import", "michael2023", str(folder), "--db", str(tmp_path / "m.db"))
    assert done.returncode == 0 and "2 transcripts read" in done.stdout, done.stdout + done.stderr
    debate = read_debate(FIXTURES / "debates" / "official" / "ambition-8.json")
    assert [round(b[1][1], 2) for b in debate.beliefs] == [0.37, 0.67, 0.7, 0.78, 0.99]  # the file's own
    with Store.open(tmp_path / "m.db") as store:
        turns = store.oversight_turns("michael2023", "michael2023:ambition-8")
        trial = store.oversight_trial("michael2023:ambition-8")
        stored = [b for b in store.judge_beliefs("michael2023") if b["trial_id"] == "michael2023:ambition-8"]
        results = oversight_results(store, "michael2023")
    speeches = [t for t in turns if t["kind"] == "argument"]
    beliefs = [json.loads(b["probabilities"]) for b in stored]
    assert len({b["judge"] for b in stored}) == 1 and stored[0]["judge"].startswith("human:")
    assert {b["source"] for b in stored} == {"live"}
    assert [b["after_round"] for b in stored] == sorted(b["after_round"] for b in stored)
    question = json.loads(trial["question"])
    assert question["options"][1].startswith("They got along very well") and len(question["passage"]) > 30_000
    assert len(speeches) == 4 and sum(t["quotes"] for t in speeches) == sum(t["verified_quotes"] for t in speeches) > 0
    assert [round(b[1], 2) for b in beliefs] == [0.37, 0.67, 0.7, 0.78, 0.99]
    trajectory = [r for r in results["beliefs"]["rounds"] if r["protocol"] == "consultancy" and r["judge"] == "human"]
    assert [r["mean_p_correct"] for r in trajectory] == [0.37, 0.67, 0.7, 0.78, 0.99]
    # The reproduction rows do not move: the transcripts add turns, not verdicts.
    got = {(r["protocol"], r["debaters"]): (r["correct"], r["n"]) for r in results["oversight"] if r["judge"] == "human"}
    assert got[("debate", "human")] == (130, 154) and got[("consultancy", "human")] == (71, 96)


def test_every_judged_room_with_all_and_brier_per_setting(tmp_path: Path) -> None:
    with Store.open(tmp_path / "m.db") as store:
        import_michael2023(store, every_room=True)
        rows = {(r["protocol"], r["debaters"]): r for r in oversight_results(store, "michael2023")["oversight"]
                if r["judge"] == "human"}
    assert (rows[("debate", "human")]["correct"], rows[("debate", "human")]["n"]) == (193, 222)
    assert sum(r["n"] for r in rows.values()) == 517
    assert all(0 < r["brier"] < 0.25 for r in rows.values())  # better than always saying 50%


def test_data_fetch_keeps_the_pinned_release_and_refuses_another(tmp_path: Path) -> None:
    """`debatelab data fetch michael2023` from an archive laid out as GitHub's (a local file stands in
    for the download): the pub/ folder is kept when its metadata has the pinned sha256, then
    imports; an archive whose metadata differs leaves nothing behind."""
    import tarfile

    def archive(name: str, metadata: bytes) -> Path:
        root = tmp_path / name / f"debate-{MICHAEL2023_PROVENANCE['commit']}" / "pub"
        (root / "debates" / "official").mkdir(parents=True)
        (root / "debates-metadata.jsonl").write_bytes(metadata)
        shutil.copy(FIXTURES / "debates" / "official" / "ambition-8.json", root / "debates" / "official")
        out = tmp_path / f"{name}.tar.gz"
        with tarfile.open(out, "w:gz") as tar:
            tar.add(root.parent, arcname=root.parent.name)
        return out

    good = archive("good", metadata_file(None).read_bytes())
    done = run_cli("data", "fetch", "michael2023", "--to", str(tmp_path / "data"),
                   env={"DEBATELAB_MICHAEL2023_URL": str(good)})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "pub" / "debates" / "official" / "ambition-8.json").is_file()
    imported = run_cli("import", "michael2023", str(tmp_path / "data" / "pub"), "--db", str(tmp_path / "m.db"))
    assert imported.returncode == 0 and "1 transcripts read" in imported.stdout
    again = run_cli("data", "fetch", "michael2023", "--to", str(tmp_path / "data"),
                    env={"DEBATELAB_MICHAEL2023_URL": str(good)})
    assert again.returncode != 0 and "exists already" in again.stderr
    bad = archive("bad", b'{"not": "the release"}\n')
    refused = run_cli("data", "fetch", "michael2023", "--to", str(tmp_path / "other"),
                      env={"DEBATELAB_MICHAEL2023_URL": str(bad)})
    assert refused.returncode != 0 and "not the pinned" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "other" / "pub").exists()


def test_offline_judges_are_further_verdicts_never_pooled_with_the_live_ones(tmp_path: Path) -> None:
    """Offline judges (people who judged the finished transcript afterwards; 247 in 173 rooms, 165
    of them in rooms with a live verdict, which become trials): each a verdict `human:offline:NAME`;
    their pooled rows stand apart, and the paper's rows (live judges) do not move."""
    with Store.open(tmp_path / "m.db") as store:
        import_michael2023(store)
        verdicts = store.oversight_verdicts("michael2023")
        rows = oversight_results(store, "michael2023")["oversight"]
    offline = [v for v in verdicts if v["judge"].startswith("human:offline:")]
    assert len(offline) == 165 and all(v["verdict_id"].split(":")[-2] == "offline" for v in offline)
    pooled = {(r["protocol"], r["debaters"]): r for r in rows if r["judge"] == "human (offline)"}
    assert pooled and all(r["unit"] == "debate" for r in pooled.values())
    live = {(r["protocol"], r["debaters"]): (r["correct"], r["n"]) for r in rows if r["judge"] == "human"}
    assert live[("debate", "human")] == (130, 154) and live[("consultancy", "human")] == (71, 96)


def test_the_papers_questions_as_a_question_set(tmp_path: Path) -> None:
    """`questions: {set: michael2023, path: PUB}`: each released debate's question with its two
    answers and its story as the passage; without the release it is refused by name."""
    import asyncio

    import yaml

    from debatelab.agents import ScriptedChatModel
    from debatelab.runtime import RunProgress
    from debatelab.scenarios import release_questions
    from debatelab.studies import load_experiment, run_study

    def factory(spec):
        return ScriptedChatModel(script=lambda prompt, kwargs: {"reasons": "A reads well", "answer": "A",
                                                                 "probability": 60})

    folder = tmp_path / "pub"
    shutil.copytree(FIXTURES, folder)
    qs = release_questions(folder)
    assert len(qs) == 2 and all(len(q.options) == 2 and len(q.passage) > 30_000 for q in qs)
    spec = {"name": "nyu-set", "kind": "oversight", "questions": {"set": "michael2023", "path": str(folder)},
            "protocols": ["naive"], "debaters": "honest", "judges": ["judge-always-a"], "rounds": 1}
    (tmp_path / "e.yaml").write_text(yaml.safe_dump(spec))
    with Store.open(tmp_path / "r.db") as store:
        summary = asyncio.run(run_study(load_experiment(tmp_path / "e.yaml"), store, tmp_path / "cp.sqlite",
                                        RunProgress(None, enabled=False), model_factory=factory, preflight=False))
        stored = store.experiment("nyu-set")
    assert not summary.failed and summary.results["oversight"][0]["n"] == 2
    assert "Michael et al. 2023" in json.loads(stored["spec"])["provenance"]["source"]
    del spec["questions"]["path"]
    (tmp_path / "e.yaml").write_text(yaml.safe_dump(spec))
    done = run_cli("run", str(tmp_path / "e.yaml"), "--db", str(tmp_path / "x.db"))
    assert done.returncode == 2 and "set: michael2023 needs 'path'" in done.stderr
