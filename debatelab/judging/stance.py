"""Stance over stored debates: each argued turn's position on the motion, and whether it conceded.

Run by `debatelab run` for an experiment with a `stance:` section, pipelined like judging: a debate
is read as soon as it is stored, and `finish` reads whatever an earlier run left (debates finished
before the section was added, debates whose reading failed). A debate's readings are written in one
transaction, so a re-run either finds them all or reads that debate again; nothing is read twice.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import Any

from debatelab.agents import ModelSpec, affinity, make_chat_model, reported_digest
from debatelab.graphs import STANCE_PROMPT_VERSION, StanceReading, argued_turns, read_stance
from debatelab.runtime import Failures, LimiterFor, RunProgress
from debatelab.store import Store


def reading_id_for(debate_id: str, idx: int, text: str, reader: str, prompt_version: str) -> str:
    """A reading is keyed by the turn's content too: a debate re-stored with other text is read again."""
    text_key = hashlib.sha256(text.encode()).hexdigest()[:10]
    return f"{debate_id}:{idx:03d}|{reader}|{prompt_version}|{text_key}"


def reading_row(experiment: str, debate: dict[str, Any], turn: dict[str, Any], reading: StanceReading,
                reader: ModelSpec, prompt_version: str) -> dict[str, Any]:
    return {
        "reading_id": reading_id_for(debate["debate_id"], turn["idx"], turn.get("text") or "", reader.identity,
                                     prompt_version),
        "experiment": experiment, "debate_id": debate["debate_id"], "turn_id": turn["turn_id"], "idx": turn["idx"],
        "round": reading.round, "agent": reading.agent, "assigned_stance": turn.get("stance") or None,
        "position": reading.position, "conceded": None if reading.conceded is None else int(reading.conceded),
        "could_concede": int(reading.could_concede), "reasons": reading.reasons,
        "unread_reason": reading.unread_reason, "reader": reader.identity, "digest": reported_digest(reader),
        "prompt_version": prompt_version, "attempts": reading.attempts, "input_tokens": reading.input_tokens,
        "output_tokens": reading.output_tokens, "duration_s": reading.duration_s,
    }


class StanceReadings:
    """Stance readings of an experiment's stored debates by one reader model (see module doc)."""

    def __init__(self, store: Store, experiment: str, reader: ModelSpec, *, limiter_for: LimiterFor,
                 progress: RunProgress, failures: Failures | None = None, max_attempts: int = 3, in_flight: int = 2,
                 model_factory: Callable[[ModelSpec], Any] = make_chat_model,
                 expected_debates: int | None = None) -> None:
        self.store, self.experiment, self.reader = store, experiment, reader
        self.limiter_for, self.progress, self.max_attempts = limiter_for, progress, max_attempts
        self.failures = failures if failures is not None else Failures()
        self.model = model_factory(reader)
        self.slots = asyncio.Semaphore(max(1, in_flight))
        self.tasks: list[asyncio.Task[None]] = []
        self.read = 0  # debates read by this run
        todo, already = self._todo()
        progress.stage("stance", total=max(expected_debates or 0, len(todo) + already), done=already)

    def _turns(self, debate: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in t.items() if v is not None} for t in self.store.turns(debate["debate_id"])]

    def _todo(self) -> tuple[list[dict[str, Any]], int]:
        """Finished debates not yet read, and how many are (one query, not one per debate: a lab's
        store may hold tens of thousands of debates)."""
        read = self.store.stance_read_debates(self.experiment, self.reader.identity, STANCE_PROMPT_VERSION)
        debates = self.store.debates(self.experiment, finished_only=True)
        todo = [d for d in debates if d["debate_id"] not in read]
        return todo, len(debates) - len(todo)

    def submit(self, debate: dict[str, Any]) -> None:
        """Read a debate that has just finished, without waiting for the others."""
        self.tasks.append(asyncio.create_task(self._one(debate)))

    async def _one(self, debate: dict[str, Any]) -> None:
        turns = self._turns(debate)
        argued = argued_turns(turns)
        if not argued:
            return
        transcript = {"debate_id": debate["debate_id"], "motion": debate.get("motion") or "", "turns": turns}
        try:
            async with self.slots:
                # One debate's calls share their prompt's start (the transcript): keep them on one slot.
                with affinity(f"stance:{debate['debate_id']}"):
                    readings = [await read_stance(self.model, transcript, i, max_attempts=self.max_attempts,
                                                  limiter=self.limiter_for(self.reader)) for i in argued]
        except Exception as exc:
            failure = self.failures.record("stance", f"debate {debate['debate_id']} read by {self.reader.label}", exc)
            self.progress.log(f"[red]stance reading failed[/red] {failure.item}: {failure.reason}")
            return
        rows = [reading_row(self.experiment, debate, turns[i], r, self.reader, STANCE_PROMPT_VERSION)
                for i, r in zip(argued, readings, strict=True)]
        self.store.write_stance_readings(rows)
        self.read += 1
        self.progress.count_calls(sum(r.attempts for r in readings), sum(r.output_tokens for r in readings))
        self.progress.advance("stance")

    async def finish(self) -> dict[str, int]:
        """Wait for the submitted debates, then read every finished debate still missing a reading."""
        await asyncio.gather(*self.tasks)
        self.failures.clear_stage("stance")  # what failed is retried below, once
        todo, already = self._todo()
        self.progress.stage("stance", total=len(todo) + already, done=already)
        await asyncio.gather(*(self._one(d) for d in todo))
        failed = len(self.failures.in_stage("stance"))
        total = len(todo) + already
        return {"total": total, "done": self.read, "skipped": total - self.read - failed, "failed": failed}
