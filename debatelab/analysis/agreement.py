"""Does the LLM judge agree with people as well as people agree with each other?

Per criterion (and the overall score), over the debates that humans rated:

- Krippendorff's alpha (ordinal) among the human raters;
- alpha between each LLM judge and the humans: every (human, debate) rating paired with the
  judge's score for that debate, as two raters over those units. With one unit per pair this is
  the pooled pairwise alpha, directly comparable with the humans' alpha, which pools their pairs
  the same way;
- the judge's mean absolute difference from the human mean, and Spearman's rho with it;
- a plain verdict, from a bootstrap over debates of (judge-human alpha - human-human alpha):
  "clearly less" only when the whole 95% interval lies below zero.

Only each judge's first, unpermuted sample is used, as in the reliability table. Numbers come from
the maintained `krippendorff` and scipy packages.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from debatelab.analysis.alpha import alpha_of_counts
from debatelab.rubric import OVERALL, shipped_rubric
from debatelab.store import Store, is_human

BOOTSTRAP_RESAMPLES = 200
MIN_DOUBLY_RATED = 5  # below this many debates with two human ratings, no verdict is offered


@dataclass
class JudgeAgreement:
    criterion: str
    judge: str
    humans: int
    debates: int  # debates rated by at least one human and scored by the judge
    alpha_humans: float | None
    alpha_humans_n: int  # debates with two or more human ratings
    alpha_judge_humans: float | None
    mean_abs_diff: float | None
    spearman_rho: float | None
    verdict: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Cells = dict[str, dict[str, float]]  # debate -> rater -> score


def _human_counts(cells: Cells, debates: list[str], column: dict[float, int]) -> np.ndarray:
    """Per debate (a unit), how many human ratings fell on each scale value."""
    counts = np.zeros((len(debates), len(column)))
    for k, d in enumerate(debates):
        for rater, score in cells[d].items():
            if is_human(rater):
                counts[k, column[score]] += 1
    return counts


def _judge_counts(cells: Cells, debates: list[str], judge: str, column: dict[float, int]) -> list[list[np.ndarray]]:
    """Per debate, one unit per human rating: that rating and the judge's score (two raters)."""
    units: list[list[np.ndarray]] = []
    for d in debates:
        rows = []
        if judge in cells[d]:
            for rater, score in cells[d].items():
                if is_human(rater):
                    unit = np.zeros(len(column))
                    unit[column[score]] += 1
                    unit[column[cells[d][judge]]] += 1
                    rows.append(unit)
        units.append(rows)
    return units


def _judge_alpha(judge_units: list[list[np.ndarray]], idx: Any, values: list[Any]) -> float | None:
    pairs = [u for i in idx for u in judge_units[i]]
    return alpha_of_counts(np.array(pairs), values) if pairs else None


def _verdict(human_units: np.ndarray, judge_units: list[list[np.ndarray]], doubly: list[int], values: list[Any],
             seed: int) -> str:
    """Bootstrap over the doubly rated debates of (judge-human alpha - human-human alpha), on the
    count matrices built once: a resample only re-indexes rows, so 200 take a fraction of a second."""
    if len(doubly) < MIN_DOUBLY_RATED:
        return (f"too few debates rated by two or more people ({len(doubly)}; need {MIN_DOUBLY_RATED}) "
                f"to compare the judge with human agreement")
    rng = np.random.default_rng(seed)
    pool = np.array(doubly)
    diffs = []
    for _ in range(BOOTSTRAP_RESAMPLES):
        idx = pool[rng.integers(0, len(pool), size=len(pool))]
        a_h = alpha_of_counts(human_units[idx], values)
        a_j = _judge_alpha(judge_units, idx, values)
        if a_h is not None and a_j is not None:
            diffs.append(a_j - a_h)
    if len(diffs) < BOOTSTRAP_RESAMPLES // 2:
        return "agreement is undefined in most resamples (too little variation in the scores) - no verdict"
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    span = f"judge-human minus human-human alpha, 95% interval [{lo:+.2f}, {hi:+.2f}]"
    if hi < 0:
        return f"the judge agrees with people clearly less than people agree with each other ({span})"
    if lo > 0:
        return f"the judge agrees with people more than people agree with each other ({span})"
    return f"the judge agrees with people about as well as people agree with each other ({span})"


def agreement_table(score_rows: list[dict[str, Any]], criteria: list[str], domain: list[int] | None = None,
                    seed: int = 0) -> list[JudgeAgreement]:
    """score_rows: dicts with debate_id, judge, sample, permuted, criterion, score (the scores table),
    plus rows with criterion `overall` for the overall score if it is wanted."""
    from scipy import stats  # on first use: importing scipy costs every command ~1.5 s
    by_criterion: dict[str, Cells] = defaultdict(lambda: defaultdict(dict))
    for r in score_rows:
        if r["sample"] != 0 or r["permuted"] or r["score"] is None:
            continue
        by_criterion[r["criterion"]][r["debate_id"]][r["judge"]] = float(r["score"])
    out: list[JudgeAgreement] = []
    for criterion in criteria:
        cells = by_criterion.get(criterion, {})
        rated = sorted(d for d, raters in cells.items() if any(is_human(r) for r in raters))
        if not rated:
            continue
        # Overall scores are not on the rubric's scale: their values are the ones observed.
        values = sorted(domain) if domain and criterion != OVERALL else sorted(
            {s for d in rated for s in cells[d].values()})
        column = {v: i for i, v in enumerate(values)}
        humans = len({r for d in rated for r in cells[d] if is_human(r)})
        human_units = _human_counts(cells, rated, column)
        alpha_h = alpha_of_counts(human_units, values)
        doubly = [k for k, d in enumerate(rated) if sum(is_human(r) for r in cells[d]) >= 2]
        judges = sorted({r for d in rated for r in cells[d] if not is_human(r)})
        for judge in judges:
            judge_units = _judge_counts(cells, rated, judge, column)
            both = [d for d in rated if judge in cells[d]]
            human_mean = np.array([np.mean([s for r, s in cells[d].items() if is_human(r)]) for d in both])
            judge_scores = np.array([cells[d][judge] for d in both])
            mad = float(np.mean(np.abs(judge_scores - human_mean))) if both else None
            rho = None
            if len(both) >= 3 and np.ptp(judge_scores) > 0 and np.ptp(human_mean) > 0:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    rho = float(stats.spearmanr(judge_scores, human_mean).statistic)
            out.append(JudgeAgreement(
                criterion, judge, humans, len(both), alpha_h, len(doubly),
                _judge_alpha(judge_units, range(len(rated)), values), mad, rho,
                _verdict(human_units, judge_units, doubly, values, seed)))
    return out


def overall_rows(judgments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Judgment rows as score rows of criterion `overall` (rounded to the nearest half for alpha)."""
    return [{"debate_id": j["debate_id"], "judge": j["judge"], "sample": j["sample"], "permuted": j["permuted"],
             "criterion": OVERALL, "score": None if j["overall"] is None else round(2 * float(j["overall"])) / 2}
            for j in judgments]


def rubric_domain(rubric_id: str | None) -> list[int] | None:
    """A shipped rubric's scale as alpha's value domain (None for a rubric not shipped: the values
    observed are used then)."""
    rubric = shipped_rubric(rubric_id)
    return list(range(rubric.scale.min, rubric.scale.max + 1)) if rubric else None


def experiment_agreement(store: Store, experiment: str, rubric_version: str | None, criteria: list[str],
                         rubric_id: str | None) -> list[JudgeAgreement]:
    """The agreement table of one experiment and rubric version (empty when nobody rated it)."""
    if not rubric_version or not store.has_human_judgments(experiment, rubric_version):
        return []
    rows = (store.human_rated_scores(experiment, rubric_version)
            + overall_rows(store.human_rated_judgments(experiment, rubric_version)))
    return agreement_table(rows, [OVERALL, *criteria], rubric_domain(rubric_id))


def agreement_lines(table: list[JudgeAgreement]) -> list[str]:
    """One plain sentence per LLM judge, on the overall score (or the first criterion rated)."""
    lines = []
    for judge in dict.fromkeys(a.judge for a in table):
        rows = [a for a in table if a.judge == judge]
        main = next((a for a in rows if a.criterion == OVERALL), rows[0])
        lines.append(f"{judge} vs {main.humans} human rater(s) on {main.criterion} ({main.debates} debates): "
                     f"{main.verdict}.")
    return lines
