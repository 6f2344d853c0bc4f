"""One failure policy for every phase of a run.

A run is many items: debates, judgments, pairs, audit items, questions. One item failing (a dead
host, a missing model, a timeout, a transcript that ended incomplete) must neither stop the others
nor pass unnoticed: `failure_line` decides whether an exception is such an item failure and turns
it into one readable line; `Failures` records it under its stage, the summary shows it, and the
run exits non-zero saying how to resume (re-running retries exactly what failed). Anything else is
a bug and propagates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rich.markup import escape

from debatelab.agents import describe_model_error
from debatelab.base import UserError, printable

T = TypeVar("T")


def failure_line(exc: BaseException) -> str | None:
    """One line saying why an item failed, or None when `exc` is not an item's failure (a bug)."""
    if isinstance(exc, UserError):
        return " ".join(str(exc).split())
    return describe_model_error(exc)


@dataclass(frozen=True)
class Failure:
    stage: str  # debates, judgments, pairwise, audit, questions, ...
    item: str  # what failed: a debate id and configuration, a judgment, a question id
    reason: str


@dataclass
class Failures:
    """The run's item failures, by stage, in the order they happened."""

    items: list[Failure] = field(default_factory=list)

    def record(self, stage: str, item: str, exc: BaseException) -> Failure:
        """Record `exc` as `item`'s failure, or re-raise it when it is not an item's failure."""
        reason = failure_line(exc)
        if reason is None:
            raise exc
        failure = Failure(stage, printable(item), printable(reason))  # ids and server bodies may hold escapes
        self.items.append(failure)
        return failure

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def in_stage(self, stage: str) -> list[Failure]:
        return [f for f in self.items if f.stage == stage]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.items:
            out[f.stage] = out.get(f.stage, 0) + 1
        return out

    def clear_stage(self, stage: str) -> None:
        """Forget a stage's failures (it is about to be retried)."""
        self.items = [f for f in self.items if f.stage != stage]

    def summary(self, resume: str) -> str:
        """What failed, the first reason, and the command that retries it."""
        parts = ", ".join(f"{n} {stage}" for stage, n in self.counts().items())
        first = self.items[0]
        return (f"failed: {parts} (first: {first.item}: {first.reason}); finished work is kept - "
                f"re-run `{resume}` to retry what failed")

    def as_json(self) -> list[dict[str, str]]:
        return [{"stage": f.stage, "item": f.item, "reason": f.reason} for f in self.items]


async def each_guarded(items: Iterable[T], work: Callable[[T], Awaitable[Any]], *, failures: Failures,
                       progress: Any, kind: str, stage: str, name: Callable[[T], str]) -> None:
    """Run `work(item)` for every item at once. An item that raises is recorded in `failures` (as
    `kind`, named `name(item)`) and logged, and the others go on: the one failure policy. A finished
    item advances `stage` on `progress` (a `RunProgress`)."""
    async def guarded(item: T) -> None:
        try:
            await work(item)
        except Exception as exc:
            failure = failures.record(kind, name(item), exc)
            progress.log(f"[red]failed[/red] {escape(failure.item)}: {escape(failure.reason)}")
            return
        progress.advance(stage)

    await asyncio.gather(*(guarded(item) for item in items))
