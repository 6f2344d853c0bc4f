"""The study registry: one registered object per study kind, found by its name or an alias.

A study owns what used to be decided by `if kind == ...` across the lab: its experiment model, its
run, its report and terminal summary, its viewer page and its model needs. The CLI, the viewer and
the loader ask the registry which study an experiment (a file, or a stored row) belongs to, and
call that study; none of them names a kind. Plugins add studies through the entry point group
`debatelab.studies` (each entry a `Study` subclass or instance), as roles and topologies do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from rich.console import Console

from debatelab.agents import ModelSpec, make_chat_model
from debatelab.base import UserError, load_plugins
from debatelab.experiments import ExperimentBase, ModelFactory
from debatelab.runtime import RunProgress
from debatelab.store import Store

ENTRY_POINT_GROUP = "debatelab.studies"
DEFAULT_STUDY = "debates"  # a file without `kind` has always meant rubric debates


class StudyRun(Protocol):
    """What a study's run returns: the CLI prints its failures and exits 4 when any item failed."""

    failures: Any

    @property
    def failed(self) -> int: ...

    def as_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ReportOptions:
    """Options of `debatelab report` that a study may use (the rubric study does; others ignore them)."""

    method: str = "wilcoxon"
    rubric_version: str | None = None


class Study:
    """One study kind. Subclass it, set the class attributes, implement the methods, and register
    it with `@study` (built-ins) or the `debatelab.studies` entry point (plugins).

    Attributes:
        name: the study's one name in code, files, the store and the docs.
        aliases: other spellings a file's `kind` (or an older store's row) may use.
        spec: the pydantic model of its experiment files (an `ExperimentBase` with `kind: Literal[name]`).
        shardable: whether `run --shard K/N` can split it.
        view_page: the viewer's page for its experiments (None: the rubric experiment page; "study":
            the generic page of its `view_tables`).
        judged_by_people: whether people judge its trials in the viewer (`/experiments/NAME/judge`).
        summary: one line for `debatelab studies`.
    """

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    spec: ClassVar[type[ExperimentBase]]
    shardable: ClassVar[bool] = False
    view_page: ClassVar[str | None] = None
    judged_by_people: ClassVar[bool] = False
    summary: ClassVar[str] = ""

    def refuse_shard(self, shard: tuple[int, int] | None, where: str) -> None:
        """One line when a shard is asked of a study that cannot be split."""
        if shard is not None and not self.shardable:
            raise UserError(f"--shard: {where} is a {self.name} experiment; shards split rubric debates")

    def claims(self, data: Mapping[str, Any]) -> bool:
        """Whether a file or stored spec written with a shared alias is this study's (its own section is set)."""
        return True

    async def run(self, exp: Any, store: Store, checkpoints: str | Path, progress: RunProgress, *,
                  model_factory: ModelFactory = make_chat_model, preflight: bool = True,
                  shard: tuple[int, int] | None = None) -> StudyRun:
        raise NotImplementedError

    def finish(self, store: Store, experiment: str, run: StudyRun, out_dir: Path | None) -> dict[str, Any] | None:
        """After a run: the results to print (None: nothing to show yet), written to `out_dir` when given."""
        raise NotImplementedError

    def report(self, store: Store, experiment: str, out_dir: Path | None,
               options: ReportOptions = ReportOptions()) -> dict[str, Any] | None:
        """`debatelab report`: the study's results from the store, written to `out_dir` when given."""
        raise NotImplementedError

    def print_summary(self, console: Console, experiment: str, results: dict[str, Any],
                      run: StudyRun | None = None) -> None:
        raise NotImplementedError

    def run_json(self, run: StudyRun, results: dict[str, Any] | None) -> dict[str, Any]:
        """What `run --json` prints."""
        return run.as_json()

    def model_specs(self, exp: Any) -> list[ModelSpec]:
        """Every (host, model) a run of `exp` would call."""
        return []

    def view_tables(self, store: Store, experiment: str) -> list[Any]:
        """Tables (`debatelab.report.Table`) for the viewer's generic study page, which a study whose
        `view_page` is "study" gets without writing a template."""
        return []

    def simulate(self, exp: Any, truth: Path, *, studies: int, seed: int) -> dict[str, Any]:
        """`debatelab simulate`: the study's design and analysis on outcomes drawn from a declared
        truth (no model call); the tally of coverage, widths, power and family-wise error."""
        raise UserError(f"kind: {self.name} has no simulator; `debatelab simulate` runs kind: oversight and the "
                        f"rubric study (kind: debates)")


S = TypeVar("S", bound=type[Study])
_BUILTIN: dict[str, Study] = {}
_PLUGINS: dict[str, Study] | None = None


def study(cls: S) -> S:
    """Register a built-in study class (plugins use the entry point instead)."""
    _BUILTIN[cls.name] = cls()
    return cls


def _plugins() -> dict[str, Study]:
    """Studies from installed packages' `debatelab.studies` entry points, loaded once."""
    global _PLUGINS
    if _PLUGINS is None:
        _PLUGINS = {s.name: s for s in load_plugins(ENTRY_POINT_GROUP, Study, "study").values()}
    return _PLUGINS


def forget_plugins() -> None:
    """Read the entry points again on next use (after installing a plugin in a running process)."""
    global _PLUGINS
    _PLUGINS = None


def all_studies() -> dict[str, Study]:
    """Every study by name: the built-ins, then plugins (a plugin cannot replace a built-in)."""
    return {**_plugins(), **_BUILTIN}


def study_named(name: str) -> Study:
    studies = all_studies()
    if name not in studies:
        raise UserError(f"no study {name!r}; one of {', '.join(sorted(studies))}")
    return studies[name]


def study_for(kind: str | None, data: Mapping[str, Any], where: str, *, stored: bool = False) -> Study:
    """The study a file or stored spec belongs to: its `kind` (missing: the rubric study, as in every
    release), an alias resolved by which study's own section the data has. A stored row too old to
    say (no spec) goes to the alias's first study, as reports did before the registry."""
    wanted = kind if kind is not None else DEFAULT_STUDY
    studies = all_studies()
    if wanted in studies:
        return studies[wanted]
    sharing = [s for s in studies.values() if wanted in s.aliases]
    if not sharing:
        raise UserError(f"{where}: field 'kind': {str(wanted)[:80]!r} is not a study; one of "
                        f"{', '.join(sorted(studies))}")
    claimed = [s for s in sharing if s.claims(data)]
    if len(claimed) == 1:
        return claimed[0]
    if stored:
        return sharing[0]
    names = " or ".join(s.name for s in sharing)
    raise UserError(f"{where}: field 'kind': {wanted!r} means {names}: give exactly one of their sections "
                    f"(or write kind: {sharing[0].name})")


def study_of_experiment(row: Mapping[str, Any]) -> Study:
    """The study of a stored experiment row (its `kind`, and its stored spec for an alias)."""
    spec = row.get("spec") or {}
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except ValueError:
            spec = {}
    return study_for(row.get("kind") or None, spec if isinstance(spec, dict) else {}, f"experiment {row.get('name')!r}",
                     stored=True)


async def run_study(exp: ExperimentBase, store: Store, checkpoints: str | Path, progress: RunProgress, *,
                    model_factory: ModelFactory = make_chat_model, preflight: bool = True,
                    shard: tuple[int, int] | None = None) -> StudyRun:
    """Run what is missing of a loaded experiment, whichever study it is (resumable; see each study)."""
    chosen = study_named(exp.kind)
    chosen.refuse_shard(shard, exp.name)
    return await chosen.run(exp, store, checkpoints, progress, model_factory=model_factory,
                                           preflight=preflight, shard=shard)
