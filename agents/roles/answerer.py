"""Answering labelled questions: an option letter with a short reason, never a guess.

The letter is structured output constrained to the question's own letters. A reply that cannot
be read after bounded retries is *unanswered*; it is counted as such (and as not correct), never
turned into a letter. Also here: the facilitator's explanation with its letter-leak guard, and
the advocate of the debate variant (arXiv 2409.07335).
"""

from __future__ import annotations

import asyncio
import functools
import re
from dataclasses import dataclass
from typing import Literal, Protocol

import ollama
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, Field, create_model

from debatelab.agents.calls import CallRecord, call_structured, call_text, with_max_output_tokens
from debatelab.agents.option_probs import option_probabilities
from debatelab.agents.roles.prompting import render_template


class Question(Protocol):
    """What answering needs of a labelled question (`debatelab.scenarios.questions.Question` is one).

    A protocol rather than an import: agents sit below scenarios in the layers."""

    @property
    def letters(self) -> list[str]: ...

    def option_text(self, letter: str) -> str: ...

    def render(self) -> str: ...


TOKENS_PER_WORD_CAP = 3  # explanations and arguments asked for in N words are cut at 3N tokens


def answer_schema(letters: list[str], reason_chars: int = 300) -> type[BaseModel]:
    """The answer's schema for these option letters (one class per set of letters and reason length)."""
    return _answer_schema(tuple(letters), reason_chars)


@functools.lru_cache(maxsize=64)
def _answer_schema(letters: tuple[str, ...], reason_chars: int) -> type[BaseModel]:
    return create_model(
        "QuestionAnswer", reason=(str, Field(max_length=reason_chars)),
        letter=(Literal[letters], ...),  # type: ignore[valid-type]
    )


@dataclass
class AnswerRecord:
    letter: str | None
    reason: str
    unanswered_reason: str | None
    input_tokens: int
    output_tokens: int
    duration_s: float
    calls: int
    option_probs: dict[str, float] | None = None  # from logprobs, when asked for and returned
    option_mass: float | None = None  # probability on any letter before renormalising


async def answer_question(
    model: BaseChatModel, question: Question, *, context: str = "", persona: str = "",
    limiter: asyncio.Semaphore | None = None, max_attempts: int = 3, top_logprobs: int = 0,
    run_name: str | None = None, step_by_step: bool = False, with_passage: bool = False,
) -> AnswerRecord:
    """One structured answer; with `top_logprobs` > 0 also the option probabilities behind it;
    `step_by_step`: chain of thought (the reasoning goes option by option and may be longer);
    `with_passage`: a reading question's passage comes before it (a question without one is as is)."""
    shown = question.render()
    if with_passage and question.passage.strip():
        shown = f"Passage:\n{question.passage.strip()}\n\n{shown}"
    prompt = render_template("answerer_cot" if step_by_step else "answerer", persona=persona, context=context,
                             question=shown, letters=", ".join(question.letters))
    try:
        result = await call_structured(model, [HumanMessage(prompt)],
                                       answer_schema(question.letters, 900 if step_by_step else 300),
                                       max_attempts=max_attempts, min_output_tokens=200, limiter=limiter,
                                       top_logprobs=top_logprobs, run_name=run_name)
    except ollama.ResponseError as exc:
        if exc.status_code != 400 or "context" not in str(exc.error).lower():
            raise
        # The same prompt would overflow again: an honest "unanswered", not a crashed run.
        return AnswerRecord(letter=None, reason="",
                            unanswered_reason=f"prompt does not fit the context window, raise num_ctx ({exc.error})",
                            input_tokens=0, output_tokens=0, duration_s=0.0, calls=1)
    value = result.value
    probs = (option_probabilities(result.calls[-1].text, result.calls[-1].logprobs, question.letters)
             if value is not None and top_logprobs > 0 else None)
    return AnswerRecord(
        letter=value.letter if value is not None else None,  # type: ignore[attr-defined]
        reason=value.reason if value is not None else "",  # type: ignore[attr-defined]
        unanswered_reason=None if value is not None else result.failure,
        input_tokens=result.input_tokens, output_tokens=result.output_tokens,
        duration_s=result.duration_s, calls=len(result.calls),
        option_probs=probs.probs if probs else None, option_mass=probs.mass if probs else None,
    )


def leaks_answer(text: str, letters: list[str]) -> bool:
    """True when an explanation names an option letter ("option B", "(C)", "answer is D", "B.")."""
    letter_set = "".join(letters)
    patterns = [
        rf"\b(?:option|choice|answer|letter)\s*(?:is|:|=)?\s*\(?[{letter_set}]\b",
        rf"\([{letter_set}]\)",
        rf"(?:^|\n)\s*[{letter_set}][.):]\s",
        rf"\b[{letter_set}]\s+is\s+(?:the\s+)?(?:correct|right|best|answer)",
    ]
    return any(re.search(p, text, flags=re.IGNORECASE if i == 0 else 0) for i, p in enumerate(patterns))


@dataclass
class Explanation:
    text: str | None
    attempts: int
    leaked_attempts: int
    input_tokens: int
    output_tokens: int
    duration_s: float


async def explain_without_letter(
    model: BaseChatModel, question: Question, *, words: int = 90, max_attempts: int = 3,
    limiter: asyncio.Semaphore | None = None,
) -> Explanation:
    """The strong model's explanation; an attempt that names a letter is rejected and retried.
    After `max_attempts` leaks the explanation is withheld (None), never passed on."""
    prompt = render_template("explainer", question=question.render(), words=words)
    model = with_max_output_tokens(model, words * TOKENS_PER_WORD_CAP)
    leaked, tokens_in, tokens_out, seconds = 0, 0, 0, 0.0
    for attempt in range(1, max_attempts + 1):
        record = await call_text(model, [HumanMessage(prompt)], limiter=limiter)
        tokens_in += record.input_tokens
        tokens_out += record.output_tokens
        seconds += record.duration_s
        if record.text.strip() and not leaks_answer(record.text, question.letters):
            return Explanation(record.text, attempt, leaked, tokens_in, tokens_out, seconds)
        leaked += 1
    return Explanation(None, max_attempts, leaked, tokens_in, tokens_out, seconds)


async def advocate(model: BaseChatModel, question: Question, letter: str, *, words: int = 70,
                   limiter: asyncio.Semaphore | None = None) -> CallRecord:
    """The debate variant: the strong model argues that `letter` is correct."""
    prompt = render_template("advocate", letter=letter, option=question.option_text(letter),
                             question=question.render(), words=words)
    return await call_text(with_max_output_tokens(model, words * TOKENS_PER_WORD_CAP), [HumanMessage(prompt)],
                           limiter=limiter)
