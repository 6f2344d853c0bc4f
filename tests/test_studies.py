"""The study registry: every built-in kind is one registered object, old spellings still load, a
field of another study is refused by name, and a study from a plugin package (entry point
`debatelab.studies`) runs, reports and shows in the viewer without editing debatelab."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from debatelab.base import UserError
from debatelab.studies import all_studies, forget_plugins, load_experiment, study_for, study_of_experiment
from debatelab.view import create_app

PKG = Path(__file__).parent / "example_study_pkg"


def test_every_builtin_kind_is_one_registered_study() -> None:
    studies = all_studies()
    assert {"debates", "question_debate", "weak_to_strong", "oversight"} <= set(studies)
    for name, s in studies.items():
        assert s.name == name and s.spec.model_fields["kind"].default == name


@pytest.mark.parametrize(("ref", "kind"), [
    ("experiments/demo", "debates"), ("experiments/dynamics-demo", "question_debate"),
    ("experiments/w2s-demo", "weak_to_strong"), ("experiments/oversight-demo", "oversight"),
])
def test_shipped_experiments_load_as_their_study(ref: str, kind: str) -> None:
    exp = load_experiment(ref)
    assert exp.kind == kind and type(exp) is all_studies()[kind].spec


def test_the_names_of_0_3_still_load(tmp_path: Path) -> None:
    for section, study in (("w2s", "weak_to_strong"), ("debate", "question_debate")):
        data = yaml.safe_load((Path(__file__).parent.parent / "configs" / "experiments" /
                               ("w2s-demo.yaml" if section == "w2s" else "dynamics-demo.yaml")).read_text())
        data["kind"] = "questions"
        path = tmp_path / f"{section}.yaml"
        path.write_text(yaml.safe_dump(data))
        assert load_experiment(path).kind == study
    both = tmp_path / "both.yaml"
    both.write_text(yaml.safe_dump({"name": "b", "kind": "questions"}))
    with pytest.raises(UserError, match=r"both.yaml: field 'kind': 'questions' means .* give exactly one"):
        load_experiment(both)


def test_a_field_of_another_study_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump({"name": "e", "protocols": ["naive"]}))
    with pytest.raises(UserError, match=r"e.yaml: field 'protocols': only an experiment of kind 'oversight' takes it"):
        load_experiment(path)
    path.write_text(yaml.safe_dump({"name": "e", "kind": "no-such-study"}))
    with pytest.raises(UserError, match=r"field 'kind': 'no-such-study' is not a study; one of .*oversight"):
        load_experiment(path)


def test_a_stored_row_finds_its_study_by_kind_or_by_its_spec() -> None:
    assert study_of_experiment({"name": "x", "kind": "questions", "spec": json.dumps({"debate": {}})}).name == \
        "question_debate"
    assert study_of_experiment({"name": "x", "kind": "questions", "spec": "{}"}).name == "weak_to_strong"
    assert study_of_experiment({"name": "x", "kind": "oversight", "spec": "{}"}).name == "oversight"
    with pytest.raises(UserError, match="'gone' is not a study"):
        study_for("gone", {}, "experiment 'x'", stored=True)


def _install(tmp_path: Path) -> Path:
    """The example package's metadata on a site folder, as pip would install it."""
    site = tmp_path / "site"
    dist = site / "debatelab_example_study-0.1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: debatelab-example-study\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[debatelab.studies]\ncoin_flip = debatelab_example_study:CoinFlip\n")
    (site / "debatelab_example_study.py").write_text((PKG / "debatelab_example_study.py").read_text())
    return site


def _cli(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "debatelab", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


def test_a_plugin_study_runs_reports_and_shows_without_editing_debatelab(tmp_path: Path, monkeypatch) -> None:
    site = _install(tmp_path)
    exp = tmp_path / "coins.yaml"
    exp.write_text("name: coins\nkind: coins\nflips: 200\nseed: 7\n")  # an alias of the plugin's kind
    import random

    rng = random.Random(7)
    heads = sum(rng.random() < 0.5 for _ in range(200))

    listed = _cli(["studies"], site, tmp_path)
    assert listed.returncode == 0 and "coin_flip\tcoins" in listed.stdout, listed.stderr
    ran = _cli(["run", str(exp), "--db", "r.db", "--checkpoints", "cp.sqlite", "--report", "rep", "--quiet"],
               site, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert json.loads((tmp_path / "rep" / "report.json").read_text()) == {"heads": heads, "flips": 200}
    reported = _cli(["report", "coins", "--db", "r.db", "--out", "rep2"], site, tmp_path)
    assert reported.returncode == 0 and f"coins: {heads} heads of 200 flips" in reported.stdout, reported.stderr
    assert f"| {heads} | 200 |" in (tmp_path / "rep2" / "report.md").read_text()
    exp.write_text("name: coins2\nkind: coin_flip\nflips: 10\nlose_one: true\n")
    lost = _cli(["run", str(exp), "--db", "r.db", "--checkpoints", "cp.sqlite", "--quiet"], site, tmp_path)
    assert lost.returncode == 4 and "the coin rolled away" in lost.stderr, (lost.returncode, lost.stderr)
    exp.write_text("name: coins\nkind: coins\nflips: 200\nseed: 7\n")
    sharded = _cli(["run", str(exp), "--db", "r.db", "--shard", "1/2"], site, tmp_path)
    assert sharded.returncode != 0 and "is a coin_flip experiment" in sharded.stderr

    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    forget_plugins()
    try:
        with TestClient(create_app(tmp_path / "r.db"), base_url="http://127.0.0.1") as client:
            page = client.get("/experiments/coins", follow_redirects=True)
            assert page.status_code == 200, page.text[-600:]
            assert "a seeded coin" in page.text and f"<td>{heads}</td>" in page.text
    finally:
        forget_plugins()

    without = _cli(["report", "coins", "--db", "r.db"], tmp_path / "nowhere", tmp_path)
    assert without.returncode != 0 and "'coin_flip' is not a study" in without.stderr
