"""Experiments: what was asked for (the spec), and an overview of each one's progress."""

from __future__ import annotations

import json
from typing import Any

from debatelab.base import UserError
from debatelab.store.database import StoreCore
from debatelab.store.schema import iso_timestamp


class ExperimentRecords(StoreCore):
    def experiment(self, name: str) -> dict[str, Any] | None:
        rows = self._rows("select * from experiments where name = :n", {"n": name})
        return rows[0] if rows else None

    def require_experiment(self, name: str) -> dict[str, Any]:
        row = self.experiment(name)
        if row is None:
            known = ", ".join(r["name"] for r in self._rows("select name from experiments order by name")) or "none"
            raise UserError(f"no experiment {name!r} in {self.path} (experiments: {known})")
        return row

    def experiment_overview(self) -> list[dict[str, Any]]:
        """Per experiment: debates finished/running/failed, judgments, unscored criteria, question calls."""
        return self._rows(
            "select e.name, e.kind, "
            "(select count(*) from debates d where d.experiment = e.name and d.status = 'finished') as finished, "
            "(select count(*) from debates d where d.experiment = e.name and d.status = 'running') as running, "
            "(select count(*) from debates d where d.experiment = e.name and d.status = 'failed') as failed, "
            "(select count(*) from judgments j where j.experiment = e.name) as judgments, "
            "(select coalesce(sum(j.n_unscored), 0) from judgments j where j.experiment = e.name) as unscored, "
            "(select count(*) from qa_calls q where q.experiment = e.name) as qa "
            "from experiments e order by e.updated_at desc")

    def experiment_names(self) -> list[str]:
        return [r["name"] for r in self._rows("select name from experiments order by name")]

    def upsert_experiment(self, name: str, *, description: str, kind: str, spec: dict[str, Any],
                          source_file: str) -> None:
        now = iso_timestamp()
        existing = self.experiment(name)
        with self._transaction() as db:
            db.table("experiments").upsert({
                "name": name, "description": description, "kind": kind, "spec": json.dumps(spec),
                "source_file": source_file, "created_at": existing["created_at"] if existing else now,
                "updated_at": now,
            }, pk="name")

    def data_stamp(self, experiment: str) -> tuple[Any, ...]:
        """Changes whenever the experiment's debates, judgments or scores change (cache keys)."""
        row = self._rows(
            "select (select count(*) from debates where experiment = :e) as debates, "
            "(select count(*) from debates where experiment = :e and status = 'finished') as finished, "
            "(select count(*) from judgments where experiment = :e) as judgments, "
            "(select max(finished_at) from judgments where experiment = :e) as last_judgment, "
            "(select max(rowid) from scores) as last_score", {"e": experiment})[0]
        return tuple(row.values())
