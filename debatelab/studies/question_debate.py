"""Debate on labelled questions (Du et al.): answerers answer, read each other and answer again,
against a vote of their first answers, self-consistency and chain of thought."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console

from debatelab.agents import ModelSpec
from debatelab.experiments import QuestionDebateExperiment, question_debate_config, run_question_debate
from debatelab.store import Store
from debatelab.studies.question_study import QuestionStudy
from debatelab.studies.registry import study


@study
class QuestionDebate(QuestionStudy):
    name = "question_debate"
    aliases = ("questions", "dynamics")  # `kind: questions` with a `debate:` section (0.3); its report's name
    spec = QuestionDebateExperiment
    result_name = "dynamics"  # report.json and the results API keep 0.3's key
    summary = "answerers debate labelled questions round by round, against a vote and equal-budget baselines"
    runner = staticmethod(run_question_debate)

    def write(self, store: Store, experiment: str, out_dir: Path) -> dict[str, Any]:
        from debatelab.report import write_dynamics_report

        return write_dynamics_report(store, experiment, out_dir)

    def show(self, console: Console, experiment: str, results: dict[str, Any]) -> None:
        from debatelab.report import print_dynamics_summary

        print_dynamics_summary(console, experiment, results)

    def claims(self, data: Mapping[str, Any]) -> bool:
        return data.get("debate") is not None

    def model_specs(self, exp: Any) -> list[ModelSpec]:
        config = question_debate_config(exp)
        return [config.model_for(a) for a in config.agents]
