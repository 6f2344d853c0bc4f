"""A finished debate as a transcript: the contract between a debate and a judge.

`debatelab debate --json` prints it and `debatelab judge --transcript` reads it, so it carries
everything a judge needs (turns with roles, models and stances; the scenario) and nothing it must
not see in the clear (thinking is kept in its own field and stripped before judging).

A turn's fields are declared once, in the debate state's `Turn`; the transcript's turn model,
the fields a transcript keeps and the store's turn columns are all derived from it.
"""

from __future__ import annotations

from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from debatelab.graphs.state import Turn

# Bookkeeping of one run (a turn's id in its thread, the ids it saw), not part of what was said.
RUN_ONLY_FIELDS = frozenset({"id", "saw"})
TURN_FIELDS: tuple[str, ...] = tuple(f for f in Turn.__annotations__ if f not in RUN_ONLY_FIELDS)
# What a turn must say; everything else has a default (imported debates lack tokens and models).
REQUIRED_TURN_FIELDS = frozenset({"role", "agent", "round", "text"})
TURN_DEFAULTS: dict[str, Any] = {"model": "", "stance": "free", "kind": "argument", "thinking": "",
                                 "input_tokens": 0, "output_tokens": 0, "duration_s": 0.0, "done_reason": None,
                                 "calls": 1}


def turn_field_types() -> dict[str, Any]:
    """Each transcript field of a turn and its type, as `Turn` declares it."""
    hints = get_type_hints(Turn)
    return {name: hints[name] for name in TURN_FIELDS}


def _turn_model() -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for name, kind in turn_field_types().items():
        if name == "round":
            fields[name] = (kind, Field(ge=0))
        elif name in REQUIRED_TURN_FIELDS:
            fields[name] = (kind, ...)
        else:
            fields[name] = (kind, TURN_DEFAULTS[name])
    return create_model("TranscriptTurn", __config__=ConfigDict(extra="ignore"), **fields)


TranscriptTurn = _turn_model()


def transcript_turn(turn: dict[str, Any]) -> dict[str, Any]:
    """A state turn as the transcript keeps it (its transcript fields, nothing of the run)."""
    return {k: turn.get(k) for k in TURN_FIELDS}


class Transcript(BaseModel):
    """The contract between a debate and a judge."""

    model_config = ConfigDict(extra="ignore")

    debate_id: str
    config: str
    scenario: str
    motion: str = ""
    scenario_detail: dict[str, Any] = Field(default_factory=dict)
    turns: list[TranscriptTurn] = Field(min_length=1)  # type: ignore[valid-type]
    verdict: dict[str, Any] | None = None
