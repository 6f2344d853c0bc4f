"""society: N debaters answer in parallel, then R-1 rounds of reading the others and revising
(Du et al., "Improving Factuality and Reasoning through Multiagent Debate"); the aggregator synthesises.

    round r:  debater_1 | debater_2 | ... | debater_N    (parallel, each reads all earlier rounds)
    end:      aggregator
"""

from __future__ import annotations

from langgraph.graph import StateGraph

from debatelab.graphs.config import DebateConfig
from debatelab.graphs.registry import topology
from debatelab.graphs.staged import Stage, staged_graph
from debatelab.graphs.topologies._agents import one, some


@topology("society")
def society(config: DebateConfig) -> StateGraph:
    debaters = some(config, "debater", at_least=2)
    return staged_graph(config, [Stage(debaters)], Stage((one(config, "aggregator"),)))
