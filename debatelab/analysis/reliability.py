"""How far the judging can be trusted: agreement between judges, order sensitivity, unscored rate.

- Krippendorff's alpha (ordinal) per criterion across judges, on each judge's first sample
  (`debatelab.analysis.alpha`).
- Flip rate: share of (debate, judge, criterion) scores that change when the speaker order is
  permuted (sample 0 in debate order vs later, permuted samples).
- Unscored rate: share of criterion judgments that could not be scored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from debatelab.analysis.alpha import ordinal_alpha


@dataclass(frozen=True)
class ScoreRow:
    debate_id: str
    judge: str
    sample: int
    permuted: bool
    criterion: str
    score: int | None


def alpha_by_criterion(rows: Iterable[ScoreRow], value_domain: list[int] | None = None) -> dict[str, float | None]:
    first: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    judges: set[str] = set()
    debates: set[str] = set()
    for r in rows:
        if r.sample != 0:
            continue
        judges.add(r.judge)
        debates.add(r.debate_id)
        first[r.criterion][(r.judge, r.debate_id)] = np.nan if r.score is None else float(r.score)
    out: dict[str, float | None] = {}
    j_list, d_list = sorted(judges), sorted(debates)
    for crit, cells in first.items():
        matrix = [[cells.get((j, d), np.nan) for d in d_list] for j in j_list]
        out[crit] = ordinal_alpha(matrix, value_domain)
    return out


def flip_rate(rows: Iterable[ScoreRow]) -> tuple[float | None, int]:
    """(share of permuted scores that differ from the unpermuted one, number of pairs)."""
    base: dict[tuple[str, str, str], int] = {}
    permuted: list[ScoreRow] = []
    for r in rows:
        if r.score is None:
            continue
        if r.sample == 0 and not r.permuted:
            base[(r.debate_id, r.judge, r.criterion)] = r.score
        elif r.permuted:
            permuted.append(r)
    pairs = [(base[(r.debate_id, r.judge, r.criterion)], r.score) for r in permuted
             if (r.debate_id, r.judge, r.criterion) in base]
    if not pairs:
        return None, 0
    return sum(a != b for a, b in pairs) / len(pairs), len(pairs)


def unscored_rate(rows: Iterable[ScoreRow]) -> tuple[float | None, int]:
    rows = list(rows)
    if not rows:
        return None, 0
    return sum(r.score is None for r in rows) / len(rows), len(rows)


def reliability_summary(rows: Iterable[ScoreRow], value_domain: list[int] | None = None) -> dict[str, Any]:
    rows = list(rows)
    flips, n_pairs = flip_rate(rows)
    unscored, n = unscored_rate(rows)
    return {
        "alpha_ordinal": alpha_by_criterion(rows, value_domain),
        "judges": len({r.judge for r in rows}),
        "flip_rate": flips,
        "flip_pairs": n_pairs,
        "unscored_rate": unscored,
        "criterion_judgments": n,
    }
