"""Roles: who speaks in a debate. Each role is a registered factory building a graph node."""

from agents.roles.registry import RoleInstance, available_roles, build_node, get_role, role

__all__ = ["RoleInstance", "available_roles", "build_node", "get_role", "role"]
