"""`debatelab slurm` without a scheduler: the scripts it writes, what it asks of `sbatch` (a stand-in
on PATH records every call), what it refuses, and a task's server-and-shard cycle run here.
tests/test_slurm_real.py runs the same against a real single-node SLURM."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import sys
from pathlib import Path

import pytest
import yaml

from debatelab.agents import ModelSpec, resolve_url
from debatelab.base import UserError
from debatelab.cluster import SlurmOptions, merge_shards, run_task, submit
from debatelab.cluster.task import ModelServer
from tests.conftest import run_cli

SIMULATED_SERVER = f"{sys.executable} -m debatelab serve-embedded --simulate 0.001:20 --port {{port}}"


def experiment(tmp: Path, name: str = "cl") -> Path:
    spec = {"name": name, "scenarios": {"set": "alignment-v1", "limit": 3},
            "configurations": ["embedded/adversarial"], "baselines": ["embedded/single"],
            "overrides": {"rounds": 1, "num_predict": 20},
            "judging": {"rubric": "alignment-7", "judges": ["smollm2:135m@embedded"]}}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.fixture
def fake_slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`sbatch`, `squeue` and `scancel` that record their arguments (one JSON line per call);
    sbatch answers job ids 100, 101, ...; squeue holds nothing; FAIL_SBATCH makes sbatch refuse."""
    bin_dir, log = tmp_path / "bin", tmp_path / "slurm-calls.jsonl"
    bin_dir.mkdir()
    for tool, body in {
        "sbatch": ('n=$(wc -l < "$LOG" 2>/dev/null || echo 0); [ -n "$FAIL_SBATCH" ] && '
                   '{ echo "sbatch: error: Invalid account or account/partition combination specified" >&2; exit 1; }; '
                   'echo $((100 + n))'),
        "squeue": "true", "scancel": "true",
    }.items():
        script = bin_dir / tool
        script.write_text(f'#!/bin/bash\npython3 -c \'import json,sys; print(json.dumps(sys.argv[1:]))\' "{tool}" "$@" '
                          f'>> "$LOG"\n{body}\n')
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("LOG", str(log))
    return log


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_dry_run_writes_both_scripts_with_only_the_resources_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exp = experiment(tmp_path)
    result = submit(exp, tmp_path / "out", 3, SlurmOptions(partition="gpu", gpus_per_task="1",
                                                           sbatch_args=["--qos=long"]), dry_run=True)
    array, merge = result.array.read_text(), result.merge.read_text()
    assert "#SBATCH --array=0-2" in array and "#SBATCH --partition=gpu" in array
    assert "#SBATCH --gpus-per-task=1" in array and "#SBATCH --qos=long" in array
    assert "--mem" not in array and "--time" not in array  # nothing written that was not asked for
    assert "--gpus-per-task" not in merge and "#SBATCH --partition=gpu" in merge
    assert f"{sys.executable} -m debatelab slurm task" in array and "slurm merge" in merge
    assert result.array_job is None and "nothing submitted" in result.note
    with_mem = submit(exp, tmp_path / "out", 3, SlurmOptions(mem="32G"), dry_run=True)
    assert "#SBATCH --mem=32G" in with_mem.array.read_text()


def test_submit_sends_the_array_then_a_merge_that_waits_for_it(tmp_path, monkeypatch, fake_slurm):
    monkeypatch.chdir(tmp_path)
    result = submit(experiment(tmp_path), tmp_path / "out", 3, SlurmOptions(), dry_run=False)
    sbatch = [c[1:] for c in calls(fake_slurm) if c[0] == "sbatch"]
    assert sbatch[0][:2] == ["--parsable", "--array=0,1,2"] and sbatch[0][-1].endswith("array.sbatch")
    assert sbatch[1][:2] == ["--parsable", f"--dependency=afterok:{result.array_job}"]
    assert sbatch[1][-1].endswith("merge.sbatch") and result.merge_job
    # Shards 0 and 2 finished: a resubmission sends shard 1 alone and a new merge.
    for k in (0, 2):
        (tmp_path / "out" / "shards" / f"{k}.done").write_text("{}")
    again = submit(experiment(tmp_path), tmp_path / "out", 3, SlurmOptions(), dry_run=False)
    assert again.shards == [1]
    assert [c for c in calls(fake_slurm) if c[0] == "sbatch"][2][2] == "--array=1"
    record = json.loads((tmp_path / "out" / "slurm.json").read_text())
    assert [s["shards"] for s in record["submissions"]] == [[0, 1, 2], [1]]


def test_refusals_are_one_line_and_submit_nothing(tmp_path, monkeypatch, fake_slurm):
    monkeypatch.chdir(tmp_path)
    exp = experiment(tmp_path)
    with pytest.raises(UserError, match="--shards 0"):
        submit(exp, tmp_path / "a", 0, SlurmOptions(), dry_run=False)
    submit(exp, tmp_path / "a", 2, SlurmOptions(), dry_run=True)
    other = experiment(tmp_path, "other")
    with pytest.raises(UserError, match="holds a run of"):
        submit(other, tmp_path / "a", 2, SlurmOptions(), dry_run=False)
    with pytest.raises(UserError, match="--shards 2"):
        submit(exp, tmp_path / "a", 3, SlurmOptions(), dry_run=False)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not written by"):
        submit(exp, tmp_path / "foreign", 2, SlurmOptions(), dry_run=False)
    assert calls(fake_slurm) == []  # none of these reached the scheduler
    monkeypatch.setenv("FAIL_SBATCH", "1")
    with pytest.raises(UserError, match="sbatch refused array.sbatch: sbatch: error: Invalid account"):
        submit(exp, tmp_path / "b", 2, SlurmOptions(), dry_run=False)


def test_the_cli_names_a_missing_sbatch_in_one_line(tmp_path):
    exp = experiment(tmp_path)
    done = run_cli("slurm", "submit", str(exp), "--shards", "2", "--out", str(tmp_path / "o"),
                   env={"PATH": str(Path(sys.executable).parent)})
    assert done.returncode == 2 and "no sbatch on PATH" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "o").exists()
    bad = run_cli("slurm", "submit", str(exp), "--shards", "0", "--out", str(tmp_path / "o"))
    assert bad.returncode == 2 and "--shards 0" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_a_tasks_server_takes_the_named_models_calls(monkeypatch):
    monkeypatch.setenv("DEBATELAB_SERVED_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("DEBATELAB_SERVED_MODELS", "qwen:7b")
    assert resolve_url("http://elsewhere:11434", ModelSpec(model="qwen:7b")) == "http://127.0.0.1:9999"
    assert resolve_url("http://elsewhere:11434", ModelSpec(model="phi3:3.8b")) == "http://elsewhere:11434"
    monkeypatch.setenv("DEBATELAB_SERVED_MODELS", "")
    assert resolve_url(None, ModelSpec(model="x", provider="openai", base_url="http://a/v1")) == \
        "http://127.0.0.1:9999/v1"


def test_a_server_that_never_answers_or_dies_is_named_with_its_log(tmp_path):
    silent = ModelServer("sleep 30", tmp_path / "silent.log", timeout_s=1.5)
    with pytest.raises(UserError, match=r"did not answer on port \d+ within 2 s"):
        silent.start()
    silent.stop()
    dying = ModelServer("echo 'CUDA out of memory' >&2; exit 3", tmp_path / "dying.log", timeout_s=10)
    with pytest.raises(UserError, match="exited with code 3 before answering; .* ends: CUDA out of memory"):
        dying.start()


def test_tasks_with_their_own_servers_then_the_merge_equal_one_run(tmp_path, monkeypatch, simulated_env):
    """Each task starts the simulated engine on a free port; the merge equals a direct run."""
    monkeypatch.chdir(tmp_path)
    exp = experiment(tmp_path)
    out = tmp_path / "out"
    submit(exp, out, 2, SlurmOptions(serve=SIMULATED_SERVER, serve_models=["smollm2:135m"], serve_timeout_s=120),
           dry_run=True)
    with pytest.raises(UserError, match=r"shard\(s\) 0, 1 .* have not finished"):
        merge_shards(out)
    assert [run_task(out, k) for k in (0, 1)] == [0, 0]
    assert all((out / "logs" / f"serve-{k}.log").exists() for k in (0, 1))
    hosts = {h for k in (0, 1) for (h,) in sqlite3.connect(out / "shards" / f"{k}.db").execute(
        "select distinct host from model_calls")}
    assert hosts and simulated_env[0] not in hosts  # every call went to a task's own server
    merged = merge_shards(out)
    assert (out / "report" / "report.json").exists()
    direct = run_cli("run", str(exp), "--db", str(tmp_path / "direct.db"), "--checkpoints",
                     str(tmp_path / "direct.sqlite"), "--quiet", timeout=300)
    assert direct.returncode == 0, direct.stderr
    for table, key in (("debates", "debate_id"), ("judgments", "judgment_id"), ("scores", "score_id")):
        ids = [sorted(r[0] for r in sqlite3.connect(db).execute(f"select {key} from {table}"))
               for db in (merged["results"], tmp_path / "direct.db")]
        assert ids[0] == ids[1] and ids[0], table
    before = (out / "shards" / "0.db").read_bytes()
    merge_shards(out)  # a second merge adds nothing and leaves the shards as they were
    assert (out / "shards" / "0.db").read_bytes() == before
