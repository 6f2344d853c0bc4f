"""An example third-party role: argues against whatever the majority said so far."""

from debatelab.agents.roles import NodeFn, RoleInstance, speaker_node


def devils_advocate(inst: RoleInstance) -> NodeFn:
    return speaker_node(
        inst, template="debater", kind="argument", words=80,
        instruction=lambda task, seen: "Argue against whatever most speakers so far agree on.",
    )
