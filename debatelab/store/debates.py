"""Debates and their turns: marked running or failed as they go, written whole when finished."""

from __future__ import annotations

from typing import Any

from debatelab.store.database import StoreCore
from debatelab.store.schema import with_iso_times


class DebateRecords(StoreCore):
    def debate(self, debate_id: str) -> dict[str, Any] | None:
        rows = self._rows("select * from debates where debate_id = :d", {"d": debate_id})
        return rows[0] if rows else None

    def debate_status(self, debate_id: str) -> str | None:
        rows = self._rows("select status from debates where debate_id = :d", {"d": debate_id})
        return rows[0]["status"] if rows else None

    def debates(self, experiment: str, *, finished_only: bool = False, limit: int | None = None
                ) -> list[dict[str, Any]]:
        """An experiment's debates in a stable order (configuration, scenario, repeat)."""
        where = " and status = 'finished'" if finished_only else ""
        bound = " limit :n" if limit is not None else ""
        return self._rows(f"select * from debates where experiment = :e{where} order by config, scenario_id, repeat"
                          f"{bound}", {"e": experiment, "n": limit})

    def count_debates(self, experiment: str, status: str) -> int:
        return self._rows("select count(*) as n from debates where experiment = :e and status = :s",
                          {"e": experiment, "s": status})[0]["n"]

    def debate_models(self, experiment: str) -> list[str]:
        """Every model label that spoke in the experiment's debates."""
        rows = self._rows("select distinct models from debates where experiment = :e", {"e": experiment})
        return sorted({m for r in rows for m in (r["models"] or "").split(",") if m})

    def turns(self, debate_id: str) -> list[dict[str, Any]]:
        return self._rows("select * from turns where debate_id = :d order by idx", {"d": debate_id})

    def turns_of(self, debate_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        marks = ",".join("?" for _ in debate_ids)
        for t in self._rows(f"select * from turns where debate_id in ({marks}) order by debate_id, idx", debate_ids):
            out.setdefault(t["debate_id"], []).append(t)
        return out

    def mark_debate(self, row: dict[str, Any]) -> None:
        """Record a debate's identity and status (running/failed) before or after it runs."""
        self.mark_debates([row])

    def mark_debates(self, rows: list[dict[str, Any]]) -> None:
        """`mark_debate` for many debates in one transaction (an experiment starting them all)."""
        with self._transaction() as db:
            db.table("debates").upsert_all([with_iso_times(r) for r in rows], pk="debate_id", alter=False)

    def write_finished_debate(self, row: dict[str, Any], turns: list[dict[str, Any]],
                              calls: list[dict[str, Any]]) -> None:
        with self._transaction() as db:
            db.execute("delete from turns where debate_id = ?", [row["debate_id"]])
            db.execute("delete from model_calls where debate_id = ? and stage = 'debate'", [row["debate_id"]])
            db.table("debates").upsert(with_iso_times(row), pk="debate_id")
            if turns:
                db.table("turns").insert_all(turns, pk="turn_id")
            if calls:
                db.table("model_calls").insert_all(calls, pk="call_id")

    def matched_debates(self, debate: dict[str, Any]) -> list[dict[str, Any]]:
        """The same scenario and repeat in the same experiment under the other configurations."""
        return self._rows(
            "select debate_id, config, kind, status from debates where experiment = :e and scenario_id = :s "
            "and repeat = :r and debate_id != :d order by kind, config",
            {"e": debate["experiment"], "s": debate["scenario_id"], "r": debate["repeat"], "d": debate["debate_id"]})

    def experiment_debate_ids(self, experiment: str) -> list[str]:
        """Finished debates of an experiment by id (the rating queue shuffles them per rater)."""
        return [r["debate_id"] for r in self._rows(
            "select debate_id from debates where experiment = :e and status = 'finished' order by debate_id",
            {"e": experiment})]

    def debate_ids_known(self, debate_ids: list[str]) -> dict[str, str]:
        """Which of these debate ids exist, mapped to their experiment."""
        out: dict[str, str] = {}
        for start in range(0, len(debate_ids), 500):
            chunk = debate_ids[start:start + 500]
            marks = ",".join("?" for _ in chunk)
            out.update({r["debate_id"]: r["experiment"] for r in self._rows(
                f"select debate_id, experiment from debates where debate_id in ({marks})", chunk)})
        return out
