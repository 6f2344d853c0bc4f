"""The topology registry: topology name -> builder `build(config) -> StateGraph`.

Built-ins register with `@topology("name")` when their modules are imported, which the package's
face does; users register their own the same way (or write
a YAML topology, see `graphs/custom.py`). Builders only wire nodes; they make no model calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.graph import StateGraph

from debatelab.agents.roles import available_roles, shipped_templates, template_exists
from debatelab.base import UserError
from debatelab.graphs.compile_cache import compiled
from debatelab.graphs.config import DebateConfig

TopologyBuilder = Callable[[DebateConfig], StateGraph]

_TOPOLOGIES: dict[str, TopologyBuilder] = {}
# Roles a topology builds nodes for itself, outside the role registry.
TOPOLOGY_ROLES: dict[str, frozenset[str]] = {"weighted": frozenset({"answerer"})}


def topology(name: str) -> Callable[[TopologyBuilder], TopologyBuilder]:
    def register(builder: TopologyBuilder) -> TopologyBuilder:
        _TOPOLOGIES[name] = builder
        return builder

    return register


def available_topologies() -> list[str]:
    return sorted(_TOPOLOGIES)


def build_graph(config: DebateConfig) -> StateGraph:
    builder = _TOPOLOGIES.get(config.topology)
    if builder is None:
        where = f"{config.source}: " if config.source else ""
        raise UserError(
            f"{where}field 'topology': unknown topology {config.topology!r}; "
            f"known: {', '.join(available_topologies())}"
        )
    known_roles = available_roles() + sorted(TOPOLOGY_ROLES.get(config.topology, ()))
    for name, agent in config.agents.items():
        where = f"{config.source or config.name}: "
        if agent.role not in known_roles:
            raise UserError(f"{where}field 'agents.{name}.role': unknown role {agent.role!r}; known roles: "
                            f"{', '.join(known_roles)} (or install a plugin that adds it)")
        if agent.template and not template_exists(agent.template):
            raise UserError(f"{where}field 'agents.{name}.template': {agent.template!r} is neither a file nor a shipped "
                            f"template; give a .txt file (beside the configuration or from here) or one of "
                            f"{', '.join(shipped_templates())}")
    return builder(config)


def compile_debate(config: DebateConfig, checkpointer: Any = None, *, fingerprint: str | None = None) -> Any:
    """Build and compile a configuration's debate graph (with a checkpointer for real runs).

    Compiling takes tens of milliseconds; an experiment runs the same configurations on many
    threads of one checkpointer, so compiled graphs are reused per configuration and checkpointer
    (`graphs.compile_cache`). A caller that already has the configuration's fingerprint passes it
    (hashing the configuration is not free).
    """
    key = f"debate:{config.name}:{fingerprint or config.fingerprint()}"
    return compiled(key, lambda: build_graph(config), checkpointer, name=f"debate:{config.name}")


def recursion_limit(config: DebateConfig) -> int:
    """Supersteps a debate may take: generous per round, but a runaway loop still fails loudly."""
    return 8 * (config.rounds + 1) * max(2, len(config.agents)) + 20
