"""Debate as oversight: trials (one question argued under one protocol and matchup), their turns,
and every judge's verdict on them, model or person (`human:<name>`)."""

from __future__ import annotations

import math
import sqlite3
from typing import Any

from debatelab.store.contention import retry_while_locked
from debatelab.store.database import BUSY_TIMEOUT_S, StoreCore, friendly_error
from debatelab.store.schema import iso_timestamp


class OversightRecords(StoreCore):
    def oversight_verdict_ids(self, experiment: str) -> set[str]:
        return {r["verdict_id"] for r in self._rows(
            "select verdict_id from oversight_verdicts where experiment = :e", {"e": experiment})}

    def write_oversight_trial(self, trial: dict[str, Any], turns: list[dict[str, Any]],
                              verdicts: list[dict[str, Any]], beliefs: list[dict[str, Any]] | None = None) -> None:
        """A trial, its turns, its verdicts and its judges' beliefs, in one transaction (a re-run
        finds all or none)."""
        stamp = iso_timestamp()
        with self._transaction() as db:
            db.table("oversight_trials").upsert({**trial, "finished_at": stamp}, pk="trial_id")
            if turns:
                db.table("oversight_turns").upsert_all(turns, pk="turn_id")
            if verdicts:
                db.table("oversight_verdicts").upsert_all([{**v, "finished_at": stamp} for v in verdicts],
                                                          pk="verdict_id")
            if beliefs:
                db.table("judge_beliefs").upsert_all(beliefs, pk="belief_id")

    def write_judge_beliefs(self, beliefs: list[dict[str, Any]]) -> None:
        """Judges' beliefs after each round (an import's, in one transaction; upserts: idempotent)."""
        if beliefs:
            with self._transaction() as db:
                db.table("judge_beliefs").upsert_all(beliefs, pk="belief_id")

    def judge_belief_ids(self, experiment: str) -> set[str]:
        return {r["belief_id"] for r in self._rows("select belief_id from judge_beliefs where experiment = ?",
                                                   [experiment])}

    def judge_beliefs(self, experiment: str) -> list[dict[str, Any]]:
        return self._rows("select * from judge_beliefs where experiment = ? order by trial_id, judge, after_round",
                          [experiment])

    def write_oversight_trials(self, trials: list[tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]]
                               ) -> None:
        """Many trials (each with its turns and verdicts) in one transaction and one insert per
        table: what the simulator stores a whole simulated study with."""
        stamp = iso_timestamp()
        with self._transaction() as db:
            db.table("oversight_trials").upsert_all([{**t, "finished_at": stamp} for t, _, _ in trials], pk="trial_id")
            turns = [x for _, ts, _ in trials for x in ts]
            if turns:
                db.table("oversight_turns").upsert_all(turns, pk="turn_id")
            verdicts = [{**v, "finished_at": stamp} for _, _, vs in trials for v in vs]
            if verdicts:
                db.table("oversight_verdicts").upsert_all(verdicts, pk="verdict_id")

    def write_oversight_verdict(self, verdict: dict[str, Any]) -> None:
        """One verdict on a stored trial (a person's, from the viewer); retried while another process
        holds the file's write lock (the upsert is idempotent)."""
        def write() -> None:
            with self._db.atomic():
                self._db.table("oversight_verdicts").upsert({**verdict, "finished_at": iso_timestamp()},
                                                            pk="verdict_id")

        try:
            retry_while_locked(write, conn=self._db.conn, timeout_s=BUSY_TIMEOUT_S)
        except sqlite3.Error as exc:
            raise friendly_error(self.path, exc) from None

    def oversight_trials(self, experiment: str) -> list[dict[str, Any]]:
        return self._rows("select * from oversight_trials where experiment = :e order by protocol, question_id, "
                          "matchup, trial_id", {"e": experiment})

    def oversight_trial(self, trial_id: str) -> dict[str, Any] | None:
        rows = self._rows("select * from oversight_trials where trial_id = :t", {"t": trial_id})
        return rows[0] if rows else None

    def oversight_turns(self, experiment: str, trial_id: str | None = None) -> list[dict[str, Any]]:
        if trial_id is not None:
            return self._rows("select * from oversight_turns where trial_id = :t order by idx", {"t": trial_id})
        return self._rows("select * from oversight_turns where experiment = :e order by trial_id, idx",
                          {"e": experiment})

    def oversight_verdicts(self, experiment: str) -> list[dict[str, Any]]:
        """The verdicts, typed: a cell that does not hold its column's kind of value (a word where a
        probability belongs, in a file edited or made elsewhere) reads as missing, never as a crash."""
        rows = self._rows("select * from oversight_verdicts where experiment = :e order by protocol, judge, "
                          "question_id, trial_id", {"e": experiment})
        return [_typed_verdict(r) for r in rows]


def _number(value: Any, kind: type[int] | type[float]) -> Any:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return kind(value) if math.isfinite(value) else None
    try:
        number = float(str(value))
    except ValueError:
        return None
    return kind(number) if math.isfinite(number) else None


def _typed_verdict(row: dict[str, Any]) -> dict[str, Any]:
    probability = _number(row.get("probability"), float)
    letter = row.get("letter")
    return {**row, "probability": probability if probability is not None and 0 <= probability <= 1 else None,
            "correct": _number(row.get("correct"), int), "letter": letter if isinstance(letter, str) and letter else None,
            "input_tokens": _number(row.get("input_tokens"), int) or 0,
            "output_tokens": _number(row.get("output_tokens"), int) or 0}
