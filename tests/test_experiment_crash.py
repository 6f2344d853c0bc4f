"""An experiment served over HTTP by the embedded endpoint, killed with SIGKILL and run again:
every debate and judgment completes, no row is duplicated, and no finished model call is repeated.

The endpoint runs its simulated engine (a fixed time per token, valid structured replies): what is
tested is the runner's bookkeeping, which the real model's words do not change, and the simulated
one makes the test take seconds instead of a minute. tests/test_crash_resume.py kills a debate on
the real model."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import yaml

from debatelab.agents.embedded import EmbeddedEndpoint
from tests.conftest import ROOT, read_log, run_cli, spawn_cli


def small_experiment(tmp: Path) -> Path:
    spec = {
        "name": "crash", "scenarios": {"set": "paper", "ids": ["ubi-ai-unemployment", "lie-to-prevent-harm"]},
        "baselines": [str(ROOT / "configs/embedded/single.yaml")],
        "configurations": [str(ROOT / "configs/embedded/adversarial.yaml")],
        "overrides": {"rounds": 1, "num_predict": 30},
        "judging": {"rubric": "paper-2025", "judges": ["smollm2:135m@embedded"], "samples": 1},
        "concurrency": {"embedded": 2},
    }
    path = tmp / "crash.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_killed_experiment_resumes_without_repeating_calls(tmp_path):
    exp = small_experiment(tmp_path)
    log = tmp_path / "requests.jsonl"
    db, cp = tmp_path / "r.db", tmp_path / "cp.sqlite"
    cmd = ["run", str(exp), "--db", str(db), "--checkpoints", str(cp), "--quiet"]
    with EmbeddedEndpoint(parallel=2, request_log=log, simulate="0.01:15") as url:
        env = {"DEBATELAB_EMBEDDED_HOST": url}
        proc = spawn_cli(*cmd, env=env, output=tmp_path / "killed")
        deadline = time.monotonic() + 180
        while len(read_log(log)) < 9 and time.monotonic() < deadline and proc.exitcode is None:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        assert proc.exitcode == -signal.SIGKILL, "the run ended before it was killed"
        time.sleep(2)  # calls in flight at the kill finish on the server and are logged
        killed_at = len(read_log(log))
        done = run_cli(*cmd, env=env, timeout=400)
        assert done.returncode == 0, done.stderr
        total = len(read_log(log))
    con = sqlite3.connect(db)
    debates = con.execute("select count(*), sum(status = 'finished') from debates").fetchone()
    assert debates == (4, 4)
    assert con.execute("select count(*) from judgments").fetchone()[0] == 4
    assert con.execute("select count(*), count(distinct score_id) from scores").fetchone() == (20, 20)
    assert con.execute("select count(*), count(distinct turn_id) from turns").fetchone() == (12, 12)
    needed = con.execute("select sum(calls) from model_calls").fetchone()[0]
    # Nothing finished repeats. Per slot (2), the call in flight at the kill is redone, and so may be
    # an earlier failed attempt of that same structured call: a judge's retries happen inside one
    # graph node, which is checkpointed when it completes (judgments now run while debates do).
    assert 0 <= total - needed <= 4, f"{total} calls for {needed} needed (killed after {killed_at})"
    again = run_cli(*cmd, env={"DEBATELAB_EMBEDDED_HOST": "http://127.0.0.1:9"}, timeout=60)
    assert again.returncode != 0 and "127.0.0.1:9" in again.stderr  # preflight names the dead host
