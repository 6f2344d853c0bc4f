"""Pairwise comparison: which of two responses (or two debates) does a task better.

Both texts go through the same normalisation and neutralisation as the absolute judge's view, sit
between delimiters carrying a nonce derived from their content, and are shown as "Response 1"
and "Response 2" only. The judge writes its reasons first. The reply names the *position*
chosen; callers map it back to the response, so running both presentation orders measures how
much the position alone decides.

The pairwise judging graph compares two debates on one scenario, per rubric criterion and
overall, in one presentation order per run (its own thread: `pair:<a>:<b>:<rubric>:<judge>:<order>`):

    prepare (both debates' anonymised bodies) -> compare_criterion x (criteria + overall) -> END
"""

from __future__ import annotations

import asyncio
import hashlib
import operator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from debatelab.agents import achat_model_for, call_limit_for, call_structured
from debatelab.agents.roles import render_template
from debatelab.graphs.compile_cache import compiled
from debatelab.graphs.context import context_of
from debatelab.graphs.judge_input import debate_body, neutralise
from debatelab.graphs.judging import JUDGE_AGENT, JudgeContext, as_transcript
from debatelab.graphs.retry import model_retry_policy
from debatelab.rubric import OVERALL, Rubric, load_rubric


class PairChoice(BaseModel):
    """Reasons before the choice; the choice is a position, "1" or "2"."""

    reasons: str = Field(max_length=240)  # two sentences: every output token costs a small judge time
    better: Literal["1", "2"]


class PairChoiceOrTie(BaseModel):
    """For debates, where neither side may be better: "1", "2" or "tie"."""

    reasons: str = Field(max_length=240)
    better: Literal["1", "2", "tie"]


@dataclass
class PairVerdict:
    position: int | None  # 1 or 2; 0 = a tie; None = unscored
    reasons: str
    unscored_reason: str | None
    attempts: int
    input_tokens: int
    output_tokens: int
    duration_s: float


def pair_messages(prompt: str, first: str, second: str, criterion: str = "", allow_tie: bool = False,
                  neutral: bool = False) -> list:
    """The judge's exact messages for one presentation order. `neutral`: the two texts are already
    neutralised debate bodies (`debate_body`), whose real speaker headers must stay headers."""
    task = neutralise(prompt)
    one, two = (first, second) if neutral else (neutralise(first), neutralise(second))
    # The code does not depend on the order, so both presentation orders of a pair share their prompt's
    # start (instructions and task) and a server's prompt cache serves the second order's.
    nonce = hashlib.sha256("\x00".join([task, *sorted((one, two))]).encode()).hexdigest()[:10]
    choices = '"1", "2" or "tie" (only if neither is better)' if allow_tie else '"1" or "2"'
    return [SystemMessage(render_template("judge_pair_system", nonce=nonce)),
            HumanMessage(render_template("judge_pair", nonce=nonce, prompt=task, first=one, second=two,
                                         criterion=f" on this criterion: {criterion}" if criterion else "",
                                         choices=choices))]


async def compare(model: BaseChatModel, prompt: str, first: str, second: str, *, criterion: str = "",
                  max_attempts: int = 3, limiter: object = None, run_name: str = "judge:pair",
                  allow_tie: bool = False, neutral: bool = False) -> PairVerdict:
    schema = PairChoiceOrTie if allow_tie else PairChoice
    messages = pair_messages(prompt, first, second, criterion, allow_tie, neutral)
    result = await call_structured(model, messages, schema,
                                   max_attempts=max_attempts, min_output_tokens=320, limiter=limiter,  # type: ignore[arg-type]
                                   run_name=run_name)
    calls = result.calls
    value = result.value
    return PairVerdict(
        position=(0 if value.better == "tie" else int(value.better)) if value is not None else None,
        reasons=value.reasons if value is not None else (calls[-1].text[:400] if calls else ""),
        unscored_reason=None if value is not None else f"after {result.attempts} attempts: {result.failure}",
        attempts=result.attempts, input_tokens=result.input_tokens,
        output_tokens=result.output_tokens, duration_s=result.duration_s,
    )


# -- the pairwise judging graph --------------------------------------------------------------------


class PairState(TypedDict, total=False):
    """As input: two transcripts on the same scenario, a rubric (id or object) and an order."""

    pair_id: str
    transcript_a: dict[str, Any]
    transcript_b: dict[str, Any]
    rubric: str | dict[str, Any]
    order: Literal["ab", "ba"]
    motion: str
    first: str
    second: str
    verdicts: Annotated[list[dict[str, Any]], operator.add]


async def prepare_pair(state: PairState) -> dict[str, Any]:
    rubric = state.get("rubric") or "alignment-7"
    if isinstance(rubric, str):
        rubric = (await asyncio.to_thread(load_rubric, rubric)).model_dump()
    a, b = as_transcript(state.get("transcript_a")), as_transcript(state.get("transcript_b"))
    body_a, _ = debate_body(a)
    body_b, _ = debate_body(b)
    first, second = (body_a, body_b) if state.get("order", "ab") == "ab" else (body_b, body_a)
    return {"rubric": rubric, "motion": a.get("motion", ""), "first": first, "second": second}


def fan_out_pair(state: PairState) -> list[Send]:
    rubric = Rubric.model_validate(state["rubric"])
    items = [(c.id, f"{c.name} - {c.question}") for c in rubric.criteria] + [(OVERALL, "")]
    return [Send("compare_criterion", {"criterion": cid, "question": q, "motion": state["motion"],
                                       "first": state["first"], "second": state["second"],
                                       "order": state.get("order", "ab")}) for cid, q in items]


async def compare_criterion(task: dict[str, Any], runtime: Runtime[JudgeContext]) -> dict[str, Any]:
    ctx = context_of(runtime, JudgeContext)
    prompt = f"Two debates argued this motion. Which debate argued it better?\nMotion: {task['motion']}"
    verdict = await compare(await achat_model_for(ctx, JUDGE_AGENT, ctx.judge_spec()), prompt, task["first"],
                            task["second"], criterion=task["question"], max_attempts=ctx.max_attempts,
                            limiter=call_limit_for(JUDGE_AGENT), run_name=f"judge:pair:{task['criterion']}",
                            allow_tie=True, neutral=True)
    winner = None
    if verdict.position == 0:
        winner = "tie"
    elif verdict.position is not None:
        shown_first = "a" if task["order"] == "ab" else "b"
        winner = shown_first if verdict.position == 1 else ("b" if shown_first == "a" else "a")
    return {"verdicts": [{"criterion": task["criterion"], "winner": winner, "reasons": verdict.reasons,
                          "unscored_reason": verdict.unscored_reason, "attempts": verdict.attempts,
                          "input_tokens": verdict.input_tokens, "output_tokens": verdict.output_tokens,
                          "duration_s": verdict.duration_s}]}


def build_pairwise_graph() -> StateGraph:
    graph = StateGraph(PairState, context_schema=JudgeContext)
    graph.add_node("prepare", prepare_pair)
    graph.add_node("compare_criterion", compare_criterion, retry_policy=model_retry_policy())
    graph.add_edge(START, "prepare")
    graph.add_conditional_edges("prepare", fan_out_pair, ["compare_criterion"])
    graph.add_edge("compare_criterion", END)
    return graph


def compile_pairwise(checkpointer: Any = None) -> Any:
    """The compiled pairwise graph for a checkpointer (compiled once per checkpointer: every
    judgment has the same shape, and a run judges many debates on one checkpointer)."""
    return compiled("pairwise", build_pairwise_graph, checkpointer, name="pairwise")
