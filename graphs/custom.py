"""YAML topologies: the configuration's agents are the nodes; `graph.edges` wire them; an
optional loop repeats rounds until `rounds` or until the aggregator is confident enough.

    topology: custom
    rounds: 3
    agents: {pro: ..., con: ..., critic: ..., judge: {role: aggregator, ...}}
    graph:
      edges: [[START, pro], [START, con], [pro, critic], [con, critic], [critic, judge], [judge, END]]
      loop: {after: judge, back_to: [pro, con], stop_when_confidence_at_least: 0.8}

A node with several incoming edges waits for all of them (a join). Validation names the field
and the fix: unknown node in an edge, no path to END, an agent that is never reached.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from debatelab.base import UserError
from debatelab.graphs.config import DebateConfig
from debatelab.graphs.context import DebateContext, load_context, rounds_for
from debatelab.graphs.registry import topology
from debatelab.graphs.retry import model_retry_policy
from debatelab.graphs.staged import agent_node
from debatelab.graphs.state import DebateState

TERMINALS = {"START": START, "END": END}


def _fail(config: DebateConfig, field: str, message: str) -> UserError:
    return UserError(f"{config.source or config.name}: field '{field}': {message}")


def validate_custom(config: DebateConfig) -> None:
    """Check a custom topology before building it; raise one clear error for the first problem."""
    if config.graph is None:
        raise _fail(config, "graph", "topology 'custom' needs a 'graph' with 'edges'")
    nodes = set(config.agents)
    for i, (src, dst) in enumerate(config.graph.edges):
        for end_name, name in (("from", src), ("to", dst)):
            if name not in nodes and name not in TERMINALS:
                raise _fail(config, f"graph.edges.{i}", f"edge {end_name} unknown node {name!r} "
                            f"(a dangling edge); nodes are the agents {sorted(nodes)}, START and END")
        if src == "END" or dst == "START":
            raise _fail(config, f"graph.edges.{i}", "edges cannot leave END or enter START")
    loop = config.graph.loop
    if loop:
        for name in [loop.after, *loop.back_to]:
            if name not in nodes:
                raise _fail(config, "graph.loop", f"unknown node {name!r}; use agent names")
        if loop.stop_when_confidence_at_least is not None and config.agents[loop.after].role != "aggregator":
            raise _fail(config, "graph.loop.after", "a confidence stop needs the loop to run after an aggregator")
    succ: dict[str, set[str]] = defaultdict(set)
    for src, dst in config.graph.edges:
        succ[src].add(dst)
    if loop:
        succ[loop.after].update(loop.back_to)
    seen = _reachable("START", succ)
    if "END" not in seen:
        raise _fail(config, "graph.edges", "no path from START to END; add an edge [..., END]")
    unreached = nodes - seen
    if unreached:
        raise _fail(config, "graph.edges", f"agents {sorted(unreached)} are never reached from START")
    _refuse_cycles(config)
    pred: dict[str, set[str]] = defaultdict(set)
    for src, dsts in succ.items():
        for dst in dsts:
            pred[dst].add(src)
    stuck = nodes - _reachable("END", pred)
    if stuck:
        raise _fail(config, "graph.edges", f"agents {sorted(stuck)} never reach END; add an edge from them "
                    f"towards END")


def _reachable(start: str, links: dict[str, set[str]]) -> set[str]:
    """Every node reachable from `start` along `links` (successors forward, predecessors back)."""
    seen, stack = {start}, [start]
    while stack:
        for nxt in links[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _refuse_cycles(config: DebateConfig) -> None:
    """Edges must form a DAG: rounds repeat only through `loop:`. A cycle among edges would have
    its agents wait for each other forever (LangGraph runs a node once all its inputs arrived)."""
    assert config.graph is not None
    succ: dict[str, list[str]] = defaultdict(list)
    for src, dst in config.graph.edges:
        succ[src].append(dst)
    for i, (src, dst) in enumerate(config.graph.edges):
        if src == dst:
            raise _fail(config, f"graph.edges.{i}", f"self-edge [{src}, {dst}]; repeat rounds with 'loop:' instead")
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str) -> None:
        state[node] = 1
        for nxt in succ[node]:
            if state.get(nxt) == 1:
                index = config.graph.edges.index((node, nxt))  # type: ignore[union-attr]
                raise _fail(config, f"graph.edges.{index}", f"edge [{node}, {nxt}] closes a cycle; edges must not "
                            f"loop back (use 'loop: {{after: ..., back_to: [...]}}' for rounds)")
            if nxt not in state:
                visit(nxt)
        state[node] = 2

    for start in list(succ):
        if start not in state:
            visit(start)


@topology("custom")
def custom(config: DebateConfig) -> StateGraph:
    validate_custom(config)
    assert config.graph is not None
    loop = config.graph.loop
    graph = StateGraph(DebateState, context_schema=DebateContext)
    used = list(dict.fromkeys(n for edge in config.graph.edges for n in edge if n not in TERMINALS))
    for agent in used:
        graph.add_node(agent, agent_node(config, agent), retry_policy=model_retry_policy())

    async def first_round(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
        return {"round": 1, "rounds": rounds_for(state, await load_context(runtime.context), config)}

    def next_round(state: DebateState) -> dict[str, Any]:
        return {"round": state["round"] + 1}

    graph.add_node("begin", first_round)
    graph.add_edge(START, "begin")
    incoming: dict[str, list[str]] = defaultdict(list)
    exits: list[str] = []
    for src, dst in config.graph.edges:
        s = "begin" if src == "START" else src
        d = TERMINALS.get(dst, dst)
        if loop and src == loop.after:
            exits.append(d)
            continue
        incoming[d].append(s)
    for dst, sources in incoming.items():
        graph.add_edge(sources[0] if len(sources) == 1 else sources, dst)
    if loop:
        graph.add_node("next_round", next_round)
        for target in loop.back_to:
            graph.add_edge("next_round", target)
        threshold = loop.stop_when_confidence_at_least

        def route(state: DebateState) -> list[str] | str:
            confident = (
                threshold is not None
                and (state.get("verdict") or {}).get("confidence") is not None
                and state["verdict"]["confidence"] >= threshold
            )
            if state["round"] < state.get("rounds", config.rounds) and not confident:
                return "next_round"
            return exits or END

        graph.add_conditional_edges(loop.after, route, ["next_round", *(exits or [END])])
    return graph
