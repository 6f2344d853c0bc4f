"""The critic: reviews a round for flaws, unsupported claims, missed stakeholders and risks."""

from __future__ import annotations

from agents.roles._speaker import speaker_node
from agents.roles.registry import NodeFn, RoleInstance, role


@role("critic")
def critic(inst: RoleInstance) -> NodeFn:
    return speaker_node(inst, template="critic", kind="critique", words=100)
