"""How likely the model found each option letter, read from the log-probabilities of its reply.

EnsemW2S (arXiv 2410.04571) combines weak agents by alpha-weighted option probabilities where
they are available, not only by their chosen letters: an agent that picked B at 40% against C at
38% should count for less than one that picked B at 95%. When asked, Ollama (and the embedded
endpoint) return, for every output token, its log-probability and the top alternatives. The
answer is JSON such as {"reason": "...", "letter": "B"}; the token that writes the letter's value,
and its alternatives that would have written another letter there, give the distribution.

The alternatives are the model's own next-token probabilities at that position (llama.cpp reports
them before the JSON grammar masks tokens), restricted to the question's letters and renormalised.
Letters outside the top alternatives get 0. When the reply cannot be aligned with its tokens, the
result is None and the caller falls back to the letter alone; it never guesses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

LETTER_VALUE = re.compile(r'"letter"\s*:\s*"')


@dataclass(frozen=True)
class OptionProbabilities:
    probs: dict[str, float]  # letter -> probability, summing to 1 over the question's letters
    mass: float  # probability the model put on any letter at that position, before renormalising


def _get(entry: Any, key: str) -> Any:
    if isinstance(entry, Mapping):
        return entry.get(key)
    return getattr(entry, key, None)


def _token_bytes(entry: Any) -> bytes:
    raw = _get(entry, "bytes")
    if isinstance(raw, list | tuple) and all(isinstance(b, int) for b in raw):
        return bytes(raw)
    return str(_get(entry, "token") or "").encode()


def option_probabilities(text: str, logprobs: Sequence[Any] | None,
                         letters: Sequence[str]) -> OptionProbabilities | None:
    """The distribution over `letters` where the reply `text` writes its "letter" value.

    None when there are no logprobs, the tokens do not spell `text`, or no alternative at that
    position is a letter.
    """
    if not logprobs:
        return None
    matches = list(LETTER_VALUE.finditer(text))
    if not matches:
        return None
    target = len(text[: matches[-1].end()].encode())  # byte offset of the letter's value
    pieces = [_token_bytes(e) for e in logprobs]
    if b"".join(pieces) != text.encode():
        return None
    start = 0
    for entry, piece in zip(logprobs, pieces, strict=True):
        if start <= target < start + len(piece):
            return _letters_at(entry, piece[: target - start], letters)
        start += len(piece)
    return None


def _letters_at(entry: Any, prefix: bytes, letters: Sequence[str]) -> OptionProbabilities | None:
    """Sum the alternatives at this token that write `prefix` + one letter (+ an optional closing quote)."""
    found = dict.fromkeys(letters, 0.0)
    alternatives = list(_get(entry, "top_logprobs") or []) or [entry]
    for alt in alternatives:
        piece = _token_bytes(alt)
        if not piece.startswith(prefix):
            continue
        rest = piece[len(prefix):].decode("utf-8", errors="replace")
        letter, tail = rest[:1], rest[1:]
        if letter in found and tail in ("", '"', '"}', '" }', '",'):
            logprob = _get(alt, "logprob")
            if isinstance(logprob, int | float) and math.isfinite(logprob):
                found[letter] += math.exp(logprob)
    mass = sum(found.values())
    if mass <= 0:
        return None
    return OptionProbabilities({k: v / mass for k, v in found.items()}, round(mass, 6))
