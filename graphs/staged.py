"""Building block for the built-in topologies: rounds made of stages, then final speakers.

A stage is a set of agents that speak in parallel (routed to together, fanned in through the
`turns` reducer). Stages run in order within a round; rounds repeat; after the last round the
final agents (usually the aggregator) speak. A speaker routes straight to the next stage; only a
stage of several parallel speakers needs a join node (`after_<stage>`) so that the next stage
starts once. Fewer supersteps means fewer checkpoints per model call (bench/overhead.py).

A lone speaker is routed to by name: it reads the state and works out its round itself
(`task_from_state`), since each agent speaks once per round. Parallel speakers get a `Send` with
their task: LangGraph orders parallel writes by their tasks, and `Send`s keep the configuration's
order of agents in the transcript (named nodes would be sorted by name). A `Send` carries a copy
of the transcript, written to the checkpoint once more, so it is used only where it is needed.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import RetryPolicy, Send

from debatelab.agents.roles import NodeFn, build_node
from debatelab.base import UserError
from debatelab.graphs.config import DebateConfig
from debatelab.graphs.context import DebateContext, load_context, rounds_for
from debatelab.graphs.retry import model_retry_policy
from debatelab.graphs.state import DebateState

Router = Callable[[DebateState, Runtime[DebateContext]], Awaitable[list[Send] | list[str] | str]]

def agent_node(config: DebateConfig, agent: str) -> NodeFn:
    """The node of one of the configuration's agents, built by its role."""
    return build_node(agent, config.agents[agent], config.model_for(agent))


@dataclass(frozen=True)
class Stage:
    """Agents that speak in parallel; `visibility` is what they read; optionally not in the last round."""

    agents: tuple[str, ...]
    visibility: str = "all"
    skip_last_round: bool = False

    def active(self, round_no: int, rounds: int) -> bool:
        return not (self.skip_last_round and round_no == rounds)


def _task(state: DebateState, round_no: int, visibility: str) -> dict[str, Any]:
    return {"round": round_no, "turns": state.get("turns", []), "scenario": state["scenario"],
            "visibility": visibility}


def task_from_state(state: dict[str, Any], agent: str, visibility: str, *, final: bool) -> dict[str, Any]:
    """What a stage's speaker is given: its round and what it may read.

    Each agent speaks once per round, so an agent that already spoke in the state's round (or a
    debate that has not begun, round 0) starts the next one; a final speaker speaks after the
    last round. A `Send` packet (parallel speakers, or a checkpoint written before lone speakers
    were routed by name) is already a task and is passed on as it is."""
    if "visibility" in state:
        return state
    current = state.get("round", 0) or 0
    turns = state.get("turns", [])
    spoke = any(t.get("agent") == agent and t.get("round") == current for t in turns)
    return _task(state, current + 1 if final or current == 0 or spoke else current, visibility)


def stage_node(config: DebateConfig, agent: str, visibility: str, *, final: bool) -> NodeFn:
    """The agent's role node, given its task (`task_from_state`) instead of the whole state."""
    inner = agent_node(config, agent)
    with_runtime = len(inspect.signature(inner).parameters) >= 2

    async def speak(state: dict[str, Any], runtime: Runtime[DebateContext]) -> dict[str, Any]:
        task = task_from_state(state, agent, visibility, final=final)
        return await (inner(task, runtime) if with_runtime else inner(task))

    speak.__name__ = getattr(inner, "__name__", agent)
    return speak


def staged_graph(
    config: DebateConfig, stages: list[Stage], final: Stage, *, retry: RetryPolicy | None = None,
) -> StateGraph:
    """Compile-ready StateGraph: `config.rounds` rounds of `stages`, then `final`."""
    speakers = [a for s in stages for a in s.agents] + list(final.agents)
    missing = [a for a in speakers if a not in config.agents]
    if missing:
        raise UserError(f"topology {config.topology!r} needs agents {missing} that the configuration lacks")
    if len(set(speakers)) != len(speakers):
        raise UserError(f"topology {config.topology!r}: an agent appears in two stages")
    policy = retry or model_retry_policy()
    graph = StateGraph(DebateState, context_schema=DebateContext)
    for stage, final_stage in [(st, False) for st in stages] + [(final, True)]:
        for agent in stage.agents:
            graph.add_node(agent, stage_node(config, agent, stage.visibility, final=final_stage), retry_policy=policy)

    def targets(state: DebateState, stage: Stage, round_no: int) -> list[Send] | list[str]:
        if len(stage.agents) == 1:
            return list(stage.agents)
        return [Send(a, _task(state, round_no, stage.visibility)) for a in stage.agents]

    def route_from(position: int) -> Router:
        """After stage `position` of the current round (-1: before the first round)."""

        async def route(state: DebateState, runtime: Runtime[DebateContext]) -> list[Send] | list[str] | str:
            rounds = rounds_for(state, await load_context(runtime.context), config)
            r = state.get("round", 0)
            if r > 0:
                for stage in stages[position + 1:]:
                    if stage.active(r, rounds):
                        return targets(state, stage, r)
            if r < rounds:
                for stage in stages:
                    if stage.active(r + 1, rounds):
                        return targets(state, stage, r + 1)
            return targets(state, final, rounds + 1) or END

        return route

    def targets_after(position: int) -> list[str]:
        """Where the router after `position` may go (drawn by `debatelab graph`)."""
        if position < 0:
            return list(stages[0].agents)
        later = [a for st in stages[position + 1:] for a in st.agents]
        loop = list(stages[0].agents)  # drawn even for one round: a run's context may ask for more
        skipping = any(st.skip_last_round for st in stages)
        if position + 1 < len(stages) and not skipping:
            return later[: len(stages[position + 1].agents)]
        return list(dict.fromkeys(later + loop + (list(final.agents) or [END])))

    graph.add_conditional_edges(START, route_from(-1), targets_after(-1))
    for k, stage in enumerate(stages):
        following = stages[k + 1] if k + 1 < len(stages) else None
        if len(stage.agents) == 1 and following and len(following.agents) == 1 and not following.skip_last_round:
            graph.add_edge(stage.agents[0], following.agents[0])  # always next within a round: no router
            continue
        if len(stage.agents) == 1:
            graph.add_conditional_edges(stage.agents[0], route_from(k), targets_after(k))
            continue
        join = f"after_{'_'.join(stage.agents)}" if len(stage.agents) <= 2 else f"after_stage_{k + 1}"
        graph.add_node(join, lambda state: {})
        for agent in stage.agents:
            graph.add_edge(agent, join)
        graph.add_conditional_edges(join, route_from(k), targets_after(k))
    for agent in final.agents:
        graph.add_edge(agent, END)
    return graph
