"""The debater: argues pro, con or freely, answering critiques and explanations it has seen."""

from __future__ import annotations

from typing import Any

from debatelab.agents.roles.registry import NodeFn, RoleInstance, role
from debatelab.agents.roles.speaker import speaker_node


def _instruction(task: dict[str, Any], seen: list[dict]) -> str:
    if not seen:
        return "Give your opening argument."
    kinds = {t["kind"] for t in seen}
    parts = ["Respond to the strongest points made against your position and strengthen your case."]
    if "critique" in kinds:
        parts.append("You must answer the critic's points directly.")
    if "explanation" in kinds:
        parts.append("Use the facilitator's explanation to improve your argument.")
    return " ".join(parts)


@role("debater")
def debater(inst: RoleInstance) -> NodeFn:
    return speaker_node(inst, template="debater", kind="argument", words=120, instruction=_instruction)
