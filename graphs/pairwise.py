"""Pairwise comparison: one structured call asking which of two responses does a task better.

Both texts go through the same normalisation and neutralisation as the absolute judge's view, sit
between delimiters carrying a nonce derived from their content, and are shown as "Response 1"
and "Response 2" only. The judge writes its reasons first. The reply names the *position*
chosen; callers map it back to the response, so running both presentation orders measures how
much the position alone decides.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from debatelab.agents.calls import call_structured
from debatelab.agents.roles.prompting import render_template
from debatelab.graphs.judge_view import neutralise


class PairChoice(BaseModel):
    """Reasons before the choice; the choice is a position, "1" or "2"."""

    reasons: str = Field(max_length=400)
    better: Literal["1", "2"]


@dataclass
class PairVerdict:
    position: int | None  # 1 or 2; None = unscored
    reasons: str
    unscored_reason: str | None
    attempts: int
    input_tokens: int
    output_tokens: int
    duration_s: float


def pair_messages(prompt: str, first: str, second: str, criterion: str = "") -> list:
    """The judge's exact messages for one presentation order."""
    task, one, two = neutralise(prompt), neutralise(first), neutralise(second)
    nonce = hashlib.sha256(f"{task}\x00{one}\x00{two}".encode()).hexdigest()[:10]
    return [SystemMessage(render_template("judge_pair_system", nonce=nonce)),
            HumanMessage(render_template("judge_pair", nonce=nonce, prompt=task, first=one, second=two,
                                         criterion=f" on this criterion: {criterion}" if criterion else ""))]


async def compare(model: BaseChatModel, prompt: str, first: str, second: str, *, criterion: str = "",
                  max_attempts: int = 3, limiter: object = None, run_name: str = "judge:pair") -> PairVerdict:
    result = await call_structured(model, pair_messages(prompt, first, second, criterion), PairChoice,
                                   max_attempts=max_attempts, min_output_tokens=320, limiter=limiter,  # type: ignore[arg-type]
                                   run_name=run_name)
    calls = result.calls
    value = result.value
    return PairVerdict(
        position=int(value.better) if value is not None else None,
        reasons=value.reasons if value is not None else (calls[-1].text[:400] if calls else ""),
        unscored_reason=None if value is not None else f"after {result.attempts} attempts: {result.failure}",
        attempts=result.attempts, input_tokens=sum(c.input_tokens for c in calls),
        output_tokens=sum(c.output_tokens for c in calls), duration_s=round(sum(c.duration_s for c in calls), 4),
    )
