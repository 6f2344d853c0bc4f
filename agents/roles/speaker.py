"""The shared body of a speaking role: build the prompt, call the model, record the turn.

Debater, critic and facilitator differ only in template, kind of turn and what they are told
to do; this keeps the model-call bookkeeping (tokens, duration, thinking) in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langgraph.runtime import Runtime

from debatelab.agents.calls import call_text
from debatelab.agents.roles.prompting import (
    STANCE_TEXT,
    render_template,
    render_transcript,
    scenario_brief,
    visible_turns,
)
from debatelab.agents.roles.registry import NodeFn, RoleInstance
from debatelab.agents.run_bindings import achat_model_for, call_limit_for, model_spec_for


async def agent_model(runtime: Runtime, inst: RoleInstance) -> BaseChatModel:
    """The agent's chat model for this run (the context's spec, else the configuration's)."""
    return await achat_model_for(runtime.context, inst.agent, inst.model)


def base_turn(inst: RoleInstance, task: dict[str, Any], kind: str, seen: list[dict],
              runtime: Runtime | None = None) -> dict[str, Any]:
    model = model_spec_for(runtime.context, inst.agent, inst.model) if runtime is not None else inst.model
    return {
        "id": f"{inst.agent}@{task['round']}",
        "role": inst.spec.role,
        "agent": inst.agent,
        "model": model.label,
        "stance": inst.spec.stance,
        "round": task["round"],
        "kind": kind,
        "saw": [t["id"] for t in seen],
    }


def speaker_node(
    inst: RoleInstance, *, template: str, kind: str, words: int,
    instruction: Callable[[dict[str, Any], list[dict]], str] = lambda task, seen: "",
) -> NodeFn:
    """A node that speaks once per activation and returns its turn for the `turns` reducer."""

    async def speak(task: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
        seen = visible_turns(task.get("turns", []), task["round"], task.get("visibility", "all"))
        prompt = render_template(
            inst.spec.template or template,
            agent=inst.agent,
            stance_text=STANCE_TEXT[inst.spec.stance],
            persona=f"Persona: {inst.spec.persona}" if inst.spec.persona else "",
            brief=scenario_brief(task["scenario"]),
            transcript=render_transcript(seen),
            instruction=instruction(task, seen),
            round=task["round"],
            words=inst.spec.options.get("words", words),
        )
        record = await call_text(await agent_model(runtime, inst), [HumanMessage(prompt)],
                                 limiter=call_limit_for(inst.agent), run_name=inst.agent)
        turn = base_turn(inst, task, kind, seen, runtime)
        turn.update(
            text=record.text, thinking=record.thinking, input_tokens=record.input_tokens,
            output_tokens=record.output_tokens, duration_s=record.duration_s,
            done_reason=record.done_reason, calls=1,
        )
        return {"turns": [turn], "round": task["round"]}

    speak.__name__ = f"speak_{inst.agent}"
    return speak
