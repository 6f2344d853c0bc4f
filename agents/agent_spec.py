"""`AgentSpec`: one role instance of a configuration (role, model, stance, persona, template).

It lives with the roles, below the graphs: a role builds its node from an AgentSpec and the
agent's resolved `ModelSpec`, never from a whole debate configuration.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from debatelab.agents.model_spec import OPENAI_PREFIX, ModelSpec

Stance = Literal["pro", "con", "free"]


def coerce_model(value: Any) -> Any:
    """Accept `TAG`, `TAG@HOST`, `openai:NAME@URL` or a mapping for a model."""
    if isinstance(value, str) and value.startswith(OPENAI_PREFIX):
        spec = ModelSpec.parse(value)
        return {"model": spec.model, "provider": "openai", "host": spec.host}
    if isinstance(value, str):
        tag, sep, host = value.partition("@")
        return {"model": tag.strip(), **({"host": host.strip()} if sep else {})}
    return value


ModelRef = Annotated[ModelSpec, BeforeValidator(coerce_model)]
"""A model field of any file: `TAG`, `TAG@HOST`, `openai:NAME@URL` or a model spec, read by one
validator (a list of them is `list[ModelRef]`)."""

# Judges (and readers, and the strong model of weak-to-strong) answer deterministically unless their
# spec says otherwise: re-judging the same transcript is reproducible.
JUDGE_DEFAULTS: dict[str, Any] = {"temperature": 0.0, "seed": 0}


def with_judge_defaults(spec: ModelSpec) -> ModelSpec:
    """`spec` with temperature 0 and seed 0 where it set neither itself."""
    unset = {k: v for k, v in JUDGE_DEFAULTS.items() if k not in spec.model_fields_set}
    return spec.model_copy(update=unset) if unset else spec


class AgentSpec(BaseModel):
    """A role instance: who speaks, with which model, from which stance and persona."""

    model_config = ConfigDict(extra="forbid")

    role: str = Field(description="debater, critic, aggregator, facilitator, answerer, consultant, judge, or a plugin role")
    model: ModelRef = Field(description="TAG, TAG@HOST, openai:NAME@URL, or a model spec")
    stance: Stance = Field(default="free", description="pro, con or free")
    persona: str | None = Field(default=None, description="a sentence the agent's system prompt adds")
    template: str | None = Field(default=None, description="path to a prompt template overriding the role's")
    options: dict[str, Any] = Field(default_factory=dict, description="role-specific options (e.g. a critic's focus)")

