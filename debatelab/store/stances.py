"""Stance over a debate: one reading per argued turn, reader model and stance prompt version."""

from __future__ import annotations

from typing import Any

from debatelab.store.database import StoreCore
from debatelab.store.schema import iso_timestamp


class StanceRecords(StoreCore):
    def stance_read_debates(self, experiment: str, reader: str, prompt_version: str) -> set[str]:
        """Debates this reader has read with this prompt version (a debate's readings are written
        together, so one reading stands for all of them)."""
        return {r["debate_id"] for r in self._rows(
            "select distinct debate_id from stance_readings where experiment = :e and reader = :r "
            "and prompt_version = :v", {"e": experiment, "r": reader, "v": prompt_version})}

    def write_stance_readings(self, rows: list[dict[str, Any]]) -> None:
        """A debate's readings in one transaction (a re-run finds all of them or reads the debate again)."""
        stamp = iso_timestamp()
        with self._transaction() as db:
            db.table("stance_readings").upsert_all([{**r, "finished_at": stamp} for r in rows], pk="reading_id")

    def stance_readings(self, experiment: str) -> list[dict[str, Any]]:
        """Every reading of the experiment with its debate's configuration and topology, in debate order."""
        return self._rows(
            "select s.*, d.config, d.topology, d.kind, d.scenario_id, d.repeat from stance_readings s "
            "join debates d on d.debate_id = s.debate_id where s.experiment = :e "
            "order by s.reader, s.prompt_version, d.config, s.debate_id, s.idx", {"e": experiment})

    def debate_stance_readings(self, debate_id: str) -> dict[str, list[dict[str, Any]]]:
        """One debate's readings by turn id, each turn's in reader and prompt-version order: the
        viewer shows them under the turns they read."""
        out: dict[str, list[dict[str, Any]]] = {}
        for r in self._rows("select * from stance_readings where debate_id = :d order by reader, prompt_version, idx",
                            {"d": debate_id}):
            out.setdefault(r["turn_id"], []).append(r)
        return out
