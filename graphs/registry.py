"""The topology registry: topology name -> builder `build(config) -> StateGraph`.

Built-ins register with `@topology("name")`; users register their own the same way (or write
a YAML topology, see `graphs/custom.py`). Builders only wire nodes; they make no model calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.graph import StateGraph

from debatelab.errors import UserError
from graphs.config import DebateConfig

TopologyBuilder = Callable[[DebateConfig], StateGraph]

_TOPOLOGIES: dict[str, TopologyBuilder] = {}


def topology(name: str) -> Callable[[TopologyBuilder], TopologyBuilder]:
    def register(builder: TopologyBuilder) -> TopologyBuilder:
        _TOPOLOGIES[name] = builder
        return builder

    return register


def available_topologies() -> list[str]:
    _load_builtins()
    return sorted(_TOPOLOGIES)


def build_graph(config: DebateConfig) -> StateGraph:
    _load_builtins()
    builder = _TOPOLOGIES.get(config.topology)
    if builder is None:
        where = f"{config.source}: " if config.source else ""
        raise UserError(
            f"{where}field 'topology': unknown topology {config.topology!r}; "
            f"known: {', '.join(available_topologies())}"
        )
    return builder(config)


_COMPILED: dict[tuple[str, int], Any] = {}


def compile_debate(config: DebateConfig, checkpointer: Any = None) -> Any:
    """Build and compile a configuration's debate graph (with a checkpointer for real runs).

    Compiling takes tens of milliseconds; an experiment runs the same configuration on many
    threads, so compiled graphs are reused per (configuration fingerprint, checkpointer).
    """
    key = (f"{config.name}:{config.fingerprint()}", id(checkpointer))
    compiled = _COMPILED.get(key)
    if compiled is None or compiled.checkpointer is not checkpointer:
        compiled = build_graph(config).compile(checkpointer=checkpointer, name=f"debate:{config.name}")
        _COMPILED[key] = compiled
    return compiled


def recursion_limit(config: DebateConfig) -> int:
    """Supersteps a debate may take: generous per round, but a runaway loop still fails loudly."""
    return 8 * (config.rounds + 1) * max(2, len(config.agents)) + 20


def _load_builtins() -> None:
    from graphs import custom, topologies, weighted  # noqa: F401
