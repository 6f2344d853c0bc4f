"""An experiment's tables for the viewer, computed by the same code as the report and cached.

Bootstrap intervals over thousands of debates take a moment; the cache is keyed by the store's
data stamp for the experiment, so a page is recomputed exactly when a debate, judgment or
rating changes it (a rating submitted in the viewer shows up in the agreement table at once).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from debatelab.analysis import agreement_lines, analyse, experiment_agreement
from debatelab.judging import audit_line
from debatelab.rubric import OVERALL
from debatelab.store import Store, is_human

MAX_CACHED = 16


def config_rows(analysis: dict[str, Any]) -> list[dict[str, Any]]:
    """Configurations x (overall with its interval, each criterion), each cell with n and unscored."""
    return [{"config": e["config"], "kind": e["kind"], "topology": e["topology"],
             "cells": [{"metric": m, **e[m]} for m in analysis["metrics"]]} for e in analysis.get("per_config", [])]


class SummaryCache:
    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()

    def get(self, store: Store, experiment: str, rubric_version: str | None) -> dict[str, Any]:
        key = (experiment, rubric_version, store.data_stamp(experiment))
        if key not in self._cache:
            self._cache[key] = summarise_experiment(store, experiment, rubric_version)
            while len(self._cache) > MAX_CACHED:
                self._cache.popitem(last=False)
        return self._cache[key]


def summarise_experiment(store: Store, experiment: str, rubric_version: str | None) -> dict[str, Any]:
    llm = analyse(store, experiment, rubric_version=rubric_version)
    version = llm["rubric_version"] or rubric_version
    version_has_people = bool(version) and store.has_human_judgments(experiment, version)
    human = analyse(store, experiment, rubric_version=version, judges="human") if version_has_people else None
    criteria = [m for m in llm["metrics"] if m != OVERALL] or ([m for m in human["metrics"] if m != OVERALL]
                                                                if human else [])
    agreement = experiment_agreement(store, experiment, version, criteria, llm["rubric"])
    judges = [j for j in store.experiment_judges(experiment) if not is_human(j)]
    return {
        "analysis": llm, "rows": config_rows(llm), "human": human,
        "human_rows": config_rows(human) if human else [],
        "agreement": [a.as_dict() for a in agreement], "agreement_lines": agreement_lines(agreement),
        "audit_lines": [audit_line(store.latest_audit(j), j) for j in judges],
        "raters": sorted({j for j in store.experiment_judges(experiment) if is_human(j)}),
    }
