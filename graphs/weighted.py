"""weighted: K agents answer a labelled question in parallel; their letters are combined by
per-agent weights (EnsemW2S, arXiv 2410.04571, at inference time).

    START -> answerer_1 | ... | answerer_K  (Send fan-out)  -> combine (weighted vote) -> END

The weights come from the run-time context: equal weights give a majority vote; SAMME weights
are fitted on a calibration split by the question runner (debatelab/w2s_runner.py). With
`top_logprobs` > 0 each answer also carries its option probabilities (agents/option_probs.py),
and the combine step sums weight x probability instead of weight per letter.
"""

from __future__ import annotations

import operator
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send
from typing_extensions import TypedDict

from debatelab.agents import ModelSpec, achat_model_for, call_limit_for
from debatelab.agents.roles import answer_question
from debatelab.base import UserError
from debatelab.graphs.config import DebateConfig
from debatelab.graphs.context import context_of
from debatelab.graphs.registry import topology
from debatelab.graphs.retry import model_retry_policy
from debatelab.graphs.voting import weighted_probability_vote
from debatelab.scenarios import Question


class QAState(TypedDict, total=False):
    """As input: `{"question": {"id": ..., "question": ..., "options": [...], "answer": "A"}}`."""

    question: dict[str, Any]
    answers: Annotated[list[dict[str, Any]], operator.add]
    prediction: str | None


@dataclass(kw_only=True)
class QAContext:
    """Run-time context of the weighted ensemble: data only (JSON in LangGraph Server)."""

    weights: dict[str, float] = field(default_factory=dict, metadata={
        "description": "per agent: its SAMME weight (alpha); equal weights when empty"})
    personas: dict[str, str] = field(default_factory=dict, metadata={
        "description": "per agent: a persona replacing the configuration's"})
    max_attempts: int = 3
    top_logprobs: int = field(default=0, metadata={
        "description": "> 0: ask for log-probabilities and vote with option probabilities (EnsemW2S)"})


def _qa_context(runtime: Runtime) -> QAContext:
    return context_of(runtime, QAContext)


AnswerNode = Callable[[QAState, Runtime[QAContext]], Awaitable[dict[str, Any]]]


def _answer_node(agent: str, spec: ModelSpec, persona: str) -> AnswerNode:
    async def answer(state: QAState, runtime: Runtime[QAContext]) -> dict[str, Any]:
        ctx = _qa_context(runtime)
        q = Question.model_validate(state["question"])
        rec = await answer_question(await achat_model_for(ctx, agent, spec), q, persona=ctx.personas.get(agent, persona),
                                    limiter=call_limit_for(agent), max_attempts=ctx.max_attempts,
                                    top_logprobs=ctx.top_logprobs, run_name=agent)
        return {"answers": [{"agent": agent, "letter": rec.letter, "reason": rec.reason,
                             "unanswered_reason": rec.unanswered_reason, "input_tokens": rec.input_tokens,
                             "output_tokens": rec.output_tokens, "duration_s": rec.duration_s, "calls": rec.calls,
                             "option_probs": rec.option_probs, "option_mass": rec.option_mass}]}

    answer.__name__ = f"answer_{agent}"
    return answer


def combine(state: QAState, runtime: Runtime[QAContext]) -> dict[str, Any]:
    q = Question.model_validate(state["question"])
    given = state.get("answers", [])
    answers = {a["agent"]: [a["letter"]] for a in given}
    probabilities = {a["agent"]: [a.get("option_probs")] for a in given}
    weights = _qa_context(runtime).weights or dict.fromkeys(answers, 1.0)
    return {"prediction": weighted_probability_vote(answers, probabilities, weights, q.letters)[0]}


def build_weighted_graph(config: DebateConfig) -> StateGraph:
    """Every answerer answers in parallel; `combine` votes with the context's weights."""
    agents = answerers(config)
    graph = StateGraph(QAState, context_schema=QAContext)
    for agent in agents:
        node = _answer_node(agent, config.model_for(agent), config.agents[agent].persona or "")
        graph.add_node(agent, node, retry_policy=model_retry_policy())
        graph.add_edge(agent, "combine")
    graph.add_node("combine", combine)
    graph.add_conditional_edges(START, lambda state: [Send(a, state) for a in agents], agents)
    graph.add_edge("combine", END)
    return graph


def answerers(config: DebateConfig) -> list[str]:
    agents = config.agents_with_role("answerer")
    if len(agents) < 2:
        raise UserError(f"{config.source or config.name}: topology 'weighted' needs at least 2 agents with "
                        f"role 'answerer', found {len(agents)}")
    return agents


@topology("weighted")
def weighted(config: DebateConfig) -> StateGraph:
    return build_weighted_graph(config)
