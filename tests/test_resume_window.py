"""A kill -9 between a node's saved writes and the superstep's next checkpoint.

LangGraph's snapshot then has an empty `next` (finished tasks are left out) while its values show
the node's writes: a runner that reads "no next" as "finished" stores a judgment with one criterion
of five (tests/test_experiment_crash.py met it about once in seven runs). Here the window is hit on
purpose: the saver dies on the checkpoint that would follow the first criterion's writes."""

from __future__ import annotations

import asyncio

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from debatelab.agents import ModelSpec, ScriptedChatModel
from debatelab.experiments import run_debate
from debatelab.graphs import load_debate_config
from debatelab.judging import load_transcript, run_judgment
from debatelab.rubric import load_rubric
from debatelab.scenarios import load_scenario_set
from tests.conftest import ROOT
from tests.test_judging import TRANSCRIPT


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, nothing catches it."""


class DiesAfterFirstWrite(InMemorySaver):
    """Saves a task's writes to `channel`, then dies on the checkpoint that would close their superstep."""

    armed = True

    def __init__(self, channel: str) -> None:
        super().__init__()
        self.channel = channel

    def put_writes(self, config, writes, task_id, task_path=""):
        super().put_writes(config, writes, task_id, task_path)
        if any(channel == self.channel and value for channel, value in writes):
            self.die_on_next_put = True

    def put(self, config, checkpoint, metadata, new_versions):
        if self.armed and getattr(self, "die_on_next_put", False):
            self.armed = False
            raise Killed
        return super().put(config, checkpoint, metadata, new_versions)


def test_a_judgment_killed_after_a_criterions_writes_resumes_with_every_criterion():
    saver = DiesAfterFirstWrite("scores")
    rubric, transcript, judge = load_rubric("paper-2025"), load_transcript(TRANSCRIPT, "t"), ModelSpec(model="j:1")
    first = ScriptedChatModel(name="judge", script=lambda p, k: {"reasons": "r", "score": 4})
    with pytest.raises(Killed):
        asyncio.run(run_judgment(transcript, rubric, judge, first, checkpointer=saver, permute=False))
    assert len(first.calls) == 1
    again = ScriptedChatModel(name="judge", script=lambda p, k: {"reasons": "r", "score": 4})
    outcome = asyncio.run(run_judgment(transcript, rubric, judge, again, checkpointer=saver, permute=False))
    assert outcome.status == "resumed"
    assert len(outcome.criteria) == 5 and outcome.overall == pytest.approx(4.0)
    assert len(again.calls) == 4  # the saved criterion is not asked again


def test_a_debate_killed_after_its_first_turn_resumes_to_the_end():
    config = load_debate_config(ROOT / "configs/embedded/adversarial.yaml")
    scenario = load_scenario_set("alignment-v1").get("tr-terminal-diagnosis")
    saver = DiesAfterFirstWrite("turns")

    def models():
        return {a: ScriptedChatModel(name=a) for a in config.agents}

    first = models()
    with pytest.raises(Killed):
        asyncio.run(run_debate(config, scenario, checkpointer=saver, debate_id="d", models=first))
    assert sum(len(m.calls) for m in first.values()) == 1
    again = models()
    outcome = asyncio.run(run_debate(config, scenario, checkpointer=saver, debate_id="d", models=again))
    assert outcome.status == "resumed"
    assert [t["id"] for t in outcome.turns] == ["proponent@1", "opponent@1", "proponent@2", "opponent@2", "judge@3"]
    assert sum(len(m.calls) for m in again.values()) == 4
