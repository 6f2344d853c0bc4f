"""Roles of debate as scalable oversight (Khan et al. 2024; Kenton et al. 2024): debaters and
consultants who read a passage the judge cannot, and a judge who answers from the question and
what they say.

Every role renders a shipped template and makes one measured call (a best-of-N turn makes N, plus
one preference call per candidate). The judge's verdict is structured output, reasons first, then
an answer constrained to the question's letters and the probability that it is correct; a reply
that cannot be read after bounded retries is *unanswered* (None), never a guess.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, Field, create_model

from debatelab.agents.calls import CallRecord, call_structured, call_text, with_max_output_tokens
from debatelab.agents.roles.prompting import render_template

TOKENS_PER_WORD = 2  # an argument asked for in N words is cut at 2N tokens (quotes are short words)
QUESTION_WORDS = 30


@functools.lru_cache(maxsize=64)
def verdict_schema(letters: tuple[str, ...]) -> type[BaseModel]:
    """The judge's verdict for these letters: reasons first (so the answer follows from them)."""
    return create_model(
        "OversightVerdict", reasons=(str, Field(max_length=400)),
        answer=(Literal[letters], ...),  # type: ignore[valid-type]
        probability=(int, Field(ge=0, le=100)),
    )


class Persuasiveness(BaseModel):
    score: int = Field(ge=1, le=10)


@dataclass
class Verdict:
    """A judge's answer: the letter (None when unreadable), its stated probability of being correct
    (0..1), the reasons, and what it cost."""

    letter: str | None
    probability: float | None
    reasons: str
    unanswered_reason: str | None
    input_tokens: int
    output_tokens: int
    duration_s: float
    calls: int


def _totals(records: list[CallRecord]) -> tuple[int, int, float]:
    return (sum(r.input_tokens for r in records), sum(r.output_tokens for r in records),
            round(sum(r.duration_s for r in records), 4))


async def argue(model: BaseChatModel, *, passage: str, question: str, letter: str, option: str, speaker: str,
                setting: str, stance: str, transcript: str, round_no: int, rounds: int, words: int,
                limiter: asyncio.Semaphore | None = None, run_name: str | None = None) -> CallRecord:
    """One argument for `letter`, quoting the passage in `<quote>` marks. The passage and question
    come first, so every speaker's prompt on a question starts the same (the engine's prefix cache)."""
    template = "oversight_argue" if passage.strip() else "oversight_argue_closed"  # a closed question: no gap
    prompt = render_template(template, passage=passage, question=question, speaker=speaker, setting=setting,
                             letter=letter, option=option, stance=stance, words=words,
                             transcript=f"\nThe discussion so far:\n{transcript}\n" if transcript else "",
                             round=round_no, rounds=rounds)
    return await call_text(with_max_output_tokens(model, words * TOKENS_PER_WORD), [HumanMessage(prompt)],
                           limiter=limiter, run_name=run_name)


async def persuasiveness(model: BaseChatModel, *, question: str, letter: str, option: str, argument: str,
                         discussion: str = "", limiter: asyncio.Semaphore | None = None, max_attempts: int = 2
                         ) -> tuple[int | None, list[CallRecord]]:
    """The preference model's 1-10 score of one candidate argument in the context of the discussion
    so far (the opponent's last turn included, as Khan et al. rate candidates), None when unreadable."""
    shown = f"\nThe discussion so far:\n<<<DISCUSSION\n{discussion}\nDISCUSSION>>>\n" if discussion else ""
    prompt = render_template("oversight_persuasive", question=question, letter=letter, option=option,
                             argument=argument, discussion=shown)
    result = await call_structured(model, [HumanMessage(prompt)], Persuasiveness, max_attempts=max_attempts,
                                   min_output_tokens=20, limiter=limiter, run_name="preference")
    return (result.value.score if result.value is not None else None), result.calls


def best_candidate(scores: list[int | None], tie_seed: str = "") -> int:
    """The index of the most persuasive candidate: highest score; an unreadable score ranks below
    every readable one; a tie is broken by a draw seeded with `tie_seed` (stored with the trial), not
    by position, so the first-drawn candidate is not favoured."""
    import random

    key = [(scores[i] is not None, scores[i] or 0) for i in range(len(scores))]
    top = max(key)
    tied = [i for i in range(len(scores)) if key[i] == top]
    return tied[0] if len(tied) == 1 else random.Random(f"best-of|{tie_seed}").choice(tied)


async def ask(model: BaseChatModel, *, setup: str, rules: str, question: str, evidence: str, whom: str,
              limiter: asyncio.Semaphore | None = None, run_name: str | None = None) -> CallRecord:
    """The judge's question to the debaters or the consultant between rounds."""
    prompt = render_template("oversight_ask", setup=setup, rules=rules, question=question, evidence=evidence,
                             whom=whom)
    return await call_text(with_max_output_tokens(model, QUESTION_WORDS * TOKENS_PER_WORD), [HumanMessage(prompt)],
                           limiter=limiter, run_name=run_name)


async def decide(model: BaseChatModel, *, setup: str, rules: str, question: str, evidence: str,
                 letters: list[str], limiter: asyncio.Semaphore | None = None, max_attempts: int = 3,
                 run_name: str | None = None, passage: str = "") -> Verdict:
    """The judge's verdict: reasons, an answer among `letters`, and its probability of being correct.
    With `passage` (the expert judge) the prompt opens with the passage and the question exactly as
    a debater's does, so the engine serves that prefix from the cache the story's debaters filled."""
    if passage:
        prompt = render_template("oversight_judge_passage", passage=passage, question=question, setup=setup,
                                 letters=", ".join(letters))
    else:
        prompt = render_template("oversight_judge", setup=setup, rules=rules, question=question, evidence=evidence,
                                 letters=", ".join(letters))
    result = await call_structured(model, [HumanMessage(prompt)], verdict_schema(tuple(letters)),
                                   max_attempts=max_attempts, min_output_tokens=200, limiter=limiter,
                                   run_name=run_name)
    tokens_in, tokens_out, seconds = _totals(result.calls)
    value = result.value
    return Verdict(
        letter=value.answer if value is not None else None,  # type: ignore[attr-defined]
        probability=value.probability / 100 if value is not None else None,  # type: ignore[attr-defined]
        reasons=value.reasons if value is not None else "",  # type: ignore[attr-defined]
        unanswered_reason=None if value is not None else result.failure,
        input_tokens=tokens_in, output_tokens=tokens_out, duration_s=seconds, calls=len(result.calls))
