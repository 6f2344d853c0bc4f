"""Human ratings are judgments: judge `human:<rater>`, one score per criterion, in the same tables.

Ratings arrive from the viewer's blind rating page (one debate at a time) or from a CSV file
collected elsewhere (a spreadsheet, Prolific). Either way they are validated against the rubric,
written with deterministic ids (so an import is idempotent and a re-submitted rating replaces
the earlier one), and the experiment's reliability figures are recomputed so they include people.
"""

from __future__ import annotations

import csv
import io
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from debatelab.base import UserError, neutralise_cell, read_user_text, restore_cell
from debatelab.judging.absolute import judgment_id_for
from debatelab.judging.stored import update_reliability
from debatelab.rubric import Rubric
from debatelab.store import HUMAN_PREFIX, Store

RATER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
CSV_COLUMNS = ("debate_id", "rater", "criterion", "score", "reason")
REQUIRED_COLUMNS = CSV_COLUMNS[:4]
NO_OPINION_WORDS = {"", "na", "n/a", "no opinion", "none", "-"}
MAX_REASON_CHARS = 4000


def check_rater(name: str, where: str = "rater") -> str:
    """A rater's name becomes part of a judge id: letters, digits, `_`, `.` and `-`, up to 40."""
    name = name.strip()
    if not RATER_PATTERN.match(name):
        raise UserError(f"{where}: {name[:60]!r} is not a usable rater name; use 1-40 letters, digits, '_', '.' "
                        f"or '-', starting with a letter or digit")
    return name


@dataclass
class HumanRating:
    """One rater's scores for one debate (None = no opinion) and optional reasons per criterion."""

    debate_id: str
    rater: str
    scores: dict[str, int | None]
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def judge(self) -> str:
        return HUMAN_PREFIX + self.rater


def rating_rows(experiment: str, rating: HumanRating, rubric: Rubric) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The judgment row and score rows a rating is stored as (sample 0, never permuted)."""
    judgment_id = judgment_id_for(rating.debate_id, rubric, rating.judge, 0)
    scores = {c.id: rating.scores.get(c.id) for c in rubric.criteria}
    judgment = {
        "judgment_id": judgment_id, "experiment": experiment, "debate_id": rating.debate_id, "rubric": rubric.id,
        "rubric_version": rubric.version, "judge": rating.judge, "sample": 0, "permuted": 0,
        "overall": rubric.overall_score(scores), "n_scored": sum(v is not None for v in scores.values()),
        "n_unscored": sum(v is None for v in scores.values()), "speaker_order": "", "finished_at": time.time(),
    }
    base = {k: judgment[k] for k in ("judgment_id", "experiment", "debate_id", "rubric", "rubric_version", "judge",
                                      "sample", "permuted")}
    rows = [{**base, "score_id": f"{judgment_id}:{c}", "criterion": c, "score": v,
             "unscored_reason": None if v is not None else
             ("no opinion" if c in rating.scores else "not rated (absent from the ratings)"),
             "rationale": (rating.reasons.get(c) or "")[:MAX_REASON_CHARS], "attempts": 1}
            for c, v in scores.items()]
    return judgment, rows


def check_scores(rubric: Rubric, scores: dict[str, int | None], where: str) -> None:
    for criterion, score in scores.items():
        try:
            rubric.criterion(criterion)
        except KeyError:
            raise UserError(f"{where}: unknown criterion {criterion!r}; rubric {rubric.id} has "
                            f"{', '.join(c.id for c in rubric.criteria)}") from None
        if score is not None and not rubric.scale.min <= score <= rubric.scale.max:
            raise UserError(f"{where}: score {score} for {criterion} is outside the scale "
                            f"{rubric.scale.min}-{rubric.scale.max}")


def save_rating(store: Store, rating: HumanRating, rubric: Rubric) -> str:
    """Store one rating at once (the viewer calls this on submit); returns the judgment id."""
    debate = store.debate(rating.debate_id)
    if debate is None:
        raise UserError(f"no debate {rating.debate_id!r} in {store.path}")
    check_rater(rating.rater)
    check_scores(rubric, rating.scores, f"rating of {rating.debate_id}")
    judgment, scores = rating_rows(debate["experiment"], rating, rubric)
    store.write_judgment(judgment, scores, [])
    return judgment["judgment_id"]


SCORE_PATTERN = re.compile(r"[0-9]+(?:\.0+)?", re.ASCII)


def _score_cell(text: str, rubric: Rubric, where: str) -> int | None:
    """A score in ASCII digits ("5", or "5.0" as spreadsheets write it). Other scripts' digits
    (Arabic-Indic "٥", full-width "５") are refused, though Python would read them: a score that a
    person cannot tell from a typo should not pass silently."""
    value = text.strip()
    if value.lower() in NO_OPINION_WORDS:
        return None
    if not SCORE_PATTERN.fullmatch(value):
        raise UserError(f"{where}: {value[:40]!r} is not a score; write a whole number "
                        f"{rubric.scale.min}-{rubric.scale.max} in ASCII digits, or leave it empty for no opinion")
    number = float(value)
    if not rubric.scale.min <= number <= rubric.scale.max:
        raise UserError(f"{where}: {value[:40]!r} is outside the scale; write a whole number "
                        f"{rubric.scale.min}-{rubric.scale.max}, or leave it empty for no opinion")
    return int(number)


def parse_ratings_csv(text: str, source: str, rubric: Rubric) -> list[HumanRating]:
    """Validate every row (naming the line and column on error) and group the rows per debate and rater.

    Parsing is strict (RFC 4180 quoting, `csv.reader(strict=True)`): a quote that is never closed,
    text after a closing quote, or a row with more or fewer cells than the header is an error naming
    its line, never a guess that swallows or drops cells."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise UserError(f"{source}: empty file; the first line must be the header "
                        f"{','.join(REQUIRED_COLUMNS)}[,reason]") from None
    except csv.Error as exc:
        raise UserError(f"{source} line 1: not valid CSV ({exc})") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise UserError(f"{source} line 1: the header lacks {', '.join(missing)}; the first line must be "
                        f"{','.join(REQUIRED_COLUMNS)}[,reason] (found {','.join(header)[:80]!r})")
    index = {name: header.index(name) for name in CSV_COLUMNS if name in header}
    ratings: dict[tuple[str, str], HumanRating] = {}
    seen: dict[tuple[str, str, str], int] = {}
    criteria = {c.id for c in rubric.criteria}
    line = reader.line_num + 1  # the line the next row starts on
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            why = ("a quoted cell opened on this line is never closed" if "end of data" in str(exc)
                   else f"not valid CSV ({exc}); quote a cell that holds commas, quotes or line breaks")
            raise UserError(f"{source} line {line}: {why}") from None
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise UserError(f"{source} line {start}: {len(row)} cells where the header has {len(header)}; quote a "
                            f"cell that holds a comma")
        cell = {name: row[i] for name, i in index.items()}
        debate_id = cell["debate_id"].strip()
        if not debate_id:
            raise UserError(f"{source} line {start}, column debate_id: empty")
        rater = check_rater(cell["rater"], f"{source} line {start}, column rater")
        criterion = cell["criterion"].strip()
        if criterion not in criteria:
            raise UserError(f"{source} line {start}, column criterion: {criterion[:40]!r} is not a criterion of "
                            f"rubric {rubric.id} ({', '.join(c.id for c in rubric.criteria)})")
        score = _score_cell(cell["score"], rubric, f"{source} line {start}, column score")
        key = (debate_id, rater, criterion)
        if key in seen:
            raise UserError(f"{source} line {start}: {rater} rated {criterion} of {debate_id[:60]!r} already on line "
                            f"{seen[key]}; keep one row per debate, rater and criterion")
        seen[key] = start
        rating = ratings.setdefault((debate_id, rater), HumanRating(debate_id, rater, {}))
        rating.scores[criterion] = score
        reason = restore_cell(cell.get("reason", "")).strip()
        if reason:
            rating.reasons[criterion] = reason
    if not ratings:
        raise UserError(f"{source}: no rating rows after the header")
    return list(ratings.values())


def import_ratings(store: Store, path: Path, rubric: Rubric) -> dict[str, Any]:
    """Import a ratings CSV all or nothing; re-importing the same file changes nothing."""
    ratings = parse_ratings_csv(read_user_text(path), str(path), rubric)
    known = store.debate_ids_known(sorted({r.debate_id for r in ratings}))
    unknown = sorted({r.debate_id for r in ratings} - set(known))
    if unknown:
        raise UserError(f"{path}: {len(unknown)} debate id(s) are not in {store.path} (first: {unknown[0]!r}); "
                        f"import ratings into the database that holds those debates")
    rows = [rating_rows(known[r.debate_id], r, rubric) for r in ratings]
    existing = {s["score_id"]: (s["score"], s["rationale"] or "") for r in ratings
                for s in store.judgment_scores_by_id(judgment_id_for(r.debate_id, rubric, r.judge, 0))}
    changed = [(j, s) for j, s in rows if any(existing.get(x["score_id"]) != (x["score"], x["rationale"]) for x in s)]
    store.write_judgments([(j, s) for j, s in changed])
    experiments = sorted(set(known.values()))
    if changed:  # nothing new: nothing is written, not even the reliability's timestamp
        for experiment in sorted({known[j["debate_id"]] for j, _ in changed}):
            layouts = {p for _, _, v, p in store.judged_rubric_versions(experiment) if v == rubric.version} or {"1"}
            for prompt_version in sorted(layouts):  # people's ratings join each LLM layout's reliability
                update_reliability(store, experiment, rubric, prompt_version)
    return {"ratings": len(rows), "written": len(changed), "unchanged": len(rows) - len(changed),
            "raters": sorted({r.rater for r in ratings}), "debates": len({r.debate_id for r in ratings}),
            "experiments": experiments, "rubric": rubric.label}


def export_ratings(store: Store, out: io.TextIOBase | Any, experiment: str | None = None) -> int:
    """Write every human rating in the import format; returns the number of rows. Free text that a
    spreadsheet would run as a formula is neutralised (`neutralise_cell`); importing the file back
    restores it."""
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    rows = store.human_score_rows(experiment)
    for r in rows:
        writer.writerow([neutralise_cell(v) for v in (r["debate_id"], r["rater"], r["criterion"],
                                                      "" if r["score"] is None else r["score"], r["reason"] or "")])
    return len(rows)
