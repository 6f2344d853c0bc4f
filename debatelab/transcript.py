"""A finished debate as a transcript: printed live, or as the JSON `debatelab debate --json` emits.

That JSON is also what `debatelab judge --transcript` reads, so it carries everything a judge
needs (turns with roles, models and stances; the scenario) and nothing it must not see in the
clear (thinking is kept in its own field and stripped before judging).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console
from rich.markup import escape

TURN_FIELDS = ("role", "agent", "model", "stance", "round", "kind", "text", "thinking",
               "input_tokens", "output_tokens", "duration_s", "done_reason", "calls")


class TranscriptTurn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str
    agent: str
    model: str = ""
    stance: str = "free"
    round: int = Field(ge=0)
    kind: str = "argument"
    text: str
    thinking: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    duration_s: float = 0.0
    done_reason: str | None = None
    calls: int = 1


class Transcript(BaseModel):
    """The contract between a debate and a judge."""

    model_config = ConfigDict(extra="ignore")

    debate_id: str
    config: str
    scenario: str
    motion: str = ""
    scenario_detail: dict[str, Any] = Field(default_factory=dict)
    turns: list[TranscriptTurn] = Field(min_length=1)
    verdict: dict[str, Any] | None = None


def transcript_json(outcome: Any, config: Any, scenario: Any) -> dict[str, Any]:
    return {
        "debate_id": outcome.debate_id,
        "config": config.name,
        "config_fingerprint": config.fingerprint(),
        "topology": config.topology,
        "scenario": scenario.id,
        "motion": scenario.motion,
        "scenario_detail": scenario.model_dump(),
        "turns": [{k: t.get(k) for k in TURN_FIELDS} for t in outcome.turns],
        "verdict": outcome.verdict,
    }


def print_turn(console: Console, turn: dict[str, Any]) -> None:
    stance = f", {turn['stance']}" if turn.get("stance") in ("pro", "con") else ""
    head = (f"[bold cyan]round {turn['round']} · {turn['agent']}[/bold cyan] "
            f"[dim]({turn['role']}{stance} · {turn['model']} · {turn.get('output_tokens', 0)} tok · "
            f"{turn.get('duration_s', 0):.1f}s)[/dim]")
    console.print(head, highlight=False)
    console.print(escape(turn.get("text") or "(empty)"), highlight=False, soft_wrap=True)
    console.print()
