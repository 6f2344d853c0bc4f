"""How a running node gets its chat model: from data in the run's context, like LangGraph's template.

A graph's context holds data only (a configuration and model specs), so the same compiled graph
runs under `debatelab run`, in a notebook and in LangGraph Server, where the context arrives as
JSON. A node turns its agent's `ModelSpec` into a ChatOllama through `make_chat_model` (cached per
process and event loop).

Two things cannot travel as data and are bound to the current task instead (a ContextVar, which
asyncio copies into every task a run starts, so concurrent debates never see each other's):
- chat-model substitutes, for tests and benchmarks that script their models;
- per-host call limits (semaphores), which the runner shares between the debates of one host.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel

from debatelab.agents.chat_model import make_chat_model, shared_chat_model
from debatelab.agents.model_spec import ModelSpec


@dataclass(frozen=True)
class RunBindings:
    """Live objects for the nodes of the runs started in this task (never checkpointed)."""

    models: Mapping[str, BaseChatModel] = field(default_factory=dict)  # agent -> substitute chat model
    limits: Mapping[str, asyncio.Semaphore] = field(default_factory=dict)  # agent -> its host's call limit


_BINDINGS: ContextVar[RunBindings | None] = ContextVar("debatelab_run_bindings", default=None)


@contextmanager
def bind_run(models: Mapping[str, BaseChatModel] | None = None,
             limits: Mapping[str, asyncio.Semaphore] | None = None) -> Iterator[RunBindings]:
    """Bind substitute models and call limits for the graph runs started inside the block."""
    bindings = RunBindings(models=dict(models or {}), limits=dict(limits or {}))
    token = _BINDINGS.set(bindings)
    try:
        yield bindings
    finally:
        _BINDINGS.reset(token)


def context_model_spec(context: Any, agent: str) -> ModelSpec | None:
    """The spec a run's context gives `agent`, if any.

    Any context object with a method `agent_model(agent) -> ModelSpec | None` can do this
    (`debatelab.graphs.DebateContext` does); without one, the compiled graph's own spec applies.
    """
    lookup = getattr(context, "agent_model", None)
    return lookup(agent) if callable(lookup) else None


def model_spec_for(context: Any, agent: str, default: ModelSpec) -> ModelSpec:
    return context_model_spec(context, agent) or default


def chat_model_for(context: Any, agent: str, default: ModelSpec) -> BaseChatModel:
    """The agent's chat model: a bound substitute, else ChatOllama for its spec (context first).
    For synchronous code; nodes use `achat_model_for`."""
    bindings = _BINDINGS.get()
    if bindings is not None and agent in bindings.models:
        return bindings.models[agent]
    return make_chat_model(model_spec_for(context, agent, default))


async def achat_model_for(context: Any, agent: str, default: ModelSpec) -> BaseChatModel:
    """`chat_model_for` without blocking the event loop: a context that still has a configuration
    file to read, and a chat model not yet built, are handled in a worker thread."""
    bindings = _BINDINGS.get()
    if bindings is not None and agent in bindings.models:
        return bindings.models[agent]
    if getattr(context, "loaded", True):
        spec = model_spec_for(context, agent, default)
    else:
        spec = await asyncio.to_thread(model_spec_for, context, agent, default)
    return await shared_chat_model(spec)


def call_limit_for(agent: str) -> asyncio.Semaphore | None:
    bindings = _BINDINGS.get()
    return bindings.limits.get(agent) if bindings is not None else None
