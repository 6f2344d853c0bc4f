"""The critic: reviews a round for flaws, unsupported claims, missed stakeholders and risks."""

from __future__ import annotations

from debatelab.agents.roles.registry import NodeFn, RoleInstance, role
from debatelab.agents.roles.speaker import speaker_node


@role("critic")
def critic(inst: RoleInstance) -> NodeFn:
    return speaker_node(inst, template="critic", kind="critique", words=100)
