"""`debatelab simulate`: a study's own design and analysis, run on outcomes drawn from a declared
truth, so that a researcher can plan a study (power, interval widths) and anyone can check the
statistics (coverage).

What is shared by every study's simulator: the truth file's loading, the running of many
simulated studies, and the tally. A simulated study returns the intervals its report prints
(`Interval`: the figure, the row's keys as report.json writes them, the bounds) and its tests (the
p the report prints, after Holm); the simulator's truth gives each a true value. The tally is
`estimates` (coverage and mean width per interval), `tests` (power per comparison) and
`family_wise_error` (for each family whose true differences are all zero, how often any of its
tests came out significant).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel

from debatelab.base import UserError, read_yaml, validate

ALPHA = 0.05
T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class Interval:
    """One interval a simulated study's report printed."""

    figure: str
    keys: tuple[tuple[str, Any], ...]
    estimate: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Test:
    """One test the report printed: its family (the table Holm runs over) and its corrected p."""

    family: str
    keys: tuple[tuple[str, Any], ...]
    p: float | None


@dataclass
class StudyOutcome:
    intervals: list[Interval] = field(default_factory=list)
    tests: list[Test] = field(default_factory=list)


TrueValue = Callable[[str, dict[str, Any]], float | None]


def load_truth(model: type[T], path: str | Path) -> T:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"truth file {p} not found; pass --truth with a YAML file (see `debatelab simulate --help`)")
    data = read_yaml(p)
    if not isinstance(data, dict):
        raise UserError(f"{p}: a truth file is a mapping of fields (see `debatelab simulate --help`)")
    return validate(model, data, str(p))


def gauss_hermite(points: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for E f(Z), Z ~ N(0, 1): a true value is an exact integral over the
    question and passage effects, not a Monte Carlo guess."""
    x, w = np.polynomial.hermite_e.hermegauss(points)
    return x, w / math.sqrt(2 * math.pi)


def expit(x: np.ndarray | float) -> Any:
    return 1 / (1 + np.exp(-x))


def simulate_many(one: Callable[[int], StudyOutcome], studies: int, true_value: TrueValue,
                  *, note: str = "") -> dict[str, Any]:
    """Run `one(i)` for every simulated study and tally coverage, widths, power and family-wise error."""
    started = time.monotonic()
    hits: dict[tuple[str, tuple[tuple[str, Any], ...]], list[tuple[float | None, float | None]]] = defaultdict(list)
    tests: dict[tuple[str, tuple[tuple[str, Any], ...]], list[float | None]] = defaultdict(list)
    families: dict[str, list[bool]] = defaultdict(list)
    family_true: dict[str, set[float]] = defaultdict(set)
    for i in range(studies):
        outcome = one(i)
        for iv in outcome.intervals:
            hits[(iv.figure, iv.keys)].append((iv.low, iv.high))
        rejected: dict[str, bool] = defaultdict(bool)
        for t in outcome.tests:
            tests[(t.family, t.keys)].append(t.p)
            rejected[t.family] |= t.p is not None and t.p < ALPHA
            truth = true_value("difference", dict(t.keys))
            family_true[t.family].add(round(truth, 9) if truth is not None else math.nan)
        for family, any_rejected in rejected.items():
            families[family].append(any_rejected)
    estimates = []
    for (figure, keys), bounds in hits.items():
        truth = true_value(figure, dict(keys))
        with_interval = [(lo, hi) for lo, hi in bounds if lo is not None and hi is not None]
        covered = None
        if truth is not None and with_interval:
            covered = round(sum(lo <= truth + 1e-9 and truth - 1e-9 <= hi for lo, hi in with_interval)
                            / len(with_interval), 4)
        estimates.append({"figure": figure, **dict(keys), "true": None if truth is None else round(truth, 4),
                          "coverage": covered, "mean_width": round(float(np.mean([hi - lo for lo, hi in with_interval])),
                                                                    4) if with_interval else None,
                          "studies": len(bounds), "without_interval": len(bounds) - len(with_interval)})
    power = []
    for (family, keys), ps in tests.items():
        truth = true_value("difference", dict(keys))
        power.append({"family": family, "comparison": f"{dict(keys).get('first')} - {dict(keys).get('second')}",
                      **dict(keys), "true_difference": None if truth is None else round(truth, 4),
                      "power": round(sum(p is not None and p < ALPHA for p in ps) / len(ps), 4), "studies": len(ps)})
    fwer = [{"family": family, "rate": round(sum(r) / len(r), 4), "studies": len(r), "tests_per_study":
             sum(1 for (f, _) in tests if f == family)}
            for family, r in families.items() if family_true[family] == {0.0}]
    covered = [e["coverage"] for e in estimates if e["coverage"] is not None]
    return {"studies": studies, "seconds": round(time.monotonic() - started, 1), "alpha": ALPHA,
            "mean_coverage": round(float(np.mean(covered)), 4) if covered else None,
            "coverage_standard_error": round(math.sqrt(0.95 * 0.05 / studies), 4) if studies else None,
            "note": note, "estimates": estimates, "tests": power, "family_wise_error": fwer}


def keyed(row: dict[str, Any], names: Iterable[str]) -> tuple[tuple[str, Any], ...]:
    """A row's keys as report.json writes them (those present)."""
    return tuple((k, row[k]) for k in names if row.get(k) is not None)
