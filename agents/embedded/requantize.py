"""Re-encoding a GGUF's Q4_1 tensors as Q8_0, once, so llama.cpp's fast CPU kernels take them.

Why: SmolLM2's published file is Q4_1, a type that llama.cpp's CPU backend multiplies one row at a
time. Neither its batched matrix kernels (llamafile's tinyBLAS: Q8_0, Q4_0) nor its weight
repacking (Q4_0, Q4_K, IQ4_NL) take Q4_1, so prompts and two concurrent generations, which is all
the embedded endpoint does, run slower than they need to. The same weights as Q8_0 read prompts
~1.4x faster and lower the demo's token floor from 173 s to 148 s on these two cores
(docs/explanations/performance.md).

Q8_0 (one scale per 32 weights, 8-bit steps) holds every Q4_1 weight (4-bit steps plus an offset)
to within half an 8-bit step: at most 0.43% of its block's largest weight in SmolLM2's file. That
is the same model to well within llama.cpp's own run-to-run variation (two runs of the demo on the
published file agree on a minority of scores). Q4_0 would be faster still but rounds every weight
to a coarser grid, i.e. a different model; it is not used.

The work is done with `gguf`, the llama.cpp project's own Python reader and writer, so the file's
metadata and tokenizer travel unchanged. It takes ~10 s for SmolLM2 and is written atomically: a
kill during conversion leaves no half-written model behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Keys the writer sets itself (or that would contradict the new tensor types) are not copied.
_NOT_COPIED = {"general.architecture", "general.alignment", "general.file_type"}


def requantize(src: Path, dst: Path, *, source_type: str = "Q4_1", target_type: str = "Q8_0") -> None:
    """Write `src` to `dst` with every `source_type` tensor re-encoded as `target_type`.

    Other tensors (norms in F32, the Q8_0 embedding) are copied byte for byte. The result records
    where it came from under `debatelab.requantized_from`.
    """
    import gguf  # imported here: numpy-heavy, and only needed once per machine
    import numpy as np

    source = gguf.GGMLQuantizationType[source_type]
    target = gguf.GGMLQuantizationType[target_type]
    reader = gguf.GGUFReader(src)
    arch = reader.fields["general.architecture"].contents()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".part", dir=dst.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer = gguf.GGUFWriter(tmp, arch=arch)
        for name, field in reader.fields.items():
            if name.startswith("GGUF.") or name in _NOT_COPIED:
                continue
            value_type = field.types[0]
            sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
            writer.add_key_value(name, field.contents(), value_type, sub_type=sub_type)
        writer.add_file_type(gguf.LlamaFileType[f"MOSTLY_{target_type}"])
        writer.add_string("debatelab.requantized_from", f"{source_type} file {src.name}")
        for tensor in reader.tensors:
            if tensor.tensor_type == source:
                weights = gguf.quants.dequantize(tensor.data, source).astype(np.float32)
                encoded = gguf.quants.quantize(weights, target)
                writer.add_tensor(tensor.name, encoded, raw_shape=encoded.shape, raw_dtype=target)
            else:
                writer.add_tensor(tensor.name, tensor.data, raw_shape=tensor.data.shape,
                                  raw_dtype=tensor.tensor_type)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a model file is readable like its source
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
