"""Roles: who speaks in a debate. Each role is a registered factory building a graph node.

The role-plugin API: a factory takes a `RoleInstance` and returns a node; `speaker_node` builds
the usual "render a template, call the model, record the turn" node; register the factory with
`@role("name")` or the entry-point group `debatelab.roles`.
"""

from debatelab.agents.roles.registry import NodeFn, RoleInstance, available_roles, build_node, get_role, role
from debatelab.agents.roles.speaker import agent_model, base_turn, speaker_node

__all__ = ["NodeFn", "RoleInstance", "agent_model", "available_roles", "base_turn", "build_node", "get_role", "role",
           "speaker_node"]
