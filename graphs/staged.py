"""Building block for the built-in topologies: rounds made of stages, then final speakers.

A stage is a set of agents that speak in parallel (fanned out with `Send`, fanned in through
the `turns` reducer). Stages run in order within a round; rounds repeat; after the last round
the final agents (usually the aggregator) speak. The graph drawn by `debatelab graph` shows one
node per agent and a gate after each stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy, Send

from agents.roles.registry import build_node
from debatelab.errors import UserError
from graphs.config import DebateConfig
from graphs.retry import model_retry_policy
from graphs.state import DebateState


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
    rounds = config.rounds
    policy = retry or model_retry_policy()
    graph = StateGraph(DebateState)
    for agent in speakers:
        graph.add_node(agent, build_node(agent, config), retry_policy=policy)

    def open_round(state: DebateState) -> dict[str, Any]:
        return {"round": state.get("round", 0) + 1}

    graph.add_node("open_round", open_round)
    graph.add_edge(START, "open_round")

    def route_from(position: int):  # noqa: ANN202
        """After stage `position` (-1 = round start): the next active stage, a new round, or the end."""

        def route(state: DebateState) -> list[Send] | str:
            r = state["round"]
            for stage in stages[position + 1:]:
                if stage.active(r, rounds):
                    return [Send(a, _task(state, r, stage.visibility)) for a in stage.agents]
            if r < rounds:
                return "open_round"
            return [Send(a, _task(state, r + 1, final.visibility)) for a in final.agents] or END

        return route

    def targets_after(position: int) -> list[str]:
        """Where the router after `position` may go: drawn by `debatelab graph`."""
        later = [a for st in stages[position + 1:] for a in st.agents]
        again = ["open_round"] if rounds > 1 else []
        return later[: len(stages[position + 1].agents)] if position + 1 < len(stages) and not any(
            st.skip_last_round for st in stages[position + 1:]
        ) else later + again + (list(final.agents) or [END])

    graph.add_conditional_edges("open_round", route_from(-1), targets_after(-1))
    for k, stage in enumerate(stages):
        gate = f"after_{'_'.join(stage.agents)}" if len(stage.agents) <= 2 else f"after_stage_{k + 1}"
        graph.add_node(gate, lambda state: {})
        for agent in stage.agents:
            graph.add_edge(agent, gate)
        graph.add_conditional_edges(gate, route_from(k), targets_after(k))
    for agent in final.agents:
        graph.add_edge(agent, END)
    return graph
