"""Khan et al. 2024's human-judgment file ("Debating with More Persuasive LLMs Leads to More Truthful
Answers"), read row by row into validated judgments, with the dataset's own exclusions by name.

The file is `llm_debate_dataset.zip` (a CSV) in `ucl-dark/llm_debate`, `data/`; its fields are
documented in that repository's `data/dataset_readme.md`. It is stored there as a Git LFS object,
so debatelab ships none of it: it reads the CSV a user downloaded (or the zip holding it). A row
without a field the analysis needs, or with a value it cannot read, is named by its line and
skipped, never guessed.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from debatelab.base import UserError

PROVENANCE = {"repository": "https://github.com/ucl-dark/llm_debate", "file": "data/llm_debate_dataset.zip",
              "documentation": "data/dataset_readme.md", "licence": "MIT (the repository's licence)",
              "citation": "Khan et al. 2024, Debating with More Persuasive LLMs Leads to More Truthful Answers, "
                          "arXiv:2402.06782"}
REQUIRED = ("debate_id", "judge_id", "experiment_name", "debate_method", "swap", "correct")
METHODS = ("debate", "consultancy", "baseline")
# Judges who did not pass the test phase (dataset_readme.md): 30 started, 21 went on.
TEST_PHASE_JUDGES = frozenset({"11", "17", "20", "22", "29", "32", "34", "35", "36", "37"})


@dataclass(frozen=True)
class KhanJudgment:
    """One row: a debate, consultancy or baseline judged by one person."""

    debate_id: str
    judge_id: str
    experiment: str  # "8", "8_v0", "5_v0", ...: the number in experiment_name
    method: str  # debate, consultancy, baseline
    consultant_type: str | None  # correct, incorrect (consultancy)
    interactive: bool
    swap: bool  # the correct answer is B (else A)
    correct: bool
    confidence: float | None  # on the chosen answer, 0..1
    question: str
    story_title: str
    story_id: str
    context_required: float | None
    answers: tuple[str, str] | None  # (A, B) as the judge saw them
    speeches: tuple[tuple[int, str, str], ...]  # (round, "correct"/"incorrect"/"judge", text)
    line: int

    @property
    def truth(self) -> str:
        return "B" if self.swap else "A"


# -- the dataset's own exclusions (dataset_readme.md, "Judgements used for analysis in the paper") ---------
def _swap_bug(j: KhanJudgment) -> bool:
    return j.experiment in ("2", "3", "5_v0") and j.swap


EXCLUSIONS: dict[str, tuple[str, Any]] = {
    "8_v0": ("Experiment 8_v0 (GPT-4-Base as preference model; used in no analysis)", lambda j: j.experiment == "8_v0"),
    "swap_bug": ("swap=True rows of Experiments 2, 3 and 5_v0 (the worst argument was chosen)", _swap_bug),
    "context_required": ("Experiment 1 questions with context_required below 1.5",
                         lambda j: j.experiment == "1" and (j.context_required is None or j.context_required < 1.5)),
    "test_phase_judges": ("the 10 judges who did not pass the test phase", lambda j: j.judge_id in TEST_PHASE_JUDGES),
}
DEFAULT_EXCLUSIONS = ("8_v0", "swap_bug", "context_required")  # the authors applied these to every analysis


def excluded_by(j: KhanJudgment, names: tuple[str, ...]) -> str | None:
    return next((name for name in names if EXCLUSIONS[name][1](j)), None)


def check_exclusions(names: list[str]) -> tuple[str, ...]:
    unknown = [n for n in names if n not in EXCLUSIONS]
    if unknown:
        raise UserError(f"unknown exclusion {unknown[0]!r}; one of: {', '.join(EXCLUSIONS)}")
    return tuple(names)


# -- reading -------------------------------------------------------------------------------------------
def _bool(value: str, field: str) -> bool:
    text = value.strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"field '{field}' is {value!r}, not true or false")


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "", "nan", "NaN") else None
    except ValueError:
        return None


def _experiment(name: str) -> str:
    found = re.search(r"(\d+(?:_v\d+)?)", name)
    if not found:
        raise ValueError(f"experiment_name {name!r} holds no experiment number")
    return found.group(1)


def _transcript(text: str | None, swap: bool) -> tuple[tuple[str, str] | None, tuple[tuple[int, str, str], ...]]:
    """The answers in display order and the speeches, from the row's transcript JSON (empty if absent)."""
    if not text or not text.strip():
        return None, ()
    data = json.loads(text)
    answers = data.get("answers") or {}
    shown = None
    if isinstance(answers.get("correct"), str) and isinstance(answers.get("incorrect"), str):
        shown = (answers["incorrect"], answers["correct"]) if swap else (answers["correct"], answers["incorrect"])
    speeches = []
    for number, entry in enumerate(data.get("rounds") or [], start=1):
        if not isinstance(entry, dict):
            continue
        for who in ("correct", "incorrect", "judge"):
            said = entry.get(who)
            if isinstance(said, dict):
                said = said.get("response") or said.get("text") or json.dumps(said)
            if isinstance(said, str) and said.strip():
                speeches.append((number, who, said))
    return shown, tuple(speeches)


def _judgment(row: dict[str, str], line: int) -> KhanJudgment:
    missing = [f for f in REQUIRED if not (row.get(f) or "").strip()]
    if missing:
        raise ValueError(f"field '{missing[0]}' is missing")
    method = row["debate_method"].strip().lower()
    if method not in METHODS:
        raise ValueError(f"debate_method {row['debate_method']!r} is not one of {', '.join(METHODS)}")
    swap = _bool(row["swap"], "swap")
    confidence = _float(row.get("confidence"))
    if confidence is not None and confidence > 1:
        confidence /= 100.0  # a percentage
    if confidence is not None and not 0 <= confidence <= 1:
        raise ValueError(f"confidence {row.get('confidence')!r} is outside 0-100")
    try:
        answers, speeches = _transcript(row.get("transcript"), swap)
    except (ValueError, AttributeError, TypeError) as exc:
        raise ValueError(f"field 'transcript' is not the documented JSON ({type(exc).__name__})") from None
    consultant = (row.get("consultant_type") or "").strip().lower() or None
    return KhanJudgment(
        debate_id=row["debate_id"].strip(), judge_id=row["judge_id"].strip(),
        experiment=_experiment(row["experiment_name"]), method=method,
        consultant_type=consultant if consultant in ("correct", "incorrect") else None,
        interactive=_bool(row.get("interactive_judge") or "false", "interactive_judge"), swap=swap,
        correct=_bool(row["correct"], "correct"), confidence=confidence, question=(row.get("question") or "").strip(),
        story_title=(row.get("story_title") or "").strip(),
        story_id=(row.get("question_set_id") or row.get("story_title") or "").strip(),
        context_required=_float(row.get("context_required")), answers=answers, speeches=speeches, line=line)


def _csv_text(path: Path) -> str:
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if n.endswith(".csv") and not n.startswith("__MACOSX")]
                if not names:
                    raise UserError(f"{path}: the zip holds no .csv file; pass the dataset's CSV")
                return archive.read(names[0]).decode("utf-8")
        head = path.read_bytes()[:200]
        if head.startswith(b"version https://git-lfs"):
            raise UserError(f"{path} is a Git LFS pointer, not the data: fetch the file itself (git lfs pull, or "
                            "the file's download link on GitHub)")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        raise UserError(f"cannot read {path} ({getattr(exc, 'strerror', None) or exc}); pass the dataset's CSV or "
                        "zip") from None


def read_judgments(path: Path) -> tuple[list[KhanJudgment], list[str]]:
    """The valid rows, and one line per skipped row naming its line and why."""
    csv.field_size_limit(sys.maxsize)  # transcripts are long
    reader = csv.DictReader(io.StringIO(_csv_text(path), newline=""))
    missing = [f for f in REQUIRED if f not in (reader.fieldnames or [])]
    if missing:
        raise UserError(f"{path}: no column {missing[0]!r}; this is not Khan et al. 2024's judgment file "
                        "(see ucl-dark/llm_debate data/dataset_readme.md)")
    rows, skipped = [], []
    for row in reader:
        line = reader.line_num
        try:
            rows.append(_judgment(row, line))
        except ValueError as exc:
            skipped.append(f"{path}:{line}: {exc}")
    return rows, skipped
