"""Running (or resuming) one debate on its checkpointed thread.

The thread id holds a stable debate id, and the debate id holds the configuration's
fingerprint, so re-running the same debate resumes it and a changed configuration starts a
new thread instead of mixing two configurations in one transcript.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import ollama
from langchain_core.language_models import BaseChatModel

from debatelab.agents.chat_model import make_chat_model
from debatelab.agents.model_spec import ModelSpec
from debatelab.agents.run_bindings import bind_run
from debatelab.base.errors import ModelUnavailableError, UserError
from debatelab.graphs.config import DebateConfig
from debatelab.graphs.context import DebateContext
from debatelab.graphs.registry import compile_debate, recursion_limit
from debatelab.graphs.retry import is_transient
from debatelab.graphs.state import Turn
from debatelab.scenarios.schema import Scenario
from debatelab.tracing import tracing_guard

TurnCallback = Callable[[Turn], None]


def debate_id_for(experiment: str, config: DebateConfig, scenario_id: str, repeat: int = 0, *,
                  legacy: bool = False, fingerprint: str | None = None) -> str:
    """Stable id of (experiment, configuration name and fingerprint, scenario, repeat).

    The name is part of it so that two configurations with the same content (the study's
    heavyweight and reasoning_focused use the same models) stay two sets of debates, each in its
    own row of every table. `legacy`: debatelab 0.1's id (no name, a fingerprint with hosts).
    `fingerprint`: the configuration's (legacy, if `legacy`) fingerprint, when the caller has it."""
    if legacy:
        key = f"{experiment}|{fingerprint or config.fingerprint(legacy=True)}|{scenario_id}|{repeat}"
    else:
        key = f"{experiment}|{config.name}|{fingerprint or config.fingerprint()}|{scenario_id}|{repeat}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def thread_id_for(debate_id: str) -> str:
    return f"debate:{debate_id}"


ModelFactory = Callable[[ModelSpec], BaseChatModel]


def chat_models_for(config: DebateConfig, factory: ModelFactory = make_chat_model) -> dict[str, BaseChatModel]:
    """One chat model per agent (ChatOllama in the product), from its spec with the config's defaults."""
    return {agent: factory(config.model_for(agent)) for agent in config.agents}


def debate_trace(config: DebateConfig, scenario: Scenario, *, experiment: str, repeat: int,
                 debate_id: str, fingerprint: str | None = None) -> dict[str, Any]:
    """run_name, tags and metadata of a debate run, for LangSmith or any tracer."""
    return {
        "run_name": f"debate {config.name} · {scenario.id} · repeat {repeat}",
        "tags": ["debatelab", "debate", f"config:{config.name}", f"topology:{config.topology}"],
        "metadata": {"experiment": experiment, "configuration": config.name,
                     "config_fingerprint": fingerprint or config.fingerprint(), "topology": config.topology,
                     "scenario": scenario.id, "repeat": repeat, "debate_id": debate_id},
    }


@dataclass
class DebateOutcome:
    debate_id: str
    thread_id: str
    values: dict[str, Any]
    status: str  # "finished" | "resumed" | "already_finished"
    new_turns: list[Turn] = field(default_factory=list)

    @property
    def turns(self) -> list[Turn]:
        return list(self.values.get("turns", []))

    @property
    def verdict(self) -> dict[str, Any] | None:
        return self.values.get("verdict")


def initial_state(debate_id: str, config: DebateConfig, scenario: Scenario) -> dict[str, Any]:
    return {
        "debate_id": debate_id,
        "config_name": config.name,
        "scenario": scenario.model_dump(),
        "rounds": config.rounds,
        "round": 0,
        "turns": [],
        "verdict": None,
    }


async def run_debate(
    config: DebateConfig,
    scenario: Scenario,
    *,
    checkpointer: Any,
    debate_id: str,
    models: Mapping[str, BaseChatModel] | None = None,
    on_turn: TurnCallback | None = None,
    limits: Mapping[str, Any] | None = None,
    experiment: str = "adhoc",
    repeat: int = 0,
    fingerprint: str | None = None,
) -> DebateOutcome:
    """Run the debate to the end, resuming its thread if it was interrupted.

    A finished thread is returned as is without calling any model. Agents call ChatOllama for
    their specs unless `models` substitutes chat models (tests, benchmarks); `limits` are the
    per-host call limits shared between concurrent debates; `fingerprint` is the configuration's,
    when the caller has hashed it already.
    """
    fingerprint = fingerprint or config.fingerprint()
    graph = compile_debate(config, checkpointer, fingerprint=fingerprint)
    thread = thread_id_for(debate_id)
    cfg: dict[str, Any] = {
        "configurable": {"thread_id": thread}, "recursion_limit": recursion_limit(config),
        **debate_trace(config, scenario, experiment=experiment, repeat=repeat, debate_id=debate_id,
                       fingerprint=fingerprint),
    }
    snapshot = await graph.aget_state(cfg)
    if snapshot.next:
        status, graph_input = "resumed", None
    elif snapshot.values.get("turns"):
        return DebateOutcome(debate_id, thread, dict(snapshot.values), "already_finished")
    else:
        status, graph_input = "finished", initial_state(debate_id, config, scenario)
    new_turns: list[Turn] = []
    try:
        with bind_run(models, limits), tracing_guard():
            async for chunk in graph.astream(graph_input, cfg, context=DebateContext(), stream_mode="updates",
                                             durability="sync"):
                for delta in chunk.values():
                    for turn in (delta or {}).get("turns", []) if isinstance(delta, dict) else []:
                        new_turns.append(turn)
                        if on_turn:
                            on_turn(turn)
    except ollama.ResponseError as exc:
        if exc.status_code == 404:
            raise ModelUnavailableError(
                f"debate {debate_id}: {exc.error}; run `ollama pull` for it, then re-run to resume"
            ) from None
        raise ModelUnavailableError(
            f"debate {debate_id}: model server error {exc.status_code} ({exc.error}); "
            f"re-run the same command to resume from the last finished turn"
        ) from None
    except (httpx.HTTPError, ConnectionError, TimeoutError) as exc:
        if not is_transient(exc) and not isinstance(exc, httpx.HTTPError):
            raise
        raise ModelUnavailableError(
            f"debate {debate_id}: model host failed mid-debate ({type(exc).__name__}: {exc}); "
            f"re-run the same command to resume from the last finished turn"
        ) from None
    # One checkpoint read at the end instead of a "values" stream copying the whole state after
    # every step (about 0.1 ms per agent step, bench/overhead.py).
    final_values = dict((await graph.aget_state(cfg)).values)
    problem = incompleteness(config, final_values)
    if problem:
        raise UserError(f"debate {debate_id} ({config.name}) ended incomplete: {problem}; it is not stored as "
                        f"finished (a topology or role plugin that skips agents is the usual cause)")
    return DebateOutcome(debate_id, thread, final_values, status, new_turns)


def incompleteness(config: DebateConfig, values: dict[str, Any]) -> str | None:
    """Why a debate that ran to its end is not complete, or None: every agent must have spoken,
    and a topology with an aggregator must have its verdict (an unparseable one counts: it is
    recorded honestly as no winner)."""
    spoke = {t.get("agent") for t in values.get("turns", [])}
    silent = [a for a in config.agents if a not in spoke]
    if silent:
        return f"agents {silent} never spoke"
    if config.agents_with_role("aggregator") and not values.get("verdict"):
        return "the aggregator gave no verdict"
    return None
