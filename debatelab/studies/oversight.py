"""Debate as scalable oversight (Khan et al. 2024, Kenton et al. 2024): agents read a passage the
judge cannot; judge accuracy per protocol, paired across protocols; people judge in the viewer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from debatelab.agents import ModelSpec
from debatelab.experiments import OversightExperiment, run_oversight
from debatelab.store import Store
from debatelab.studies.question_study import QuestionStudy
from debatelab.studies.registry import study


@study
class Oversight(QuestionStudy):
    name = "oversight"
    spec = OversightExperiment
    result_name = "oversight"
    view_page = "oversight"
    judged_by_people = True
    summary = "naive, expert, consultancy and debate protocols; judges answer without the passage"
    runner = staticmethod(run_oversight)

    def write(self, store: Store, experiment: str, out_dir: Path) -> dict[str, Any]:
        from debatelab.report import write_oversight_report

        return write_oversight_report(store, experiment, out_dir)

    def show(self, console: Console, experiment: str, results: dict[str, Any]) -> None:
        from debatelab.report import print_oversight_summary

        print_oversight_summary(console, experiment, results)

    def simulate(self, exp: Any, truth: Path, *, studies: int, seed: int) -> dict[str, Any]:
        from debatelab.studies.simulate_oversight import simulate_oversight

        return simulate_oversight(exp, truth, studies=studies, seed=seed)

    def model_specs(self, exp: Any) -> list[ModelSpec]:
        extra = [exp.preference_model] if exp.preference_model is not None else []
        return [d.model for d in exp.debaters] + list(exp.judges) + extra
