"""Helpers that pick a topology's agents from a configuration by role and stance."""

from __future__ import annotations

from debatelab.base import UserError
from debatelab.graphs.config import DebateConfig


def one(config: DebateConfig, role: str, stance: str | None = None) -> str:
    found = config.agents_with_role(role, stance)  # type: ignore[arg-type]
    if len(found) != 1:
        what = f"{role} with stance {stance}" if stance else role
        raise UserError(
            f"{config.source or config.name}: topology {config.topology!r} needs exactly one {what} agent, "
            f"found {len(found)}; add it under 'agents'"
        )
    return found[0]


def some(config: DebateConfig, role: str, at_least: int = 1) -> tuple[str, ...]:
    found = config.agents_with_role(role)
    if len(found) < at_least:
        raise UserError(
            f"{config.source or config.name}: topology {config.topology!r} needs at least {at_least} "
            f"{role} agent(s), found {len(found)}; add them under 'agents'"
        )
    return tuple(found)
