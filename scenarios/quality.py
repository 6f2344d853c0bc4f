"""QuALITY (Pang et al. 2022) in its official release format: long stories with questions that
readers under time pressure get wrong, as Khan et al. 2024 and Michael et al. 2023 debated them.

One article per JSONL line: `article` (HTML), `questions` with `options`, a 1-indexed `gold_label`,
`validation` (untimed annotators: `untimed_answer`, `untimed_eval1_answerability`,
`untimed_eval2_context`, `untimed_best_distractor`), `speed_validation` and `difficult` (the format
is described in nyu-mll/quality's README). debatelab ships none of the text: it reads the file a
user has (`debatelab data fetch quality` downloads the official zip).

Two options, as Khan et al.: the gold answer and the annotators' most-voted best distractor (ties
broken by a stored seed). `hard` keeps `difficult` = 1 and nothing else; Khan's other filters are
separate options, off by default.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from debatelab.base import UserError, sha256_of
from debatelab.scenarios.questions import Question

SOURCE = "QuALITY v1.0.1 (Pang et al. 2022, https://github.com/nyu-mll/quality)"
LICENCE = "QuALITY: CC BY 4.0; the articles: Project Gutenberg (public domain) and others as each record's 'license'"
HIDDEN = {"head", "script", "style"}
BLOCKS = {"p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "blockquote", "pre", "hr"}


class _Text(HTMLParser):
    """Text of an HTML article with a blank line between blocks (as the dataset's htmlstripped files)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0  # inside <head>, <script> or <style>: not the article's text

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in HIDDEN:
            self.hidden += 1
        if tag in BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        if tag in BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def strip_html(article: str) -> str:
    parser = _Text()
    parser.feed(article)
    parser.close()
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", "".join(parser.parts))]
    return "\n\n".join(p for p in paragraphs if p)


@dataclass(frozen=True)
class QualityFilters:
    """Khan et al.'s filters, each off unless asked for (`hard` alone is the HARD subset)."""

    hard: bool = False
    untimed_accuracy: bool = False  # every untimed annotator chose the gold answer
    answerable: bool = False  # no untimed annotator found it unanswerable (eval1 answerability)
    context_required: float | None = None  # mean untimed_eval2_context at least this (Khan: 1.5)
    per_story: int | None = None  # at most this many questions per story (Khan: 5)
    options: int = 2  # 2: gold + best distractor; 4: every option


def _best_distractor(q: dict[str, Any], gold: int, seed: int, qid: str) -> int | None:
    votes = Counter(int(v["untimed_best_distractor"]) for v in q.get("validation") or []
                    if isinstance(v, dict) and str(v.get("untimed_best_distractor", "")).isdigit()
                    and int(v["untimed_best_distractor"]) != gold)
    if not votes:
        return None
    top = max(votes.values())
    tied = sorted(k for k, n in votes.items() if n == top)
    return random.Random(f"{seed}|best-distractor|{qid}").choice(tied)


def _keep(q: dict[str, Any], gold: int, f: QualityFilters) -> bool:
    val = [v for v in q.get("validation") or [] if isinstance(v, dict)]
    if f.hard and int(q.get("difficult") or 0) != 1:
        return False
    if f.untimed_accuracy and not (val and all(int(v.get("untimed_answer", 0)) == gold for v in val)):
        return False
    if f.answerable and any(int(v.get("untimed_eval1_answerability", 1)) > 1 for v in val):
        return False
    if f.context_required is not None:
        ctx = [float(v["untimed_eval2_context"]) for v in val if "untimed_eval2_context" in v]
        if not ctx or sum(ctx) / len(ctx) < f.context_required:
            return False
    return True


def read_quality(path: Path, filters: QualityFilters = QualityFilters(), seed: int = 0) -> list[Question]:
    """Questions of a QuALITY release file; a malformed line or question is named and refused."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path} ({getattr(exc, 'strerror', None) or exc}); pass a QuALITY .jsonl file "
                        "(e.g. QuALITY.v1.0.1.htmlstripped.dev or the release's JSONL)") from None
    out: list[Question] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
            article, questions = rec["article"], rec["questions"]
            story = str(rec.get("article_id") or rec.get("set_unique_id") or number)
            passage = strip_html(article) if "<" in article else article.strip()
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(f"{path}: line {number}: not a QuALITY record ({type(exc).__name__}: {exc}); each line "
                            "holds an 'article' and its 'questions'") from None
        kept = 0
        for k, q in enumerate(questions):
            qid = str(q.get("question_unique_id") or f"{story}:{k}")
            try:
                options, gold = [str(o) for o in q["options"]], int(q["gold_label"])
                if not 1 <= gold <= len(options):
                    raise ValueError(f"gold_label {gold} outside 1-{len(options)}")
            except (KeyError, TypeError, ValueError) as exc:
                raise UserError(f"{path}: line {number}: question {qid}: {exc}; each needs 'options' and a 1-indexed "
                                "'gold_label'") from None
            if not _keep(q, gold, filters) or (filters.per_story is not None and kept >= filters.per_story):
                continue
            if filters.options == 2:
                other = _best_distractor(q, gold, seed, qid)
                if other is None:
                    continue  # no annotator named a best distractor: no two-option question to debate
                gold_first = random.Random(f"{seed}|quality-order|{qid}").random() < 0.5
                pair = [options[gold - 1], options[other - 1]] if gold_first else [options[other - 1], options[gold - 1]]
                item = Question(id=qid, question=str(q["question"]), options=pair, answer="A" if gold_first else "B",
                                passage=passage,
                                source=SOURCE, difficulty="hard" if int(q.get("difficult") or 0) else "")
            else:
                item = Question(id=qid, question=str(q["question"]), options=options, answer="ABCD"[gold - 1],
                                passage=passage, source=SOURCE,
                                difficulty="hard" if int(q.get("difficult") or 0) else "")
            out.append(item)
            kept += 1
    if not out:
        raise UserError(f"{path}: no question of the file passes the filters asked for; relax 'hard' or the others")
    return out


def quality_file(path: Path, split: str = "dev") -> Path:
    """The file itself, or in a folder (the unzipped release) the htmlstripped file of `split`."""
    if path.is_file():
        return path
    if path.is_dir():
        found = sorted(path.rglob(f"QuALITY.v1.0.1.htmlstripped.{split}")) or sorted(path.rglob(f"*.{split}"))
        if found:
            return found[0]
        raise UserError(f"{path}: no QuALITY file of split {split!r} in this folder (QuALITY.v1.0.1.htmlstripped."
                        f"{split}); pass the file, or another split")
    raise UserError(f"QuALITY file {path} not found; download it with `debatelab data fetch quality` or pass its path")


RELEASE_URL = "https://github.com/nyu-mll/quality/raw/main/data/v1.0.1/QuALITY.v1.0.1.zip"
CITATION = "Pang et al. 2022, QuALITY: Question Answering with Long Input Texts, Yes!, NAACL 2022"


def fetch_quality(dest: Path, url: str = RELEASE_URL) -> Path:
    """Download the official v1.0.1 zip, unzip it into `dest`, and keep PROVENANCE.json beside it
    (the URL, the zip's sha256, licence, citation, date): the release has no pinned checksum to
    check, so the one a run used is recorded. Returns the folder holding the split files."""
    import tempfile
    import zipfile
    from datetime import UTC, datetime

    from debatelab.scenarios.download import download

    if dest.exists() and any(dest.iterdir()):
        raise UserError(f"{dest} exists and is not empty; use it (`questions: {{set: quality, path: {dest}}}`) or "
                        "pass another --to")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="debatelab-fetch-") as tmp:
        archive = Path(tmp) / "QuALITY.v1.0.1.zip"
        download(url, archive, "download QuALITY.v1.0.1.zip from github.com/nyu-mll/quality yourself and unzip it")
        try:
            with zipfile.ZipFile(archive) as z:
                for member in z.namelist():
                    if member.startswith(("/", "\\")) or ".." in Path(member).parts:
                        raise UserError(f"{url}: the zip holds an unsafe path {member!r}; nothing was kept")
                z.extractall(dest)
        except zipfile.BadZipFile:
            raise UserError(f"{url}: not a zip file; nothing was kept") from None
        sha = sha256_of(archive)
    (dest / "PROVENANCE.json").write_text(json.dumps({
        "dataset": "QuALITY v1.0.1", "url": url, "sha256": sha, "licence": LICENCE, "citation": CITATION,
        "downloaded_at": datetime.now(UTC).isoformat(timespec="seconds")}, indent=2) + "\n")
    return dest
