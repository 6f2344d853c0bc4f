"""The debate state and its reducers.

Turns are plain dicts (JSON-ready, msgpack-safe in checkpoints). Parallel speakers fan in
through the `operator.add` reducer on `turns`; LangGraph applies their writes in task order,
so the transcript order is deterministic.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any

# typing_extensions' TypedDict: on Python < 3.12 LangGraph Server can only read the input schema
# (Studio's input form) from this one, not from typing's.
from typing_extensions import TypedDict

from debatelab.agents import Usage


class Turn(Usage, total=False):
    """One contribution to a debate, as stored (with its `Usage`: tokens in and out, seconds)."""

    id: str  # "<agent>@<round>"
    role: str
    agent: str
    model: str
    stance: str
    round: int
    kind: str  # argument | critique | explanation | verdict
    text: str
    thinking: str
    done_reason: str | None
    saw: list[str]  # ids of the turns in this speaker's prompt
    calls: int


def latest_round(current: int, new: int) -> int:
    """Speakers report the round they spoke in; parallel speakers agree, so keep the largest."""
    return max(current or 0, new or 0)


class DebateState(TypedDict, total=False):
    """A debate's state. As input, only `scenario` is needed: `{"scenario": {"id": ..., "motion": ...}}`;
    `rounds` overrides the configuration's."""

    debate_id: str
    config_name: str
    scenario: dict[str, Any]
    rounds: int
    round: Annotated[int, latest_round]
    turns: Annotated[list[Turn], operator.add]
    verdict: dict[str, Any] | None


class AgentTask(TypedDict, total=False):
    """What a speaker node receives: via `Send` from a topology, or the state itself."""

    round: int
    turns: list[Turn]
    scenario: dict[str, Any]
    visibility: str  # "all" | "previous_round"
