"""Best-of-N candidates as checkpointed LangGraph tasks.

Each candidate argument and each preference score is a `@task` called inside the argue node:
LangGraph saves a task's output as it finishes, so a run killed while drawing a turn's third
candidate resumes with the first two (only the missing one is drawn again). The outputs are plain
data (what a checkpoint holds: data, never code).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langgraph.func import task

from debatelab.agents import CallRecord


def record_data(rec: CallRecord) -> dict[str, Any]:
    """A call's record as plain data (what a checkpoint holds: data, never code)."""
    return {"text": rec.text, "thinking": rec.thinking, "input_tokens": rec.input_tokens,
            "output_tokens": rec.output_tokens, "duration_s": rec.duration_s, "done_reason": rec.done_reason,
            "model_name": rec.model_name}


@task(name="best_of_n_candidate")
async def _candidate_task(call: Callable[[], Awaitable[CallRecord]]) -> dict[str, Any]:
    return record_data(await call())


@task(name="best_of_n_score")
async def _score_task(call: Callable[[], Awaitable[tuple[int | None, list[CallRecord]]]]) -> dict[str, Any]:
    score, calls = await call()
    return {"score": score, "calls": [record_data(c) for c in calls]}


async def checkpointed_call(call: Callable[[], Awaitable[CallRecord]]) -> CallRecord:
    return CallRecord(**(await _candidate_task(call)))


async def checkpointed_score(call: Callable[[], Awaitable[tuple[int | None, list[CallRecord]]]]) -> dict[str, Any]:
    return await _score_task(call)
