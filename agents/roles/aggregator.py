"""The aggregator: the debate's verdict, a synthesised recommendation and a stated confidence.

The verdict is structured output with bounded retries. If no valid verdict can be read, the
turn records why and `verdict.winner` stays None: a verdict is never invented.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from langchain_core.messages import HumanMessage
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field, create_model

from debatelab.agents.calls import call_structured
from debatelab.agents.roles.prompting import render_template, render_transcript, scenario_brief, visible_turns
from debatelab.agents.roles.registry import NodeFn, RoleInstance, role
from debatelab.agents.roles.speaker import agent_model, base_turn
from debatelab.agents.run_bindings import call_limit_for
from debatelab.base import UserError

VERDICT_CHARS = 400  # the rationale's and the recommendation's room, each, unless `verdict_chars` says otherwise


class Verdict(BaseModel):
    """Reasons before conclusions: the judge writes its rationale before it names a winner."""

    rationale: str = Field(max_length=VERDICT_CHARS)
    winner: Literal["pro", "con", "tie"]
    recommendation: str = Field(max_length=VERDICT_CHARS)
    confidence_percent: int = Field(ge=0, le=100)


@functools.lru_cache(maxsize=16)
def verdict_schema(chars: int = VERDICT_CHARS) -> type[Verdict]:
    """The verdict with `chars` of room for its rationale and its recommendation, each (the role
    option `verdict_chars`). The grammar enforces the bound, so a small model writes a shorter
    verdict instead of a cut one; built once per bound."""
    if chars == VERDICT_CHARS:
        return Verdict
    return create_model("Verdict", __base__=Verdict, __doc__=Verdict.__doc__,
                        rationale=(str, Field(max_length=chars)),
                        recommendation=(str, Field(max_length=chars)))


def verdict_chars_of(options: dict[str, Any], agent: str) -> int:
    """The role option `verdict_chars`, checked: a whole number from 40 up."""
    chars = options.get("verdict_chars", VERDICT_CHARS)
    if isinstance(chars, bool) or not isinstance(chars, int) or chars < 40:
        raise UserError(f"agent {agent!r}: option 'verdict_chars' {chars!r}: give a whole number of characters >= 40")
    return chars


@role("aggregator")
def aggregator(inst: RoleInstance) -> NodeFn:
    attempts = int(inst.spec.options.get("max_attempts", 3))
    schema = verdict_schema(verdict_chars_of(inst.spec.options, inst.agent))

    async def decide(task: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
        seen = visible_turns(task.get("turns", []), task["round"], task.get("visibility", "all"))
        prompt = render_template(
            inst.spec.template or "aggregator",
            agent=inst.agent,
            persona=f"Persona: {inst.spec.persona}" if inst.spec.persona else "",
            brief=scenario_brief(task["scenario"]),
            transcript=render_transcript(seen),
        )
        result = await call_structured(
            await agent_model(runtime, inst), [HumanMessage(prompt)], schema, max_attempts=attempts,
            min_output_tokens=int(inst.spec.options.get("verdict_tokens", 512)),
            limiter=call_limit_for(inst.agent), run_name=inst.agent,
        )
        last = result.calls[-1]
        turn = base_turn(inst, task, "verdict", seen, runtime)
        if result.value is not None:
            v = result.value
            verdict: dict[str, Any] = {
                "winner": v.winner, "rationale": v.rationale, "recommendation": v.recommendation,
                "confidence": v.confidence_percent / 100, "agent": inst.agent, "round": task["round"],
            }
            text = (f"Winner: {v.winner} (confidence {v.confidence_percent}%). {v.rationale}\n"
                    f"Recommendation: {v.recommendation}")
        else:
            verdict = {"winner": None, "confidence": None, "unparsed_reason": result.failure,
                       "agent": inst.agent, "round": task["round"]}
            text = last.text
        turn.update(
            text=text, thinking="\n\n".join(c.thinking for c in result.calls if c.thinking),
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
            duration_s=result.duration_s,
            done_reason=last.done_reason, calls=len(result.calls),
        )
        return {"turns": [turn], "verdict": verdict, "round": task["round"]}

    decide.__name__ = f"decide_{inst.agent}"
    return decide
