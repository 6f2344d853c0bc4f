"""mixture: layers of proposers, each refining the previous layer only (Mixture-of-Agents, Wang et al. 2024).

    layer l (= round):  proposer_1 | ... | proposer_N   (each reads only layer l-1)
    end:                aggregator (reads the last layer)
"""

from __future__ import annotations

from langgraph.graph import StateGraph

from debatelab.graphs.config import DebateConfig
from debatelab.graphs.registry import topology
from debatelab.graphs.staged import Stage, staged_graph
from debatelab.graphs.topologies._agents import one, some


@topology("mixture")
def mixture(config: DebateConfig) -> StateGraph:
    proposers = some(config, "debater", at_least=2)
    final = Stage((one(config, "aggregator"),), visibility="previous_round")
    return staged_graph(config, [Stage(proposers, visibility="previous_round")], final)
