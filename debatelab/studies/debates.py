"""The rubric study: debates of configurations on scenarios, judged on a versioned rubric (the
paper's ensembles vs single models), with pairwise comparisons, audits and stance readings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from debatelab.agents import ModelSpec, make_chat_model
from debatelab.experiments import DebatesExperiment, ModelFactory, RunSummary, run_experiment
from debatelab.runtime import RunProgress
from debatelab.store import Store
from debatelab.studies.registry import ReportOptions, Study, StudyRun, study


@study
class RubricDebates(Study):
    name = "debates"
    aliases = ("rubric",)
    spec = DebatesExperiment
    shardable = True
    summary = "debates of configurations on scenarios, judged on a rubric (the default kind)"

    async def run(self, exp: Any, store: Store, checkpoints: str | Path, progress: RunProgress, *,
                  model_factory: ModelFactory = make_chat_model, preflight: bool = True,
                  shard: tuple[int, int] | None = None) -> RunSummary:
        return await run_experiment(exp, store, checkpoints, progress, model_factory=model_factory,
                                    preflight=preflight, shard=shard)

    def finish(self, store: Store, experiment: str, run: StudyRun, out_dir: Path | None) -> dict[str, Any] | None:
        return self.report(store, experiment, out_dir)

    def report(self, store: Store, experiment: str, out_dir: Path | None,
               options: ReportOptions = ReportOptions()) -> dict[str, Any] | None:
        from debatelab.analysis import analyse
        from debatelab.report import write_report

        if out_dir is None:
            return analyse(store, experiment, rubric_version=options.rubric_version)
        return write_report(store, experiment, out_dir, method=options.method, rubric_version=options.rubric_version)

    def print_summary(self, console: Console, experiment: str, results: dict[str, Any],
                      run: StudyRun | None = None) -> None:
        from debatelab.report import print_summary

        print_summary(console, results, run)

    def run_json(self, run: StudyRun, results: dict[str, Any] | None) -> dict[str, Any]:
        return {**run.as_json(), "analysis": results}

    def simulate(self, exp: Any, truth: Path, *, studies: int, seed: int) -> dict[str, Any]:
        from debatelab.studies.simulate_rubric import simulate_rubric

        return simulate_rubric(exp, truth, studies=studies, seed=seed)

    def model_specs(self, exp: Any) -> list[ModelSpec]:
        specs = [config.model_for(a) for _, config in exp.debate_configs() for a in config.agents]
        return specs + (exp.judging.judge_specs() if exp.judging is not None else [])
