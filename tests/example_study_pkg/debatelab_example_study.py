"""A study from outside debatelab: `kind: coin_flip` flips a seeded coin `flips` times and reports
the share of heads. It calls no model, so a test can predict every figure; it shows what a plugin
study writes: its experiment model, run, report, terminal summary and viewer tables."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from debatelab.base import UserError
from debatelab.experiments import ExperimentBase
from debatelab.report import Table
from debatelab.runtime import Failures
from debatelab.studies import ReportOptions, Study


class CoinFlipExperiment(ExperimentBase):
    kind: Literal["coin_flip"] = "coin_flip"
    flips: int = Field(ge=1, le=10_000, description="coin flips")
    seed: int = Field(default=0, description="the coin's seed")
    lose_one: bool = Field(default=False, description="record one flip as failed (the run then exits 4)")


@dataclass
class CoinFlipRun:
    experiment: str
    heads: int
    flips: int
    failures: Failures = field(default_factory=Failures)

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    def as_json(self) -> dict[str, Any]:
        return {"experiment": self.experiment, "heads": self.heads, "flips": self.flips}


class CoinFlip(Study):
    name = "coin_flip"
    aliases = ("coins",)
    spec = CoinFlipExperiment
    view_page = "study"
    summary = "a seeded coin, flipped: the share of heads"

    async def run(self, exp: Any, store: Any, checkpoints: Any, progress: Any, **_: Any) -> CoinFlipRun:
        rng = random.Random(exp.seed)
        heads = sum(rng.random() < 0.5 for _ in range(exp.flips))
        store.upsert_experiment(exp.name, description=exp.description, kind=exp.kind, spec=exp.spec_dict(),
                                source_file=str(exp.source or ""))
        store.write_result(f"{exp.name}:coin_flip", exp.name, "coin_flip", {"heads": heads, "flips": exp.flips})
        run = CoinFlipRun(exp.name, heads, exp.flips)
        if exp.lose_one:
            run.failures.record("coins", "flip 1", UserError("the coin rolled away"))
        return run

    def finish(self, store: Any, experiment: str, run: Any, out_dir: Path | None) -> dict[str, Any] | None:
        return self.report(store, experiment, out_dir)

    def report(self, store: Any, experiment: str, out_dir: Path | None,
               options: ReportOptions = ReportOptions()) -> dict[str, Any] | None:
        results = store.result(f"{experiment}:coin_flip")
        if results is not None and out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / "report.json").write_text(json.dumps(results))
            (out_dir / "report.md").write_text("\n\n".join(t.markdown() for t in self.tables(results)))
            (out_dir / "report.html").write_text("".join(t.html() for t in self.tables(results)))
        return results

    def tables(self, results: dict[str, Any]) -> list[Table]:
        table = Table("Coin flips", ["heads", "flips", "share"])
        table.add(results["heads"], results["flips"], f"{results['heads'] / results['flips']:.2f}")
        return [table]

    def print_summary(self, console: Any, experiment: str, results: dict[str, Any], run: Any = None) -> None:
        console.print(f"{experiment}: {results['heads']} heads of {results['flips']} flips")

    def view_tables(self, store: Any, experiment: str) -> list[Table]:
        results = store.result(f"{experiment}:coin_flip")
        return self.tables(results) if results is not None else []
