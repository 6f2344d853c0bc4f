"""Judge audits: one row per audit and one per labelled item and presentation order."""

from __future__ import annotations

from typing import Any

from debatelab.store.database import StoreCore


class AuditRecords(StoreCore):
    def audit_call_ids(self, audit_id: str) -> set[str]:
        return {r["call_id"] for r in self._rows("select call_id from audit_calls where audit_id = :a", {"a": audit_id})}

    def audit_calls(self, audit_id: str) -> list[dict[str, Any]]:
        return self._rows("select * from audit_calls where audit_id = :a order by item_id, ord", {"a": audit_id})

    def write_audit_call(self, row: dict[str, Any]) -> None:
        with self._transaction() as db:
            db.table("audit_calls").upsert(row, pk="call_id")

    def write_audit(self, row: dict[str, Any]) -> None:
        with self._transaction() as db:
            db.table("judge_audits").upsert(row, pk="audit_id")

    def latest_audit(self, judge_model: str) -> dict[str, Any] | None:
        """The most recent audit of a judge (by its tag: the host it ran on does not matter)."""
        rows = self._rows("select * from judge_audits where judge = :j order by computed_at desc limit 1",
                          {"j": judge_model.split("@")[0]})
        return rows[0] if rows else None
