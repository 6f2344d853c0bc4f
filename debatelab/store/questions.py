"""Question experiments: one row per model call on a labelled question, and computed results."""

from __future__ import annotations

import json
from typing import Any

from debatelab.store.database import StoreCore
from debatelab.store.schema import iso_timestamp


class QuestionRecords(StoreCore):
    def qa_call_ids(self, experiment: str) -> set[str]:
        return {r["call_id"] for r in self._rows("select call_id from qa_calls where experiment = :e",
                                                 {"e": experiment})}

    def qa_call(self, call_id: str) -> dict[str, Any] | None:
        rows = self._rows("select * from qa_calls where call_id = :c", {"c": call_id})
        return rows[0] if rows else None

    def qa_calls(self, experiment: str, *, kind: str | None = None, question_id: str | None = None,
                 split: str | None = None) -> list[dict[str, Any]]:
        """An experiment's question calls, optionally of one kind, question and split, by sample."""
        where, params = ["experiment = :e"], {"e": experiment}
        for column, value in (("kind", kind), ("question_id", question_id), ("split", split)):
            if value is not None:
                where.append(f"{column} = :{column}")
                params[column] = value
        rows = self._rows(f"select * from qa_calls where {' and '.join(where)} order by sample, call_id", params)
        keys = self._question_keys(experiment)
        if keys is None:  # a store from before content keys: every row, as it was always read
            return rows
        # The current rows only: an edited question's or a changed configuration's old answers stay
        # stored, under their own key, but are never read as this spec's.
        # The key is the call id's last part (ids of 0.3 end with the sample number instead).
        return [r for r in rows if str(r["call_id"]).rsplit(":", 1)[-1] == keys.get(r["question_id"])]

    def _question_keys(self, experiment: str) -> dict[str, str] | None:
        row = self._rows("select spec from experiments where name = :e", {"e": experiment})
        text = row[0]["spec"] if row else None
        cached = getattr(self, "_keys_cache", {}).get(experiment)
        if cached is not None and cached[0] == text:
            return cached[1]
        try:
            spec = json.loads(text or "{}")
        except ValueError:
            spec = {}
        keys = spec.get("question_keys") if isinstance(spec, dict) else None
        value = {str(k): str(v) for k, v in keys.items()} if isinstance(keys, dict) else None
        if not hasattr(self, "_keys_cache"):
            self._keys_cache: dict[str, tuple[str | None, dict[str, str] | None]] = {}
        self._keys_cache[experiment] = (text, value)
        return value

    def write_qa_call(self, row: dict[str, Any]) -> None:
        with self._transaction() as db:
            db.table("qa_calls").upsert(row, pk="call_id")

    def result(self, key: str) -> Any | None:
        """A computed result stored as JSON (e.g. an experiment's weak-to-strong table)."""
        rows = self._rows("select value from results where key = :k", {"k": key})
        return json.loads(rows[0]["value"]) if rows else None

    def write_result(self, key: str, experiment: str, name: str, value: Any) -> None:
        with self._transaction() as db:
            db.table("results").upsert({"key": key, "experiment": experiment, "name": name,
                                        "value": json.dumps(value), "computed_at": iso_timestamp()}, pk="key")

    def question_ids(self, experiment: str, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """A page of a question experiment's questions, with how many calls answered each correctly."""
        total = self._rows("select count(distinct question_id) as n from qa_calls where experiment = :e",
                           {"e": experiment})[0]["n"]
        rows = self._rows(
            "select question_id, split, max(truth) as truth, count(*) as calls, sum(correct) as correct, "
            "sum(unanswered_reason is not null and unanswered_reason != '') as unanswered "
            "from qa_calls where experiment = :e group by question_id, split order by question_id "
            "limit :limit offset :offset", {"e": experiment, "limit": int(limit), "offset": int(offset)})
        return rows, total
