"""Stance over a debate: what position a speaker holds after each round, and whether it conceded.

One structured call per argued turn, read by a (cheap) model that sees the whole debate as a judge
sees it (delimited, neutralised, anonymised; `judge_view`) and is then asked about one turn. The
transcript comes first and the question last, so every call on one debate shares its prompt's
start and a server's prefix cache reads the transcript once per debate, not once per turn.

A concession is only asked of a turn whose speaker had read another speaker's turn from an earlier
round: before that there is nothing to concede to, and "no" would be a default, not a reading.
An unreadable reply is recorded as unread (`position` None), never as a position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from debatelab.agents import call_structured
from debatelab.agents.roles import render_template
from debatelab.graphs.judge_input import judge_view, speaker_labels

# Recorded with every reading: a changed prompt or schema is a new version, read again, never mixed.
STANCE_PROMPT_VERSION = "stance-1"
ARGUED_KINDS = ("argument",)  # the turns whose speaker holds a position on the motion
RESPONDED_KINDS = ("argument", "critique", "explanation")  # turns a later speaker can concede to
Position = Literal["for", "against", "mixed"]


class TurnPosition(BaseModel):
    """Reasons before conclusions: one sentence, then the position."""

    reasons: str = Field(max_length=300)
    position: Position


class TurnPositionAndConcession(BaseModel):
    reasons: str = Field(max_length=300)
    position: Position
    conceded: bool


@dataclass
class StanceReading:
    """One turn's reading. `position` None: unread (see `unread_reason`); `conceded` None: not asked
    (nothing to concede to yet) or unread."""

    turn_index: int
    agent: str
    round: int
    position: str | None
    conceded: bool | None
    could_concede: bool
    reasons: str
    unread_reason: str | None
    attempts: int
    input_tokens: int
    output_tokens: int
    duration_s: float


def argued_turns(turns: list[dict[str, Any]]) -> list[int]:
    """Indexes of the turns whose position is read: every argument (not critiques or verdicts)."""
    return [i for i, t in enumerate(turns) if t.get("kind", "argument") in ARGUED_KINDS]


def could_concede(turns: list[dict[str, Any]], index: int) -> bool:
    """Whether the speaker of `turns[index]` had another speaker's turn from an earlier round before it."""
    turn = turns[index]
    return any(t["agent"] != turn["agent"] and int(t["round"]) < int(turn["round"])
               and t.get("kind", "argument") in RESPONDED_KINDS for t in turns[:index])


def stance_messages(transcript: dict[str, Any], index: int, ask_concession: bool) -> list[Any]:
    """The reader's exact messages for one turn: shared system prompt and transcript, then the turn."""
    # The reader is not told which side a debater was assigned: it records what the turn argues,
    # so a debater that drifts from its side is seen drifting.
    turns = [{k: v for k, v in t.items() if k != "stance"} for t in transcript["turns"]]
    view, _nonce, _order = judge_view({**transcript, "turns": turns})
    speaker = speaker_labels(turns, anonymise=True)[turns[index]["agent"]]
    question = ('Answer as JSON with "reasons" (one sentence), "position" ("for", "against" or "mixed": the '
                "position this turn takes on the motion)" + (
                    ' and "conceded" (true if this turn concedes a point to another speaker, else false).'
                    if ask_concession else "."))
    return [SystemMessage(render_template("stance_system")),
            HumanMessage(render_template("stance_turn", view=view, round=turns[index]["round"], speaker=speaker,
                                         question=question))]


async def read_stance(model: BaseChatModel, transcript: dict[str, Any], index: int, *, max_attempts: int = 3,
                      limiter: Any = None) -> StanceReading:
    """Read the position (and, where one is possible, the concession) of `transcript['turns'][index]`."""
    turns = transcript["turns"]
    concede = could_concede(turns, index)
    schema: type[TurnPosition] | type[TurnPositionAndConcession] = (
        TurnPositionAndConcession if concede else TurnPosition)
    result = await call_structured(model, stance_messages(transcript, index, concede), schema,
                                   max_attempts=max_attempts, min_output_tokens=160, limiter=limiter,
                                   run_name="stance")
    calls, value = result.calls, result.value
    turn = turns[index]
    return StanceReading(
        turn_index=index, agent=turn["agent"], round=int(turn["round"]),
        position=value.position if value is not None else None,
        conceded=getattr(value, "conceded", None) if value is not None else None, could_concede=concede,
        reasons=value.reasons if value is not None else (calls[-1].text[:300] if calls else ""),
        unread_reason=None if value is not None else f"after {result.attempts} attempts: {result.failure}",
        attempts=result.attempts, input_tokens=result.input_tokens,
        output_tokens=result.output_tokens, duration_s=result.duration_s,
    )
