"""facilitated: weak debaters argue, a strong facilitator explains and critiques, they argue again
(arXiv 2409.07335). The weak side's change between rounds is what this topology measures.

    round r < R:  weak debaters (parallel) -> facilitator
    round R:      weak debaters (parallel)   (their answers after facilitation)
    end:          aggregator
"""

from __future__ import annotations

from langgraph.graph import StateGraph

from debatelab.base import UserError
from debatelab.graphs.config import DebateConfig
from debatelab.graphs.registry import topology
from debatelab.graphs.staged import Stage, staged_graph
from debatelab.graphs.topologies._agents import one, some


@topology("facilitated")
def facilitated(config: DebateConfig) -> StateGraph:
    if config.rounds < 2:
        raise UserError(
            f"{config.source or config.name}: field 'rounds': facilitated needs at least 2 rounds "
            f"(answer, facilitation, answer again)"
        )
    debaters = some(config, "debater", at_least=1)
    stages = [Stage(debaters), Stage((one(config, "facilitator"),), skip_last_round=True)]
    return staged_graph(config, stages, Stage((one(config, "aggregator"),)))
