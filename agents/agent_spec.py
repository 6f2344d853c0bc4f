"""`AgentSpec`: one role instance of a configuration (role, model, stance, persona, template).

It lives with the roles, below the graphs: a role builds its node from an AgentSpec and the
agent's resolved `ModelSpec`, never from a whole debate configuration.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from debatelab.agents.model_spec import ModelSpec

Stance = Literal["pro", "con", "free"]


def coerce_model(value: Any) -> Any:
    """Accept `TAG`, `TAG@HOST` or a mapping for a model."""
    if isinstance(value, str):
        tag, sep, host = value.partition("@")
        return {"model": tag.strip(), **({"host": host.strip()} if sep else {})}
    return value


class AgentSpec(BaseModel):
    """A role instance: who speaks, with which model, from which stance and persona."""

    model_config = ConfigDict(extra="forbid")

    role: str
    model: ModelSpec
    stance: Stance = "free"
    persona: str | None = None
    template: str | None = Field(default=None, description="path to a prompt template overriding the role's")
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("model", mode="before")
    @classmethod
    def _model(cls, v: Any) -> Any:
        return coerce_model(v)
