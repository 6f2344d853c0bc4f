"""Crash safety: kill -9 a debate at random points, run it again, and check the transcript is
complete while no finished model call was repeated.

The endpoint is the embedded HTTP server with its simulated engine (a fixed time per token, seeded
words): what is tested is the checkpointing, which the model's words do not change, and a known
speed lets the kill land at random points in a few seconds instead of a minute. The same kill on
the real SmolLM2 is in ../shared/checks (foundation.sh, debate-graphs.sh)."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import yaml

from debatelab.agents.embedded import EmbeddedEndpoint
from tests.conftest import ROOT, read_log, run_cli, spawn_cli


def small_config(tmp: Path) -> Path:
    cfg = yaml.safe_load((ROOT / "configs/embedded/adversarial.yaml").read_text())
    cfg["rounds"] = 2
    cfg["defaults"]["num_predict"] = 40
    path = tmp / "small.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def debate_cmd(cfg: Path, cp: Path) -> list[str]:
    return ["debate", str(cfg), "ubi-ai-unemployment", "--scenarios", "paper", "--thread", "crash", "--json",
            "--checkpoints", str(cp)]


def test_kill_minus_nine_then_resume_repeats_no_finished_call(tmp_path):
    cfg = small_config(tmp_path)
    rng = random.Random(20261123)
    log = tmp_path / "requests.jsonl"
    with EmbeddedEndpoint(parallel=1, request_log=log, simulate="0.02:30") as url:  # 0.6 s a call
        env = {"DEBATELAB_EMBEDDED_HOST": url}
        for trial in range(3):
            cp = tmp_path / f"cp{trial}.sqlite"
            start = len(read_log(log))
            kill_after = rng.randint(1, 4)  # finished calls before the kill
            proc = spawn_cli(*debate_cmd(cfg, cp), env=env, output=tmp_path / f"killed{trial}")
            deadline = time.monotonic() + 120
            while len(read_log(log)) - start < kill_after and time.monotonic() < deadline and proc.exitcode is None:
                time.sleep(0.05)
            time.sleep(rng.uniform(0, 0.5))
            os.kill(proc.pid, signal.SIGKILL)
            proc.join()
            assert proc.exitcode == -signal.SIGKILL, f"trial {trial}: the debate ended before it was killed"
            time.sleep(1)  # let a call in flight at the kill finish (and be logged) on the server
            before = len(read_log(log)) - start
            done = run_cli(*debate_cmd(cfg, cp), env=env, timeout=300)
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
        env = {"DEBATELAB_EMBEDDED_HOST": url}
        outputs = {scen: tmp_path / scen for scen in ("ubi-ai-unemployment", "lie-to-prevent-harm")}
        procs = [spawn_cli("debate", str(cfg), scen, "--scenarios", "paper", "--json", "--checkpoints", str(cp),
                           env=env, output=out) for scen, out in outputs.items()]
        for p in procs:
            p.join(120)
        failed = [f"exit {p.exitcode}: {out.with_suffix('.stderr').read_text()[-1500:]}"
                  for p, out in zip(procs, outputs.values(), strict=True) if p.exitcode != 0]
        assert not failed, "\n".join(failed)
        assert all(len(json.loads(out.with_suffix(".stdout").read_text())["turns"]) == 5 for out in outputs.values())
        again = run_cli("debate", str(cfg), "ubi-ai-unemployment", "--scenarios", "paper", "--checkpoints", str(cp),
                        env=env, timeout=60)
        assert again.returncode == 0 and "already finished" in again.stdout
