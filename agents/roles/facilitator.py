"""The facilitator: a stronger model that explains and critiques for weaker debaters.

After arXiv 2409.07335 ("Explanation, Debate, Align"): the strong model does not decide; it
teaches, and the weak debaters' next round shows what they took from it.
"""

from __future__ import annotations

from debatelab.agents.roles.registry import NodeFn, RoleInstance, role
from debatelab.agents.roles.speaker import speaker_node


@role("facilitator")
def facilitator(inst: RoleInstance) -> NodeFn:
    return speaker_node(inst, template="facilitator", kind="explanation", words=120)
