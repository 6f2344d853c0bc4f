"""The few SLURM commands debatelab uses (`sbatch`, `squeue`, `scancel`, `sacct`), each turned into
a value or one clear line. Only this module runs them, so a test can see what was asked of SLURM."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from debatelab.base import UserError

TIMEOUT_S = 60.0


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise UserError(f"no {name} on PATH: run this on a SLURM login node (or load its module), or use "
                        "`debatelab slurm submit --dry-run` to write the scripts without submitting")
    return path


def require_sbatch() -> None:
    """Fail before anything is written when this machine cannot submit."""
    _tool("sbatch")


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise UserError(f"{Path(args[0]).name} did not answer within {TIMEOUT_S:.0f} s; is the SLURM controller "
                        "up (`sinfo`)?") from None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def sbatch(script: Path, *args: str) -> str:
    """Submit `script`; returns the job id (sbatch's own message on refusal)."""
    done = _run([_tool("sbatch"), "--parsable", *args, str(script)])
    if done.returncode != 0:
        raise UserError(f"sbatch refused {script.name}: {_last_line(done.stderr or done.stdout)}")
    return done.stdout.strip().split(";")[0]


def scancel(job_id: str) -> None:
    _run([_tool("scancel"), job_id])


@dataclass(frozen=True)
class QueuedTask:
    job_id: str  # "123_4" for an array task, "125" for a job
    state: str  # PENDING, RUNNING, ...
    reason: str

    @property
    def array_index(self) -> int | None:
        _, sep, index = self.job_id.partition("_")
        return int(index) if sep and index.isdigit() else None


def queued(name: str) -> list[QueuedTask]:
    """The jobs and array tasks named `name` that SLURM still holds (pending arrays expanded)."""
    done = _run([_tool("squeue"), "-h", "-r", f"--name={name}", "-o", "%i|%T|%r"])
    if done.returncode != 0:
        raise UserError(f"squeue failed: {_last_line(done.stderr or done.stdout)}")
    tasks = []
    for line in done.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 3:
            tasks.append(QueuedTask(*parts))
    return tasks


def finished_states(job_ids: list[str]) -> dict[str, str] | None:
    """State per job/array task from accounting (`sacct`), or None where accounting does not answer."""
    if not job_ids or shutil.which("sacct") is None:
        return None
    done = _run(["sacct", "-n", "-P", "-X", "-j", ",".join(job_ids), "-o", "JobID,State"])
    if done.returncode != 0:
        return None
    states = {}
    for line in done.stdout.splitlines():
        job, _, state = line.strip().partition("|")
        if job:
            states[job] = state.split()[0] if state else ""
    return states
