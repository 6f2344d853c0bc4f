"""Crash safety on the real embedded model: kill -9 a debate at random points, run it again,
and check the transcript is complete while no finished model call was repeated."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from debatelab.agents.embedded import EmbeddedEndpoint
from tests.conftest import ROOT, read_log

pytestmark = pytest.mark.real_model


def small_config(tmp: Path) -> Path:
    cfg = yaml.safe_load((ROOT / "configs/embedded/adversarial.yaml").read_text())
    cfg["rounds"] = 2
    cfg["defaults"]["num_predict"] = 40
    path = tmp / "small.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def debate_cmd(cfg: Path, cp: Path) -> list[str]:
    return [sys.executable, "-m", "debatelab", "debate", str(cfg), "ubi-ai-unemployment", "--scenarios", "paper",
            "--thread", "crash", "--json", "--checkpoints", str(cp)]


def test_kill_minus_nine_then_resume_repeats_no_finished_call(tmp_path):
    cfg = small_config(tmp_path)
    rng = random.Random(20261123)
    log = tmp_path / "requests.jsonl"
    with EmbeddedEndpoint(parallel=1, request_log=log) as url:
        env = {**os.environ, "DEBATELAB_EMBEDDED_HOST": url}
        for trial in range(3):
            cp = tmp_path / f"cp{trial}.sqlite"
            start = len(read_log(log))
            kill_after = rng.randint(1, 4)  # finished calls before the kill
            proc = subprocess.Popen(debate_cmd(cfg, cp), env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 120
            while len(read_log(log)) - start < kill_after and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05)
            time.sleep(rng.uniform(0, 0.5))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            time.sleep(1.5)  # let a call in flight at the kill finish (and be logged) on the server
            before = len(read_log(log)) - start
            done = subprocess.run(debate_cmd(cfg, cp), env=env, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr
            transcript = json.loads(done.stdout)
            turns = transcript["turns"]
            assert [t["round"] for t in turns] == [1, 1, 2, 2, 3]
            assert all(t["text"].strip() for t in turns[:-1])
            total = len(read_log(log)) - start
            calls_needed = sum(t["calls"] for t in turns)
            # at most the one call that was in flight at the kill is repeated
            assert total - calls_needed in (0, 1), f"trial {trial}: {total} calls for {calls_needed} (kill after {before})"


def test_two_processes_share_one_checkpoint_file(tmp_path):
    """Two `debatelab debate` processes write the same SQLite checkpoint file at once (WAL + busy
    timeout); both finish, and each thread resumes as finished afterwards."""
    cfg = small_config(tmp_path)
    cp = tmp_path / "shared.sqlite"
    with EmbeddedEndpoint(parallel=2, simulate="0.002:10") as url:
        env = {**os.environ, "DEBATELAB_EMBEDDED_HOST": url}
        procs = [subprocess.Popen([sys.executable, "-m", "debatelab", "debate", str(cfg), scen, "--scenarios",
                                   "paper", "--json", "--checkpoints", str(cp)], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for scen in ("ubi-ai-unemployment", "lie-to-prevent-harm")]
        outs = [p.communicate(timeout=120) for p in procs]
        failed = [f"exit {p.returncode}: {o[1][-1500:]}" for p, o in zip(procs, outs, strict=True) if p.returncode]
        assert not failed, "\n".join(failed)
        assert all(len(json.loads(o[0])["turns"]) == 5 for o in outs)
        again = subprocess.run([sys.executable, "-m", "debatelab", "debate", str(cfg), "ubi-ai-unemployment",
                                "--scenarios", "paper", "--checkpoints", str(cp)], env=env, capture_output=True,
                               text=True, timeout=60)
        assert again.returncode == 0 and "already finished" in again.stdout
