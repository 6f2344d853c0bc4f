"""The role registry: role name -> factory that builds a LangGraph node for one agent.

Built-in roles register with `@role("name")` when their modules are imported, which the package's
face does (any import from `debatelab.agents.roles` runs it first), so the registry never has to
import them back. Third parties add roles without touching
debatelab through the entry-point group `debatelab.roles`, whose entries point at a factory:

    [project.entry-points."debatelab.roles"]
    devils_advocate = "my_pkg.roles:devils_advocate"
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from debatelab.agents.agent_spec import AgentSpec
from debatelab.agents.model_spec import ModelSpec
from debatelab.base import UserError

NodeFn = Callable[..., Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class RoleInstance:
    """What a role factory gets: the agent's name, its spec, and its model with the configuration's
    defaults applied. A run's context may name another model for the agent (`run_bindings`)."""

    agent: str
    spec: AgentSpec
    model: ModelSpec


RoleFactory = Callable[[RoleInstance], NodeFn]

_ROLES: dict[str, RoleFactory] = {}
ENTRY_POINT_GROUP = "debatelab.roles"


def role(name: str) -> Callable[[RoleFactory], RoleFactory]:
    """Register a role factory under `name`."""

    def register(factory: RoleFactory) -> RoleFactory:
        _ROLES[name] = factory
        return factory

    return register


def _plugin_roles() -> dict[str, Any]:
    return _plugin_roles_on(tuple(sys.path))


@functools.lru_cache(maxsize=8)
def _plugin_roles_on(path: tuple[str, ...]) -> dict[str, Any]:
    """Installed plugin roles, read once per `sys.path`: scanning every distribution's entry
    points takes ~10 ms, and every graph build checks its agents' roles."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_roles() -> list[str]:
    return sorted(set(_ROLES) | set(_plugin_roles()))


def get_role(name: str) -> RoleFactory:
    """The factory for `name`: built-in first, then installed plugins."""
    if name in _ROLES:
        return _ROLES[name]
    plugin = _plugin_roles().get(name)
    if plugin is not None:
        factory = plugin.load()
        _ROLES[name] = factory
        return factory
    raise UserError(f"unknown role {name!r}; known roles: {', '.join(available_roles())}")


def build_node(agent: str, spec: AgentSpec, model: ModelSpec) -> NodeFn:
    """The node for one agent, built by its role's factory."""
    return get_role(spec.role)(RoleInstance(agent, spec, model))
