"""An example third-party role: argues against whatever the majority said so far."""

from agents.roles import RoleInstance
from agents.roles._speaker import speaker_node


def devils_advocate(inst: RoleInstance):
    return speaker_node(
        inst, template="debater", kind="argument", words=80,
        instruction=lambda task, seen: "Argue against whatever most speakers so far agree on.",
    )
