"""Debate on a labelled question, round by round (Du et al. 2023): K answerers answer alone (round
0), then for R rounds each reads the others' previous answers and reasons and answers again.

    START -> answer x K (Send, round 0) -> next_round -> answer x K (round 1) -> ... -> END

Every answer is structured output constrained to the question's option letters; a reply that
cannot be read is *unanswered* (None), never a guess. Agents may differ in model and persona (a
configuration's answerers). An optional probe is a fabricated peer that, from round 1 on, states a
wrong answer with confidence: how often agents that were right give in to it is the conformity
the analysis reports. The graph is checkpointed per question, so a killed run resumes a question
where it stopped without repeating a finished answer.
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
from debatelab.graphs.retry import model_retry_policy
from debatelab.scenarios import Question

PROBE_AGENT = "probe"


def latest(current: int, new: int) -> int:
    """The round reducer: answerers of one round report the same round; keep the latest."""
    return max(current or 0, new or 0)


class AnswerDebateState(TypedDict, total=False):
    """As input: `question` (id, question, options, answer), `rounds`, and optionally `probe`
    ({"letter": a wrong option, "reason": ...}). `answers` collects every agent's answer per round."""

    question: dict[str, Any]
    rounds: int
    probe: dict[str, Any] | None
    round: Annotated[int, latest]
    answers: Annotated[list[dict[str, Any]], operator.add]


@dataclass(kw_only=True)
class AnswerDebateContext:
    """Run-time context: data only."""

    max_attempts: int = 3
    personas: dict[str, str] = field(default_factory=dict)


def peers_context(question: Question, answers: list[dict[str, Any]], agent: str, round_no: int,
                  probe: dict[str, Any] | None) -> str:
    """What an agent reads in round `round_no` >= 1: the others' answers of the previous round (and the
    probe's, if any), then its own."""
    previous = [a for a in answers if a["round"] == round_no - 1]
    lines = []
    for a in previous:
        if a["agent"] == agent:
            continue
        shown = f"{a['letter']} ({question.option_text(a['letter'])})" if a["letter"] else "no answer"
        lines.append(f"- {a['agent']}: {shown}. {a['reason']}".rstrip())
    if probe:
        lines.append(f"- {PROBE_AGENT}: {probe['letter']} ({question.option_text(probe['letter'])}). {probe['reason']}")
    own = next((a for a in previous if a["agent"] == agent), None)
    mine = f"{own['letter']}" if own and own["letter"] else "no answer"
    return (f"Other agents answered this question in round {round_no - 1}:\n" + "\n".join(lines)
            + f"\nYour own answer then was: {mine}. Consider their reasons, then answer again.\n")


AnswerNode = Callable[[dict[str, Any], Runtime[AnswerDebateContext]], Awaitable[dict[str, Any]]]


def _answer_node(agent: str, spec: ModelSpec, persona: str) -> AnswerNode:
    async def answer(task: dict[str, Any], runtime: Runtime[AnswerDebateContext]) -> dict[str, Any]:
        ctx = context_of(runtime, AnswerDebateContext)
        question = Question.model_validate(task["question"])
        round_no = task["round"]
        context = peers_context(question, task["answers"], agent, round_no, task.get("probe")) if round_no else ""
        rec = await answer_question(await achat_model_for(ctx, agent, spec), question, context=context,
                                    persona=ctx.personas.get(agent, persona), limiter=call_limit_for(agent),
                                    max_attempts=ctx.max_attempts, run_name=f"{agent}:round{round_no}",
                                    with_passage=True)
        return {"round": round_no, "answers": [{
            "agent": agent, "round": round_no, "letter": rec.letter, "reason": rec.reason,
            "unanswered_reason": rec.unanswered_reason, "input_tokens": rec.input_tokens,
            "output_tokens": rec.output_tokens, "duration_s": rec.duration_s, "calls": rec.calls}]}

    answer.__name__ = f"answer_{agent}"
    return answer


def answerers_of(config: DebateConfig) -> list[str]:
    agents = config.agents_with_role("answerer")
    if len(agents) < 2:
        raise UserError(f"{config.source or config.name}: a debate on questions needs at least 2 agents with role "
                        f"'answerer', found {len(agents)}")
    return agents


def build_answer_debate_graph(config: DebateConfig) -> StateGraph:
    """Round 0 and every later round fan out to all answerers; `next_round` decides whether to go on."""
    agents = answerers_of(config)
    graph = StateGraph(AnswerDebateState, context_schema=AnswerDebateContext)
    for agent in agents:
        graph.add_node(agent, _answer_node(agent, config.model_for(agent), config.agents[agent].persona or ""),
                       retry_policy=model_retry_policy())
        graph.add_edge(agent, "next_round")

    def fan_out(state: AnswerDebateState, round_no: int) -> list[Send]:
        return [Send(a, {"question": state["question"], "round": round_no, "answers": state.get("answers", []),
                         "probe": state.get("probe") if round_no >= 1 else None}) for a in agents]

    def start(state: AnswerDebateState) -> list[Send] | str:
        done = {(a["agent"], a["round"]) for a in state.get("answers", [])}
        pending = [s for s in fan_out(state, 0) if (s.node, 0) not in done]
        # Every round-0 answer given (a probed debate shares its control's round 0): go on from there.
        return pending or after_round(state)

    def after_round(state: AnswerDebateState) -> list[Send] | str:
        last = max((a["round"] for a in state.get("answers", [])), default=0)
        return fan_out(state, last + 1) if last < state.get("rounds", 1) else END

    graph.add_node("next_round", lambda state: {}, defer=True)  # waits for every answer of the round
    graph.add_conditional_edges(START, start, [*agents, END])
    graph.add_conditional_edges("next_round", after_round, [*agents, END])
    return graph
