"""What the studies on labelled questions share: a runner that stores one result under
`EXPERIMENT:<result_name>`, results that exist only once every stage succeeded, and a report
writer and terminal summary over those results."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

from rich.console import Console

from debatelab.agents import make_chat_model
from debatelab.base import UserError
from debatelab.experiments import ModelFactory, QuestionsSummary
from debatelab.runtime import RunProgress
from debatelab.store import Store
from debatelab.studies.registry import ReportOptions, Study, StudyRun

Runner = Callable[..., Awaitable[QuestionsSummary]]


class QuestionStudy(Study):
    """A study whose run stores one result (`result_name`) that its report and summary read.

    Subclasses set `runner` (a staticmethod) and `result_name`, and write `write` and `show`, which
    import the report room when called: a run's first model call does not wait for matplotlib."""

    result_name: ClassVar[str]
    view_page = "questions"
    runner: ClassVar[Runner]

    def write(self, store: Store, experiment: str, out_dir: Path) -> dict[str, Any]:
        """Write the report's files; returns the results."""
        raise NotImplementedError

    def show(self, console: Console, experiment: str, results: dict[str, Any]) -> None:
        """The terminal summary."""
        raise NotImplementedError

    async def run(self, exp: Any, store: Store, checkpoints: str | Path, progress: RunProgress, *,
                  model_factory: ModelFactory = make_chat_model, preflight: bool = True,
                  shard: tuple[int, int] | None = None) -> QuestionsSummary:
        return await type(self).runner(exp, store, checkpoints, progress, model_factory=model_factory,
                                       preflight=preflight)

    def finish(self, store: Store, experiment: str, run: StudyRun, out_dir: Path | None) -> dict[str, Any] | None:
        results = getattr(run, "results", None)
        if results is not None and out_dir is not None:
            self.write(store, experiment, out_dir)
        return results

    def report(self, store: Store, experiment: str, out_dir: Path | None,
               options: ReportOptions = ReportOptions()) -> dict[str, Any] | None:
        if out_dir is None:
            results = store.result(f"{experiment}:{self.result_name}")
            if results is None:
                raise UserError(f"no {self.name} results for {experiment!r}; run the experiment first")
            return results
        return self.write(store, experiment, out_dir)

    def print_summary(self, console: Console, experiment: str, results: dict[str, Any],
                      run: StudyRun | None = None) -> None:
        self.show(console, experiment, results)
