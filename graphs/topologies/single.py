"""single: one model plays every role (the baseline). Same protocol as adversarial.

A `single` configuration may name just `model:`; DebateConfig expands it into a proponent, an
opponent and a judge that share that one model.
"""

from __future__ import annotations

from langgraph.graph import StateGraph

from debatelab.base import UserError
from debatelab.graphs.config import DebateConfig
from debatelab.graphs.registry import topology
from debatelab.graphs.topologies.adversarial import adversarial


@topology("single")
def single(config: DebateConfig) -> StateGraph:
    models = {config.model_for(a).model for a in config.agents}
    if len(models) != 1:
        raise UserError(
            f"{config.source or config.name}: topology 'single' means one model for every role, "
            f"but the agents use {sorted(models)}; use 'adversarial' for mixed models"
        )
    return adversarial(config)
