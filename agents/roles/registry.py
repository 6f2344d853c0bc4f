"""The role registry: role name -> factory that builds a LangGraph node for one agent.

Built-in roles register with `@role("name")`. Third parties add roles without touching
debatelab through the entry-point group `debatelab.roles`, whose entries point at a factory:

    [project.entry-points."debatelab.roles"]
    devils_advocate = "my_pkg.roles:devils_advocate"
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from debatelab.errors import UserError

if TYPE_CHECKING:
    from graphs.config import AgentSpec, DebateConfig

NodeFn = Callable[..., Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class RoleInstance:
    """What a role factory gets: the agent's name, its spec, and the whole configuration."""

    agent: str
    spec: AgentSpec
    config: DebateConfig

    @cached_property
    def model_label(self) -> str:
        """`TAG@HOST` of the agent's model, recorded on every turn (computed once per compiled graph)."""
        return self.config.model_for(self.agent).label


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
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_roles() -> list[str]:
    _load_builtins()
    return sorted(set(_ROLES) | set(_plugin_roles()))


def get_role(name: str) -> RoleFactory:
    """The factory for `name`: built-in first, then installed plugins."""
    _load_builtins()
    if name in _ROLES:
        return _ROLES[name]
    plugin = _plugin_roles().get(name)
    if plugin is not None:
        factory = plugin.load()
        _ROLES[name] = factory
        return factory
    raise UserError(f"unknown role {name!r}; known roles: {', '.join(available_roles())}")


def build_node(agent: str, config: DebateConfig) -> NodeFn:
    spec = config.agents[agent]
    return get_role(spec.role)(RoleInstance(agent, spec, config))


def _load_builtins() -> None:
    # Importing the modules runs their @role decorators.
    from agents.roles import aggregator, critic, debater, facilitator  # noqa: F401
