"""Pairwise judging: one row per pair, judge and order, and its verdicts per criterion."""

from __future__ import annotations

from typing import Any

from debatelab.store.database import StoreCore
from debatelab.store.schema import with_iso_times


class PairwiseRecords(StoreCore):
    def finished_pair_judgments(self, experiment: str) -> set[str]:
        return {r["pair_judgment_id"] for r in self._rows(
            "select pair_judgment_id from pair_judgments where experiment = :e", {"e": experiment})}

    def write_pair_judgment(self, judgment: dict[str, Any], verdicts: list[dict[str, Any]]) -> None:
        with self._transaction() as db:
            db.table("pair_judgments").upsert(with_iso_times(judgment), pk="pair_judgment_id")
            db.table("pair_verdicts").upsert_all(verdicts, pk="verdict_id")

    def pair_rubric_versions(self, experiment: str) -> list[str]:
        """Rubric versions of the experiment's pairwise judgments, most used first."""
        return [r["rubric_version"] for r in self._rows(
            "select rubric_version, count(*) as n from pair_judgments where experiment = :e group by rubric_version "
            "order by n desc", {"e": experiment})]

    def pair_verdict_rows(self, experiment: str, rubric_version: str | None) -> list[dict[str, Any]]:
        """One row per (pair, judge, order, criterion), with the pair's configurations and unit."""
        return self._rows(
            "select j.pair_key || '|' || j.judge as pair_key, j.config_a, j.config_b, j.debate_a, j.debate_b, "
            "j.scenario_id || '#' || j.repeat as unit, j.judge, j.ord, "
            "v.criterion, v.winner from pair_verdicts v join pair_judgments j using (pair_judgment_id) "
            "where j.experiment = :e and j.rubric_version = :v", {"e": experiment, "v": rubric_version or ""})
