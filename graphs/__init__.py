"""Graphs: HOW agents are wired. Debate state, topology registry and builders, the YAML
topology compiler and the judging graph."""

from graphs.config import AgentSpec, DebateConfig, load_debate_config
from graphs.registry import available_topologies, build_graph, compile_debate, topology
from graphs.state import DebateContext, DebateState, Turn

__all__ = [
    "AgentSpec",
    "DebateConfig",
    "DebateContext",
    "DebateState",
    "Turn",
    "available_topologies",
    "build_graph",
    "compile_debate",
    "load_debate_config",
    "topology",
]
