"""Graphs: HOW agents are wired. Debate state, topology registry and builders, the YAML
topology compiler and the judging graph."""

from debatelab.graphs.config import AgentSpec, DebateConfig, load_debate_config
from debatelab.graphs.context import DebateContext
from debatelab.graphs.judging import JudgeContext, compile_judging
from debatelab.graphs.registry import available_topologies, build_graph, compile_debate, topology
from debatelab.graphs.state import DebateState, Turn

__all__ = [
    "AgentSpec",
    "DebateConfig",
    "DebateContext",
    "DebateState",
    "JudgeContext",
    "Turn",
    "available_topologies",
    "build_graph",
    "compile_debate",
    "compile_judging",
    "load_debate_config",
    "topology",
]
