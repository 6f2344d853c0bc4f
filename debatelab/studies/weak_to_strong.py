"""Weak-to-strong: SAMME-weighted weak ensembles (EnsemW2S) and a strong model facilitating weak
ones (arXiv 2409.07335), against a vote, the best single agent and self-consistency."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console

from debatelab.agents import ModelSpec
from debatelab.experiments import WeakToStrongExperiment, run_weak_to_strong, strong_spec, weak_config
from debatelab.store import Store
from debatelab.studies.question_study import QuestionStudy
from debatelab.studies.registry import study


@study
class WeakToStrong(QuestionStudy):
    name = "weak_to_strong"
    aliases = ("questions", "w2s")  # `kind: questions` with a `w2s:` section (0.3)
    spec = WeakToStrongExperiment
    result_name = "w2s"
    summary = "weak agents weighted by SAMME and facilitated by a strong model, on labelled questions"
    runner = staticmethod(run_weak_to_strong)

    def write(self, store: Store, experiment: str, out_dir: Path) -> dict[str, Any]:
        from debatelab.report import write_w2s_report

        return write_w2s_report(store, experiment, out_dir)

    def show(self, console: Console, experiment: str, results: dict[str, Any]) -> None:
        from debatelab.report import print_w2s_summary

        print_w2s_summary(console, experiment, results)

    def claims(self, data: Mapping[str, Any]) -> bool:
        return data.get("w2s") is not None

    def model_specs(self, exp: Any) -> list[ModelSpec]:
        config = weak_config(exp)
        return [config.model_for(a) for a in config.agents] + [strong_spec(exp)]
