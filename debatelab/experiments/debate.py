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

from langchain_core.language_models import BaseChatModel

from debatelab.agents import ModelSpec, bind_run, make_chat_model, model_call_failed
from debatelab.base import UserError
from debatelab.graphs import (
    DebateConfig,
    DebateContext,
    Turn,
    compile_debate,
    has_pending_work,
    recursion_limit,
    transcript_turn,
)
from debatelab.runtime import tracing_guard
from debatelab.scenarios import Scenario

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
    if has_pending_work(snapshot):
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
    except Exception as exc:
        failed = model_call_failed(f"debate {debate_id}", exc)
        if failed is None:
            raise
        raise failed from None
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


def transcript_json(outcome: DebateOutcome, config: DebateConfig, scenario: Scenario) -> dict[str, Any]:
    """A finished debate as the transcript JSON that `debatelab debate --json` prints and
    `debatelab judge --transcript` reads."""
    return {
        "debate_id": outcome.debate_id,
        "config": config.name,
        "config_fingerprint": config.fingerprint(),
        "topology": config.topology,
        "scenario": scenario.id,
        "motion": scenario.motion,
        "scenario_detail": scenario.model_dump(),
        "turns": [transcript_turn(t) for t in outcome.turns],
        "verdict": outcome.verdict,
    }
