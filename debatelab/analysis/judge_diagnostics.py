"""Judge diagnostics: is the judge measuring anything?

A rubric table of seven criteria reads as seven findings. If the judge gave one score to every
criterion of a debate, it is one finding printed seven times; if it gave one score to every
debate, it measured nothing; if a pairwise judge always picks the response shown first, its
"preferences" are positions. Each is flagged beside the table it would mislead (caption, terminal
summary and report.json's `judge_diagnostics`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pandas as pd

FLAT_SHARE = 0.8  # flag a judge whose judgments are flat across criteria this often
POSITION_SHARE = 0.8  # flag a pairwise judge that picks one position this often
MIN_POSITION_VERDICTS = 10


def rubric_diagnostics(scores: pd.DataFrame, judgments: pd.DataFrame) -> list[dict[str, Any]]:
    """Per judge: judgments flat across criteria (one score for every criterion), and whether its
    overall score is the same for every debate."""
    out = []
    if scores.empty and judgments.empty:
        return out
    for judge in sorted(set(judgments.judge) if not judgments.empty else set(scores.judge)):
        mine = scores[scores.judge == judge].dropna(subset=["score"]) if not scores.empty else scores
        per_judgment = mine.groupby(["debate_id", "sample", "permuted"])["score"] if not mine.empty else None
        spread = per_judgment.agg(["nunique", "size"]) if per_judgment is not None else pd.DataFrame()
        multi = spread[spread["size"] >= 2] if not spread.empty else spread
        flat = int((multi["nunique"] == 1).sum()) if not multi.empty else 0
        overall = judgments[(judgments.judge == judge)].groupby("debate_id")["overall"].mean().dropna() \
            if not judgments.empty else pd.Series(dtype=float)
        flags = []
        if len(multi) and flat / len(multi) >= FLAT_SHARE:
            flags.append(f"flat: the same score to every criterion in {flat} of {len(multi)} judgments (the "
                         f"criteria rows repeat one measurement)")
        if len(overall) >= 2 and overall.nunique() == 1:
            flags.append(f"constant: the same overall score ({overall.iloc[0]:g}) for all {len(overall)} debates "
                         f"(it tells no debate from another)")
        out.append({"judge": judge, "judgments": int(len(multi)), "flat_judgments": flat,
                    "debates": int(len(overall)), "distinct_overall_scores": int(overall.nunique()),
                    "flags": flags})
    return out


def position_diagnostics(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per pairwise judge: how often it picked the response shown first (ties left out)."""
    first: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        if r.get("winner") not in ("a", "b") or r.get("ord") not in ("ab", "ba"):
            continue
        judge = str(r.get("judge") or str(r["pair_key"]).rsplit("|", 1)[-1])
        first[judge].append((r["ord"] == "ab") == (r["winner"] == "a"))
    out = []
    for judge, picks in sorted(first.items()):
        share = sum(picks) / len(picks)
        flags = []
        if len(picks) >= MIN_POSITION_VERDICTS and max(share, 1 - share) >= POSITION_SHARE:
            where = "first" if share >= 0.5 else "second"
            flags.append(f"position: picked the response shown {where} in {max(share, 1 - share):.0%} of "
                         f"{len(picks)} verdicts")
        out.append({"judge": judge, "pairwise_verdicts": len(picks), "picked_first": round(share, 4),
                    "flags": flags})
    return out


def diagnostic_lines(diagnostics: list[dict[str, Any]]) -> list[str]:
    """One plain line per flag, naming the judge."""
    return [f"judge {d['judge']}: {flag}" for d in diagnostics for flag in d.get("flags", [])]
