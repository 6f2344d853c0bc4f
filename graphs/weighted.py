"""weighted: K agents answer a labelled question in parallel; their letters are combined by
per-agent weights (EnsemW2S, arXiv 2410.04571, at inference time).

    START -> answerer_1 | ... | answerer_K  (Send fan-out)  -> combine (weighted vote) -> END

The weights come from the run-time context: equal weights give a majority vote; SAMME weights
are fitted on a calibration split by the question runner (debatelab/w2s_runner.py). With
`top_logprobs` > 0 each answer also carries its option probabilities (agents/option_probs.py),
and the combine step sums weight x probability instead of weight per letter.
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from agents.roles.answerer import answer_question
from debatelab.errors import UserError
from graphs.config import DebateConfig
from graphs.registry import topology
from graphs.retry import model_retry_policy
from graphs.voting import weighted_probability_vote
from scenarios.questions import Question


class QAState(TypedDict, total=False):
    question: dict[str, Any]
    answers: Annotated[list[dict[str, Any]], operator.add]
    prediction: str | None


@dataclass
class QAContext:
    models: Mapping[str, BaseChatModel]
    weights: Mapping[str, float] = field(default_factory=dict)
    personas: Mapping[str, str] = field(default_factory=dict)
    limiter: asyncio.Semaphore | None = None
    max_attempts: int = 3
    top_logprobs: int = 0  # > 0: ask for logprobs and combine option probabilities


def _answer_node(agent: str):  # noqa: ANN202
    async def answer(state: QAState, runtime: Runtime[QAContext]) -> dict[str, Any]:
        ctx = runtime.context
        q = Question.model_validate(state["question"])
        rec = await answer_question(ctx.models[agent], q, persona=ctx.personas.get(agent, ""),
                                    limiter=ctx.limiter, max_attempts=ctx.max_attempts, top_logprobs=ctx.top_logprobs)
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
    weights = runtime.context.weights or dict.fromkeys(answers, 1.0)
    return {"prediction": weighted_probability_vote(answers, probabilities, weights, q.letters)[0]}


def build_weighted_graph(agents: list[str]) -> StateGraph:
    graph = StateGraph(QAState, context_schema=QAContext)
    for agent in agents:
        graph.add_node(agent, _answer_node(agent), retry_policy=model_retry_policy())
        graph.add_edge(agent, "combine")
    graph.add_node("combine", combine)
    graph.add_conditional_edges(START, lambda state: [Send(a, state) for a in agents], agents)
    graph.add_edge("combine", END)
    return graph


@topology("weighted")
def weighted(config: DebateConfig) -> StateGraph:
    agents = config.agents_with_role("answerer")
    if len(agents) < 2:
        raise UserError(f"{config.source or config.name}: topology 'weighted' needs at least 2 agents with "
                        f"role 'answerer', found {len(agents)}")
    return build_weighted_graph(agents)
