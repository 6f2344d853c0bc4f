"""`DebateConfig`: one ensemble configuration (topology, rounds, agents and their models).

Loaded from YAML in `configs/`. The fingerprint of a configuration is part of every debate's
thread id, so a changed configuration can never silently resume an old debate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from debatelab.agents import AgentSpec, ModelRef, ModelSpec, Stance
from debatelab.base import load_yaml_model, resolve_config_file

# The fields that say which model serves a call (as opposed to how it samples): a one-model copy
# of a configuration replaces all of them and keeps the rest.
WHICH_MODEL = frozenset({"model", "provider", "host", "hosts", "base_url", "api_key_env", "gguf"})


class ModelDefaults(BaseModel):
    """Options applied to every agent's model unless the agent sets them itself."""

    model_config = ConfigDict(extra="forbid")

    host: str | None = Field(default=None, description="host of every agent without its own: a URL or 'embedded'")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0, description="sampling temperature")
    top_p: float | None = Field(default=None, gt=0.0, le=1.0, description="nucleus sampling mass")
    num_predict: int | None = Field(default=None, ge=1,
        description="output tokens per reply (max_tokens on OpenAI-compatible servers)")
    num_ctx: int | None = Field(default=None, ge=256, description="context window in tokens (Ollama)")
    seed: int | None = Field(default=None, description="sampling seed (each repeat shifts it)")
    repeat_penalty: float | None = Field(default=None, gt=0.0, le=3.0, description="penalty on repeated tokens (Ollama)")
    reasoning: bool | None = Field(default=None, description="ask thinking models to think (kept apart from the argument)")
    keep_alive: str | int | None = Field(default=None, description="how long Ollama keeps the model loaded (e.g. '10m')")
    timeout: float | None = Field(default=None, gt=0, description="seconds a call may take before it fails")


class LoopSpec(BaseModel):
    """The round loop of a custom topology: after node `after`, go back to `back_to`."""

    model_config = ConfigDict(extra="forbid")

    after: str = Field(description="the agent after which a round ends")
    back_to: list[str] = Field(min_length=1, description="the agents the next round starts with")
    stop_when_confidence_at_least: float | None = Field(default=None, ge=0.0, le=1.0,
        description="stop early once the aggregator's stated confidence reaches this")


class CustomGraph(BaseModel):
    """A YAML topology: role-instance nodes (the config's agents), edges and a round loop."""

    model_config = ConfigDict(extra="forbid")

    edges: list[tuple[str, str]] = Field(min_length=1,
        description="[from, to] pairs of agents, START and END; a node with several incoming edges waits for all")
    loop: LoopSpec | None = Field(default=None, description="the round loop (rounds from the configuration)")


class DebateConfig(BaseModel):
    """An ensemble configuration.

    Example:
        ```yaml
        name: lightweight
        topology: adversarial
        rounds: 2
        defaults: {temperature: 0.7, top_p: 0.9, num_predict: 200}
        agents:
          proponent: {role: debater, stance: pro, model: deepseek-r1:7b}
          opponent: {role: debater, stance: con, model: mistral:7b}
          judge: {role: aggregator, model: phi3:3.8b}
        ```
    A `single` configuration may give just `model:`; one model then plays every role.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="the configuration's name in results and reports")
    description: str = Field(default="", description="one line for people")
    topology: str = Field(
        description="single, adversarial, critiqued, society, mixture, facilitated, weighted, custom, or a registered one")
    rounds: int = Field(default=2, ge=1, le=20, description="rounds of argument")
    defaults: ModelDefaults = Field(default_factory=ModelDefaults,
        description="model options for every agent that does not set them")
    model: ModelRef | None = Field(default=None, description="single: the one model for every role")
    agents: dict[str, AgentSpec] = Field(default_factory=dict,
        description="agent name -> its role, model, stance and persona")
    graph: CustomGraph | None = Field(default=None, description="topology custom: the nodes' edges and the loop")
    _source: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _expand_single(self) -> DebateConfig:
        if self.model is not None and not self.agents:
            self.agents = {
                "proponent": AgentSpec(role="debater", stance="pro", model=self.model),
                "opponent": AgentSpec(role="debater", stance="con", model=self.model),
                "judge": AgentSpec(role="aggregator", model=self.model),
            }
        if not self.agents:
            raise ValueError("no agents: give 'agents' (or 'model' for a single-model configuration)")
        for name in self.agents:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"agent name {name!r} must be letters, digits, '-' or '_'")
        return self

    @property
    def source(self) -> Path | None:
        return self._source

    def model_for(self, agent: str) -> ModelSpec:
        """The agent's model with the configuration's defaults filled in where it set nothing."""
        spec = self.agents[agent].model
        explicit = spec.model_fields_set
        fill = {k: v for k, v in self.defaults.model_dump().items() if v is not None and k not in explicit}
        return spec.model_copy(update=fill) if fill else spec

    def agents_with_role(self, role: str, stance: Stance | None = None) -> list[str]:
        return [n for n, a in self.agents.items() if a.role == role and (stance is None or a.stance == stance)]

    def fingerprint(self, *, legacy: bool = False) -> str:
        """Hash of everything that changes what the debate says (not its name or description, nor
        the hosts its models are served from; `legacy=True`: 0.1's hash, which included them)."""
        body = {
            "topology": self.topology,
            "rounds": self.rounds,
            "agents": {
                n: {**a.model_dump(exclude={"model"}), "model": self.model_for(n).fingerprint(legacy=legacy)}
                for n, a in sorted(self.agents.items())
            },
            "graph": self.graph.model_dump() if self.graph else None,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]

    def with_overrides(self, *, rounds: int | None = None, verdict_chars: int | None = None,
                       **model_options: Any) -> DebateConfig:
        """A copy with rounds and default model options replaced (experiment overrides), and every
        aggregator's `verdict_chars` option set when given."""
        options = {k: v for k, v in model_options.items() if v is not None}
        copy = self._copy_with(rounds, lambda spec, model: {**model, **options})
        if verdict_chars is not None:
            for agent in copy.agents.values():
                if agent.role == "aggregator":
                    agent.options = {**agent.options, "verdict_chars": verdict_chars}
        return copy

    def with_pools(self, pools: dict[str, list[str]] | None) -> DebateConfig:
        """A copy whose agents with a pooled tag are served by that pool (identity unchanged)."""
        if not pools or not any(a.model.model in pools for a in self.agents.values()):
            return self
        return self._copy_with(None, lambda spec, model: {**model, "hosts": list(pools[spec.model])}
                               if spec.model in pools else model)

    def with_one_model(self, model: ModelSpec, name: str) -> DebateConfig:
        """The same protocol on one model: every agent keeps its role, stance, persona, sampling
        options and token limit; what says which model serves it (tag, provider, host or pool,
        URL, key variable, GGUF) is dropped, and the fields `model` sets take their place. The copy
        spends the ensemble's token budget on a single model, so comparing the two separates what
        the ensemble's models add from what its protocol and extra tokens do."""
        chosen = model.model_dump(exclude_unset=True)
        copy = self._copy_with(None, lambda spec, given: {
            **{k: v for k, v in given.items() if k not in WHICH_MODEL}, **chosen})
        copy.name = name
        copy.description = f"{self.name}'s protocol with every agent on {model.label}"
        return copy

    def _copy_with(self, rounds: int | None,
                   change_model: Callable[[ModelSpec, dict[str, Any]], dict[str, Any]]) -> DebateConfig:
        """A validated copy (same source file) with rounds replaced and each agent's model spec, as
        given (unset fields left unset), passed through `change_model`."""
        data = self.model_dump(exclude_unset=True)
        data.pop("model", None)
        data["agents"] = {n: {**a.model_dump(exclude_unset=True),
                              "model": change_model(a.model, a.model.model_dump(exclude_unset=True))}
                          for n, a in self.agents.items()}
        if rounds is not None:
            data["rounds"] = rounds
        copy = DebateConfig.model_validate(data)
        copy._source = self._source
        return copy


def load_debate_config(ref: str | Path, *, beside: Path | None = None) -> DebateConfig:
    """Load a configuration by path or built-in name (`embedded/adversarial`); topology and roles
    are checked when the graph is built. `beside`: the file that names it (an experiment)."""
    path = resolve_config_file(ref, beside=beside)
    config = load_yaml_model(DebateConfig, path)
    config._source = path
    for agent in config.agents.values():
        # A template path is read beside the configuration when it is there (then from anywhere).
        if agent.template and agent.template.endswith(".txt") and not Path(agent.template).is_absolute():
            beside_config = path.parent / agent.template
            if beside_config.is_file():
                agent.template = str(beside_config)
    return config
