"""The judging graph: one debate transcript, one rubric, one judge model, one sample.

    prepare (delimit, neutralise, anonymise, maybe permute)
      -> score_criterion x N (fan-out with Send, one structured call per criterion)
      -> combine (overall score, or None when criteria are unscored)

A criterion whose reply cannot be parsed or is out of range after bounded retries is recorded
as unscored with the reason. No default score exists anywhere in this graph.
"""

from __future__ import annotations

import asyncio
import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send
from pydantic import BaseModel, Field, create_model

from agents.calls import call_structured
from agents.roles.prompting import render_template
from graphs.judge_view import judge_view
from graphs.retry import model_retry_policy
from rubric.schema import Rubric, anchor_levels


class JudgeState(TypedDict, total=False):
    judgment_id: str
    transcript: dict[str, Any]
    rubric: dict[str, Any]
    anonymise: bool
    permutation_seed: int | None
    view: str
    nonce: str
    speaker_order: list[str]
    scores: Annotated[list[dict[str, Any]], operator.add]
    overall: float | None


@dataclass
class JudgeContext:
    """Run-time context (not checkpointed): the judge's chat model and retry budget."""

    model: BaseChatModel
    max_attempts: int = 3
    output_tokens: int = 320
    limiter: asyncio.Semaphore | None = None
    # Criteria of one judgment share a long prefix (the transcript). Scoring them one after
    # another on one server slot reuses its prompt cache; scoring them in parallel would
    # re-read the transcript on every slot. Raise this for servers without prefix caching.
    criteria_in_parallel: int = 1
    _gate: asyncio.Semaphore | None = field(default=None, init=False, repr=False)

    def gate(self) -> asyncio.Semaphore:
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.criteria_in_parallel)
        return self._gate


def criterion_schema(rubric: Rubric) -> type[BaseModel]:
    """Reasons first, score last; the score's range is part of the schema (and of the grammar)."""
    return create_model(
        "CriterionJudgment",
        reasons=(str, Field(max_length=300, description="why this score, on this criterion only")),
        score=(int, Field(ge=rubric.scale.min, le=rubric.scale.max)),
    )


def _anchors_text(anchors: dict[str, str]) -> str:
    ordered = sorted(anchors.items(), key=lambda kv: anchor_levels(kv[0]))
    return "\n".join(f"- {k}: {v}" for k, v in ordered) or "- (no anchors)"


def prepare(state: JudgeState) -> dict[str, Any]:
    view, nonce, order = judge_view(
        state["transcript"], anonymise=state.get("anonymise", True),
        permutation_seed=state.get("permutation_seed"),
    )
    return {"view": view, "nonce": nonce, "speaker_order": order}


def fan_out(state: JudgeState) -> list[Send]:
    rubric = Rubric.model_validate(state["rubric"])
    return [
        Send("score_criterion", {"criterion": c.model_dump(), "rubric": state["rubric"], "view": state["view"],
                                 "nonce": state["nonce"]})
        for c in rubric.criteria
    ]


async def score_criterion(task: dict[str, Any], runtime: Runtime[JudgeContext]) -> dict[str, Any]:
    rubric = Rubric.model_validate(task["rubric"])
    crit = task["criterion"]
    system = render_template("judge_system", nonce=task["nonce"])
    user = render_template(
        "judge_criterion", view=task["view"], name=crit["name"], question=crit["question"],
        min=rubric.scale.min, max=rubric.scale.max, anchors=_anchors_text(crit["anchors"]),
    )
    ctx = runtime.context
    async with ctx.gate():
        result = await call_structured(
            ctx.model, [SystemMessage(system), HumanMessage(user)], criterion_schema(rubric),
            max_attempts=ctx.max_attempts, min_output_tokens=ctx.output_tokens, limiter=ctx.limiter,
        )
    value = result.value
    return {"scores": [{
        "criterion": crit["id"],
        "score": int(value.score) if value is not None else None,
        "unscored_reason": None if value is not None else f"after {result.attempts} attempts: {result.failure}",
        "rationale": value.reasons if value is not None else (result.calls[-1].text[:500] if result.calls else ""),
        "attempts": result.attempts,
        "input_tokens": sum(c.input_tokens for c in result.calls),
        "output_tokens": sum(c.output_tokens for c in result.calls),
        "duration_s": round(sum(c.duration_s for c in result.calls), 4),
    }]}


def combine(state: JudgeState) -> dict[str, Any]:
    rubric = Rubric.model_validate(state["rubric"])
    by_id = {s["criterion"]: s["score"] for s in state.get("scores", [])}
    return {"overall": rubric.overall_score(by_id)}


def build_judging_graph() -> StateGraph:
    graph = StateGraph(JudgeState, context_schema=JudgeContext)
    graph.add_node("prepare", prepare)
    graph.add_node("score_criterion", score_criterion, retry_policy=model_retry_policy())
    graph.add_node("combine", combine)
    graph.add_edge(START, "prepare")
    graph.add_conditional_edges("prepare", fan_out, ["score_criterion"])
    graph.add_edge("score_criterion", "combine")
    graph.add_edge("combine", END)
    return graph


_COMPILED: dict[int, Any] = {}


def compile_judging(checkpointer: Any = None) -> Any:
    """The compiled judging graph for a checkpointer (reused: every judgment has the same shape)."""
    compiled = _COMPILED.get(id(checkpointer))
    if compiled is None or compiled.checkpointer is not checkpointer:
        compiled = build_judging_graph().compile(checkpointer=checkpointer, name="judging")
        _COMPILED[id(checkpointer)] = compiled
    return compiled
