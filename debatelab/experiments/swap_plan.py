"""The order in which a one-model-at-a-time host should load models for a whole experiment.

Each configuration's debates call their models in a fixed order (the topology's). A dry run of the
configuration's graph with scripted models (instant, in memory, no host) records that order. On
a host that holds one model, a load of model M lets every debate whose next calls are M's make
them, so the fewest loads that serve every debate is the length of the shortest common
supersequence of the debates' model sequences (each run of calls to one model collapsed). It is
found exactly by a breadth-first search over the debates' positions (identical sequences count
once) while that search stays small; beyond that, by the weighted majority-merge heuristic. The
host's scheduler follows the plan, and falls back to its own heuristic whenever the calls that
arrive do not match it (a resumed debate, a failed call): a plan only orders calls, it never
changes what a debate says.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from langgraph.checkpoint.memory import InMemorySaver

from debatelab.agents import ScriptedChatModel
from debatelab.base import UserError
from debatelab.experiments.debate import run_debate
from debatelab.graphs import DebateConfig
from debatelab.scenarios import Scenario

MAX_SEARCH_STATES = 300_000


async def agent_order(config: DebateConfig, scenario: Scenario) -> list[str]:
    """The agents in the order they speak in one debate of `config` (a scripted dry run)."""
    models = {agent: ScriptedChatModel(name=agent) for agent in config.agents}
    outcome = await run_debate(config, scenario, checkpointer=InMemorySaver(), debate_id="swap-plan-dry-run",
                               models=models)
    return [t["agent"] for t in outcome.turns]


def collapse(sequence: Sequence[str]) -> tuple[str, ...]:
    return tuple(m for i, m in enumerate(sequence) if i == 0 or sequence[i - 1] != m)


def shortest_supersequence(sequences: list[tuple[str, ...]], max_states: int = MAX_SEARCH_STATES
                           ) -> list[str] | None:
    """An exact shortest common supersequence, or None when the search would exceed `max_states`."""
    seqs = sorted(set(s for s in sequences if s))
    start, goal = tuple(0 for _ in seqs), tuple(len(s) for s in seqs)
    parent: dict[tuple[int, ...], tuple[tuple[int, ...], str] | None] = {start: None}
    frontier = deque([start])
    while frontier:
        state = frontier.popleft()
        if state == goal:
            plan: list[str] = []
            while parent[state] is not None:
                state, model = parent[state]  # type: ignore[misc]
                plan.append(model)
            return plan[::-1]
        for model in sorted({s[p] for s, p in zip(seqs, state, strict=True) if p < len(s)}):
            nxt = tuple(p + (p < len(s) and s[p] == model) for s, p in zip(seqs, state, strict=True))
            if nxt not in parent:
                if len(parent) >= max_states:
                    return None
                parent[nxt] = (state, model)
                frontier.append(nxt)
    return [] if not seqs else None


def majority_merge(sequences: list[tuple[str, ...]]) -> list[str]:
    """Greedy plan: load the model whose waiting debates have the most model runs left."""
    positions = [0] * len(sequences)
    plan: list[str] = []
    while True:
        weight: dict[str, int] = {}
        for seq, p in zip(sequences, positions, strict=True):
            if p < len(seq):
                weight[seq[p]] = weight.get(seq[p], 0) + len(seq) - p
        if not weight:
            return plan
        model = max(weight, key=lambda m: (weight[m], m))
        plan.append(model)
        positions = [p + (p < len(s) and s[p] == model) for s, p in zip(sequences, positions, strict=True)]


def load_plan(sequences: list[list[str]]) -> list[str]:
    collapsed = [collapse(s) for s in sequences]
    return shortest_supersequence(collapsed) or majority_merge(collapsed)


async def dry_run_orders(configs: list[DebateConfig], scenario: Scenario,
                         on_unplanned: Callable[[str], None] | None = None) -> dict[str, list[str]]:
    """Each distinct configuration's speaking order (by configuration name).

    A configuration whose graph the scripted dry run cannot drive (a plugin role that parses its
    replies in its own way, a custom topology that loops on what it reads) is left unplanned: its
    debates run as they would without a plan, and `on_unplanned` is told why."""
    out: dict[str, list[str]] = {}
    for config in configs:
        if config.name not in out:
            try:
                out[config.name] = await agent_order(config, scenario)
            except (UserError, ValueError, KeyError, TypeError, RecursionError) as exc:
                out[config.name] = []
                if on_unplanned is not None:
                    on_unplanned(f"configuration {config.name!r} runs without a model-load plan: its scripted dry "
                                 f"run failed ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})")
    return out
