"""adversarial: proponent vs opponent for R rounds, then the aggregator's verdict (the paper's protocol).

    round r:  proponent -> opponent          (the opponent answers the proponent, as in the study)
    end:      judge (verdict + synthesis)
"""

from __future__ import annotations

from langgraph.graph import StateGraph

from debatelab.graphs.config import DebateConfig
from debatelab.graphs.registry import topology
from debatelab.graphs.staged import Stage, staged_graph
from debatelab.graphs.topologies._agents import one


@topology("adversarial")
def adversarial(config: DebateConfig) -> StateGraph:
    pro, con = one(config, "debater", "pro"), one(config, "debater", "con")
    return staged_graph(config, [Stage((pro,)), Stage((con,))], Stage((one(config, "aggregator"),)))
