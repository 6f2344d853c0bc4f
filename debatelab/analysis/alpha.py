"""Krippendorff's alpha (ordinal), one wrapper for every table that reports agreement.

The maintained `krippendorff` package computes it; this wrapper decides when it is *undefined*
(fewer than one unit with two ratings, or no variation in the values) and says so with None:
undefined is not perfect agreement, and a table shows it as '—'.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import krippendorff
import numpy as np


def alpha_of_counts(counts: np.ndarray, domain: Sequence[Any]) -> float | None:
    """Ordinal alpha from a units x values count matrix (how many raters gave each value to each
    unit); None when undefined."""
    if len(counts) == 0:
        return None
    pairable = counts[counts.sum(axis=1) >= 2]
    if len(pairable) < 1 or np.count_nonzero(pairable.sum(axis=0)) < 2:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = krippendorff.alpha(value_counts=pairable, level_of_measurement="ordinal", value_domain=list(domain))
    except (ValueError, ZeroDivisionError):
        return None
    return None if a is None or math.isnan(a) else float(a)


def counts_of(matrix: np.ndarray, domain: Sequence[Any]) -> np.ndarray:
    """A raters x units matrix (nan = missing) as units x values counts over `domain`."""
    column = {v: i for i, v in enumerate(domain)}
    counts = np.zeros((matrix.shape[1], len(domain)))
    for rater_row in matrix:
        for unit, value in enumerate(rater_row):
            if not np.isnan(value):
                counts[unit, column[value]] += 1
    return counts


def ordinal_alpha(matrix: list[list[float]] | np.ndarray, value_domain: Sequence[int] | None = None) -> float | None:
    """Alpha for a raters x units matrix (nan = missing); None when undefined (too little data: fewer
    than two raters or two rated units, or no variation)."""
    data = np.array(matrix, dtype=float)
    if data.ndim != 2 or data.shape[0] < 2 or np.sum(~np.isnan(data).all(axis=0)) < 2:
        return None
    observed = sorted(set(data[~np.isnan(data)].tolist()))
    domain = sorted(set(value_domain or []) | set(observed))
    return alpha_of_counts(counts_of(data, domain), domain)
