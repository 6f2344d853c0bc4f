"""critiqued: adversarial with a critic after each round whose critique the debaters must answer.

    round r:  proponent -> opponent -> critic
    end:      judge
"""

from __future__ import annotations

from langgraph.graph import StateGraph

from debatelab.graphs.config import DebateConfig
from debatelab.graphs.registry import topology
from debatelab.graphs.staged import Stage, staged_graph
from debatelab.graphs.topologies._agents import one


@topology("critiqued")
def critiqued(config: DebateConfig) -> StateGraph:
    pro, con, critic = one(config, "debater", "pro"), one(config, "debater", "con"), one(config, "critic")
    stages = [Stage((pro,)), Stage((con,)), Stage((critic,))]
    return staged_graph(config, stages, Stage((one(config, "aggregator"),)))
