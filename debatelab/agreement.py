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

import krippendorff
import numpy as np
from scipy import stats

from debatelab.human_ratings import is_human
from debatelab.reliability import ordinal_alpha
from debatelab.store import Store

OVERALL = "overall"
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


def _human_alpha(cells: Cells, debates: list[str], domain: list[int] | None) -> float | None:
    raters = sorted({r for d in debates for r in cells[d] if is_human(r)})
    matrix = [[cells[d].get(r, np.nan) for d in debates] for r in raters]
    return ordinal_alpha(matrix, domain)


def _judge_alpha(cells: Cells, debates: list[str], judge: str, domain: list[int] | None) -> float | None:
    """Two raters (the humans, the judge) over (human, debate) units."""
    human_row, judge_row = [], []
    for d in debates:
        if judge not in cells[d]:
            continue
        for rater, score in cells[d].items():
            if is_human(rater):
                human_row.append(score)
                judge_row.append(cells[d][judge])
    return ordinal_alpha([human_row, judge_row], domain) if human_row else None


def _alpha_of_counts(counts: np.ndarray, domain: list[Any]) -> float | None:
    """Ordinal alpha from a units x values count matrix; None when undefined."""
    pairable = counts[counts.sum(axis=1) >= 2]
    if len(pairable) < 1 or np.count_nonzero(pairable.sum(axis=0)) < 2:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = krippendorff.alpha(value_counts=pairable, level_of_measurement="ordinal", value_domain=domain)
    except (ValueError, ZeroDivisionError):
        return None
    return None if a is None or np.isnan(a) else float(a)


def _verdict(cells: Cells, debates: list[str], judge: str, domain: list[int] | None, seed: int) -> str:
    """Bootstrap over debates of (judge-human alpha - human-human alpha), on value-count matrices
    built once: a resample only re-indexes rows, so 200 resamples take a fraction of a second."""
    doubly = [d for d in debates if sum(is_human(r) for r in cells[d]) >= 2]
    if len(doubly) < MIN_DOUBLY_RATED:
        return (f"too few debates rated by two or more people ({len(doubly)}; need {MIN_DOUBLY_RATED}) "
                f"to compare the judge with human agreement")
    values = sorted(domain) if domain else sorted({s for d in doubly for s in cells[d].values()})
    column = {v: i for i, v in enumerate(values)}
    human_units = np.zeros((len(doubly), len(values)))
    judge_units: list[list[np.ndarray]] = []
    for k, d in enumerate(doubly):
        rows = []
        for rater, score in cells[d].items():
            if is_human(rater):
                human_units[k, column[score]] += 1
                if judge in cells[d]:
                    unit = np.zeros(len(values))
                    unit[column[score]] += 1
                    unit[column[cells[d][judge]]] += 1
                    rows.append(unit)
        judge_units.append(rows)
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(BOOTSTRAP_RESAMPLES):
        idx = rng.integers(0, len(doubly), size=len(doubly))
        pairs = [u for i in idx for u in judge_units[i]]
        a_h = _alpha_of_counts(human_units[idx], values)
        a_j = _alpha_of_counts(np.array(pairs), values) if pairs else None
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
        domain_c = None if criterion == OVERALL else domain  # overall scores are not on the rubric's scale
        humans = len({r for d in rated for r in cells[d] if is_human(r)})
        alpha_h = _human_alpha(cells, rated, domain_c)
        doubly = sum(sum(is_human(r) for r in cells[d]) >= 2 for d in rated)
        judges = sorted({r for d in rated for r in cells[d] if not is_human(r)})
        for judge in judges:
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
                criterion, judge, humans, len(both), alpha_h, doubly, _judge_alpha(cells, both, judge, domain_c), mad,
                rho, _verdict(cells, rated, judge, domain_c, seed)))
    return out


def overall_rows(judgments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Judgment rows as score rows of criterion `overall` (rounded to the nearest half for alpha)."""
    return [{"debate_id": j["debate_id"], "judge": j["judge"], "sample": j["sample"], "permuted": j["permuted"],
             "criterion": OVERALL, "score": None if j["overall"] is None else round(2 * float(j["overall"])) / 2}
            for j in judgments]


def experiment_agreement(store: Store, experiment: str, rubric_version: str | None, criteria: list[str],
                         domain: list[int] | None) -> list[JudgeAgreement]:
    """The agreement table of one experiment and rubric version (empty when nobody rated it)."""
    if not rubric_version or not store.has_human_judgments(experiment, rubric_version):
        return []
    rows = (store.human_rated_scores(experiment, rubric_version)
            + overall_rows(store.human_rated_judgments(experiment, rubric_version)))
    return agreement_table(rows, [OVERALL, *criteria], domain)


def agreement_lines(table: list[JudgeAgreement]) -> list[str]:
    """One plain sentence per LLM judge, on the overall score (or the first criterion rated)."""
    lines = []
    for judge in dict.fromkeys(a.judge for a in table):
        rows = [a for a in table if a.judge == judge]
        main = next((a for a in rows if a.criterion == OVERALL), rows[0])
        lines.append(f"{judge} vs {main.humans} human rater(s) on {main.criterion} ({main.debates} debates): "
                     f"{main.verdict}.")
    return lines
