"""A throwaway single-node SLURM for the tests marked `slurm`: Debian's slurm-wlm and munge, a
slurm.conf under a temporary folder, daemons stopped by their PIDs afterwards. Needs root (munge's
key and the daemons' users); `.ci/run` installs the packages before the step that runs these tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CONF = """ClusterName=dltest
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AuthType=auth/munge
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName={host} CPUs={cpus} State=UNKNOWN
PartitionName=dltest Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def why_not_available() -> str | None:
    if shutil.which("sinfo") and subprocess.run(["sinfo", "-h"], capture_output=True).returncode == 0:
        return None  # a SLURM already answers here
    missing = [t for t in ("slurmctld", "slurmd", "munged", "sbatch") if shutil.which(t) is None]
    if missing:
        return f"no {', '.join(missing)} (apt-get install -y slurm-wlm munge)"
    if os.geteuid() != 0:
        return "starting a throwaway SLURM needs root"
    return None


def _idle() -> bool:
    done = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    return done.returncode == 0 and "idle" in done.stdout


@contextmanager
def single_node_slurm(root: Path) -> Iterator[None]:
    """Start slurmctld and slurmd (and munged if none runs) for the duration; reuse a running SLURM."""
    if shutil.which("sinfo") and _idle() and "SLURM_CONF" not in os.environ:
        yield
        return
    for sub in ("state", "spool", "log"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    conf = root / "slurm.conf"
    conf.write_text(CONF.format(host=socket.gethostname().split(".")[0], root=root, cpus=os.cpu_count(),
                                ctld_port=18837, d_port=18838))
    started: list[int] = []
    munge = Path("/etc/munge/munge.key")
    if not munge.exists():
        munge.parent.mkdir(parents=True, exist_ok=True)
        munge.write_bytes(os.urandom(1024))
        munge.chmod(0o400)
    for folder in ("/etc/munge", "/run/munge", "/var/lib/munge", "/var/log/munge"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        subprocess.run(["chown", "-R", "munge:munge", folder], capture_output=True)
    if subprocess.run(["pgrep", "-x", "munged"], capture_output=True).returncode != 0:
        subprocess.run(["munged", "--force"], capture_output=True)
        pid = subprocess.run(["pgrep", "-nx", "munged"], capture_output=True, text=True).stdout.strip()
        started += [int(pid)] if pid else []
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(conf)
    try:
        subprocess.run(["slurmctld", "-f", str(conf)], capture_output=True)
        subprocess.run(["slurmd", "-f", str(conf)], capture_output=True)
        for name in ("slurmctld", "slurmd"):
            for _ in range(50):
                pid_file = root / f"{name}.pid"
                if pid_file.exists() and pid_file.read_text().strip():
                    started.append(int(pid_file.read_text().strip()))
                    break
                time.sleep(0.1)
        deadline = time.monotonic() + 30
        while not _idle() and time.monotonic() < deadline:
            time.sleep(0.5)
        if not _idle():
            raise RuntimeError(f"a single-node SLURM did not start (see {root / 'log'})")
        yield
    finally:
        for pid in reversed(started):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if old is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old
