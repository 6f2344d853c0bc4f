"""One array task: start the task's model server (if asked), run one shard, stop the server.

The shard runs as `debatelab run --shard K/N` in a child process, so however it ends (done, a failed
item, a crash) the server is stopped and its log kept. `shards/K.done` is written only when the run
exits 0: that file, not the scheduler's memory, is what a resubmission trusts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from debatelab.agents import SERVED_MODELS_ENV, SERVED_URL_ENV, free_port
from debatelab.base import UserError, sha256_of
from debatelab.cluster.layout import SlurmRecord, require_record, shard_checkpoints, shard_db, shard_done

PROBES = ("/api/version", "/v1/models", "/health")


def _answers(url: str) -> bool:
    for path in PROBES:
        try:
            if httpx.get(url + path, timeout=2.0).status_code < 500:
                return True
        except httpx.HTTPError:
            return False  # nothing listens yet
    return False


def _log_tail(log: Path) -> str:
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1].strip()[:200] if lines else "empty log"


class ModelServer:
    """`command` with {port} filled in, run in its own process group on 127.0.0.1."""

    def __init__(self, command: str, log: Path, timeout_s: float) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = command.replace("{port}", str(self.port))
        self.log, self.timeout_s = log, timeout_s
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as sink:
            self.proc = subprocess.Popen(["/bin/bash", "-c", self.command], stdout=sink, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise UserError(f"the model server ({self.command}) exited with code {self.proc.returncode} before "
                                f"answering; its log {self.log} ends: {_log_tail(self.log)}")
            if _answers(self.url):
                return
            time.sleep(0.5)
        raise UserError(f"the model server ({self.command}) did not answer on port {self.port} within "
                        f"{self.timeout_s:.0f} s; its log {self.log} ends: {_log_tail(self.log)}; raise --serve-timeout "
                        "or check the command")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue


def check_experiment_unchanged(record: SlurmRecord) -> Path:
    path = Path(record.experiment_file)
    if not path.exists():
        raise UserError(f"the experiment file {path} is gone; restore it or submit again into a new --out folder")
    if sha256_of(path) != record.experiment_sha256:
        raise UserError(f"the experiment file {path} changed since it was submitted: its shards would mix two "
                        "plans; restore it, or submit the new version into a new --out folder")
    return path


def run_task(out: Path, index: int) -> int:
    """Run shard `index` (0-based, as SLURM numbers array tasks); returns the shard run's exit code."""
    record = require_record(out)
    if not 0 <= index < record.shards:
        raise UserError(f"array task {index} is outside 0-{record.shards - 1} (the folder has {record.shards} shards)")
    experiment = check_experiment_unchanged(record)
    env = dict(os.environ)
    server = None
    if record.options.serve:
        server = ModelServer(record.options.serve, out / "logs" / f"serve-{index}.log", record.options.serve_timeout_s)
        env[SERVED_URL_ENV] = server.url
        env[SERVED_MODELS_ENV] = ",".join(record.options.serve_models)
    started = time.monotonic()
    try:
        if server is not None:
            server.start()
        command = [record.python, "-m", "debatelab", "run", str(experiment), "--db", str(shard_db(out, index)),
                   "--checkpoints", str(shard_checkpoints(out, index)), "--shard", f"{index + 1}/{record.shards}",
                   "--quiet"]
        code = subprocess.call(command, env=env, cwd=record.workdir)
    finally:
        if server is not None:
            server.stop()
    if code == 0:
        shard_done(out, index).write_text(json.dumps({
            "shard": index, "of": record.shards, "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(time.monotonic() - started, 1), "node": socket.gethostname(),
            "job": os.environ.get("SLURM_JOB_ID"), "array_job": os.environ.get("SLURM_ARRAY_JOB_ID"),
        }) + "\n")
    return code
