"""`debatelab slurm` against a real single-node SLURM (tests/slurm_cluster.py): a 3-shard array whose
tasks each serve the simulated engine, a dependent merge equal to a direct run, status, and a
resubmission that runs only the shard whose task was cancelled. Minutes: deselected by default
(`pytest -m slurm` runs them; `.ci/run` does, in a step of its own)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.slurm_cluster import single_node_slurm, why_not_available
from tests.test_cluster import SIMULATED_SERVER, experiment

pytestmark = pytest.mark.slurm

_why = why_not_available()
if _why and os.environ.get("DEBATELAB_REQUIRE_SLURM") == "1":
    pytest.fail(f"DEBATELAB_REQUIRE_SLURM=1 but SLURM cannot run here: {_why}", pytrace=False)
if _why:
    pytest.skip(_why, allow_module_level=True)


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    with single_node_slurm(tmp_path_factory.mktemp("slurm")):
        yield


def queue_empty() -> bool:
    return not subprocess.run(["squeue", "-h"], capture_output=True, text=True).stdout.strip()


def wait_for(done, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(1)
    queue = subprocess.run(["squeue", "-h"], capture_output=True, text=True).stdout
    raise AssertionError(f"{what} within {seconds:.0f} s; squeue: {queue!r}")


def ids(db: Path) -> dict[str, list[str]]:
    con = sqlite3.connect(db)
    return {t: sorted(r[0] for r in con.execute(f"select {k} from {t}"))
            for t, k in (("debates", "debate_id"), ("judgments", "judgment_id"), ("scores", "score_id"))}


def submit(exp: Path, out: Path, *extra: str):
    return run_cli("slurm", "submit", str(exp), "--shards", "3", "--out", str(out), "--serve", SIMULATED_SERVER,
                   "--serve-models", "smollm2:135m", "--serve-timeout", "120", *extra, timeout=120)


def test_an_array_and_its_merge_equal_a_direct_run(slurm, tmp_path, monkeypatch, simulated_env):
    monkeypatch.chdir(tmp_path)
    exp = experiment(tmp_path)
    done = submit(exp, tmp_path / "cl")
    assert done.returncode == 0, done.stderr
    assert "array job:" in done.stdout and "merge job:" in done.stdout
    wait_for(lambda: (tmp_path / "cl/report/report.json").exists() and queue_empty(), 600, "no merged report")
    direct = run_cli("run", str(exp), "--db", str(tmp_path / "direct.db"), "--checkpoints",
                     str(tmp_path / "direct.sqlite"), "--quiet", timeout=300)
    assert direct.returncode == 0, direct.stderr
    merged = ids(tmp_path / "cl/results.db")
    assert merged == ids(tmp_path / "direct.db") and all(merged.values())
    status = run_cli("slurm", "status", str(tmp_path / "cl"))
    assert status.returncode == 0 and status.stdout.count("│ finished ") == 3 and "merge: done" in status.stdout


def test_a_cancelled_task_is_the_only_one_resubmitted(slurm, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exp = experiment(tmp_path, "cl2")
    held = submit(exp, tmp_path / "r", "--sbatch-arg=--hold")
    assert held.returncode == 0, held.stderr
    array = next(line.split()[-1] for line in held.stdout.splitlines() if line.startswith("array job:"))
    subprocess.run(["scancel", f"{array}_1"], check=True)
    subprocess.run(["scontrol", "release", f"{array}_0", f"{array}_2"], check=True)
    wait_for(lambda: all((tmp_path / f"r/shards/{k}.done").exists() for k in (0, 2)), 300, "shards 0 and 2 not done")
    assert not (tmp_path / "r/report").exists()  # the merge waits on a task that will never succeed
    status = run_cli("slurm", "status", str(tmp_path / "r"))
    assert "stopped" in status.stdout or "not submitted" in status.stdout
    before = {k: (tmp_path / f"r/shards/{k}.db").read_bytes() for k in (0, 2)}
    again = submit(exp, tmp_path / "r")
    assert again.returncode == 0, again.stderr
    assert "submitted shard(s) 1 as array job" in again.stdout
    wait_for(lambda: (tmp_path / "r/report/report.json").exists() and queue_empty(), 600, "no report after resubmitting")
    assert {k: (tmp_path / f"r/shards/{k}.db").read_bytes() for k in (0, 2)} == before
