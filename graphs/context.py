"""`DebateContext`: what a debate run can be configured with, as data (LangGraph's run-time context).

It is JSON in LangGraph Server and Studio, a dict or this dataclass in Python:

    {"configuration": "embedded/adversarial"}                  # a built-in name or a path
    {"configuration": {"name": "mine", "topology": "adversarial", "model": "smollm2:135m@embedded"}}
    {"models": {"opponent": "deepseek-r1:8b@http://gpu-box:11434"}}   # one agent's model only

A configuration given here replaces the models, options, rounds and prompts of the configuration
the graph was compiled from; its topology and agent names must be the graph's (a graph's shape is
fixed when it is compiled). Without a context the compiled configuration runs unchanged.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from debatelab.agents import ModelSpec, coerce_model
from debatelab.base import UserError, validate
from debatelab.graphs.config import DebateConfig, load_debate_config


@dataclass(kw_only=True)
class DebateContext:
    """Run-time context of a debate graph (not checkpointed)."""

    configuration: str | dict[str, Any] | None = field(default=None, metadata={
        "description": "a built-in configuration name (embedded/adversarial), a YAML path, or an inline "
                       "configuration; same topology and agents as the graph"})
    models: dict[str, str | dict[str, Any]] = field(default_factory=dict, metadata={
        "description": "per agent: a model TAG[@HOST] or spec that replaces the configuration's"})

    @property
    def loaded(self) -> bool:
        """Whether reading this context needs no file (a named configuration not yet read does)."""
        return not isinstance(self.configuration, str) or not self.configuration or "config" in self.__dict__

    @cached_property
    def config(self) -> DebateConfig | None:
        """The configuration this context names (loaded once per run)."""
        if self.configuration is None or self.configuration == "":
            return None
        if isinstance(self.configuration, dict):
            return validate(DebateConfig, self.configuration, "context field 'configuration'")
        return load_debate_config(self.configuration)

    def agent_model(self, agent: str) -> ModelSpec | None:
        """The model this context gives `agent` (per-agent override, then the configuration's)."""
        given = self.models.get(agent)
        if given is not None:
            return validate(ModelSpec, coerce_model(given), f"context field 'models.{agent}'")
        config = self.config
        if config is None:
            return None
        if agent not in config.agents:
            raise UserError(f"context field 'configuration': {config.name!r} has no agent {agent!r} "
                            f"(agents: {', '.join(config.agents)}); use a configuration of this graph's shape")
        return config.model_for(agent)

    def check_shape(self, compiled: DebateConfig) -> None:
        """Refuse a configuration whose topology or agents differ from the compiled graph's."""
        config = self.config
        if config is None:
            return
        if config.topology != compiled.topology or set(config.agents) != set(compiled.agents):
            raise UserError(
                f"context field 'configuration': {config.name!r} is topology {config.topology!r} with agents "
                f"{sorted(config.agents)}, but this graph runs {compiled.topology!r} with agents "
                f"{sorted(compiled.agents)}; run it on the graph of its own topology")
        for agent in self.models:
            if agent not in compiled.agents:
                raise UserError(f"context field 'models.{agent}': this graph has no agent {agent!r} "
                                f"(agents: {', '.join(compiled.agents)})")

    def rounds(self, compiled: DebateConfig) -> int:
        config = self.config
        return config.rounds if config is not None else compiled.rounds

    def fingerprint(self) -> str:
        return json.dumps({"configuration": self.configuration, "models": self.models}, sort_keys=True, default=str)


C = TypeVar("C")


def context_of(runtime: Any, cls: type[C]) -> C:
    """A graph's run-time context as `cls`: the object a notebook or debatelab passed, or one built
    from the JSON Studio and LangGraph Server send (nothing: `cls`'s defaults). One way for every
    graph, instead of one per graph."""
    ctx = getattr(runtime, "context", None)
    if isinstance(ctx, cls):
        return ctx
    return cls(**(ctx or {}))


def as_debate_context(context: Any) -> DebateContext | None:
    """The run's context as a DebateContext (LangGraph coerces dicts; other callers may not)."""
    if context is None or isinstance(context, DebateContext):
        return context
    if isinstance(context, dict):
        return DebateContext(**context)
    return None


async def load_context(context: Any) -> DebateContext | None:
    """The run's context with its configuration read, off the event loop when a file must be read."""
    ctx = as_debate_context(context)
    if ctx is not None and not ctx.loaded:
        await asyncio.to_thread(lambda: ctx.config)
    return ctx


def rounds_for(state: dict[str, Any], context: Any, compiled: DebateConfig) -> int:
    """Rounds of this run: the input's `rounds`, else the context's configuration, else the compiled."""
    ctx = as_debate_context(context)
    if ctx is not None:
        ctx.check_shape(compiled)
    if state.get("rounds"):
        return int(state["rounds"])
    return ctx.rounds(compiled) if ctx is not None else compiled.rounds
