"""Experiment files: one pydantic model per experiment kind, on a shared base.

A file's `kind` picks its model (the study registry, `debatelab.studies`, resolves it and its
aliases); each kind takes only its own sections, so a field another kind owns is refused by name
when the file is loaded, not checked again by hand afterwards.

    name: demo
    scenarios: {set: alignment-v1, ids: [tr-terminal-diagnosis, he-mood-nudging-wearable]}
    baselines: [configs/embedded/single.yaml]
    configurations: [configs/embedded/adversarial.yaml, configs/embedded/critiqued.yaml]
    repeats: 1
    overrides: {rounds: 1, num_predict: 80}
    judging: {rubric: alignment-7, judges: [smollm2:135m@embedded], samples: 1}
    concurrency: {default: 1, embedded: 2}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from debatelab.agents import DEFAULT_CONCURRENCY, ModelRef, ModelSpec, concurrency_for
from debatelab.base import UserError, one_model_name, one_or_many, redact_all, resolve_config_file
from debatelab.experiments.sections import (
    Debater,
    Judging,
    Overrides,
    OversightProtocol,
    PassageLimit,
    QuestionDebate,
    QuestionSelection,
    ScenarioSelection,
    StanceSpec,
    WeakToStrong,
    debaters_parse,
)
from debatelab.graphs import DebateConfig, build_graph, load_debate_config
from debatelab.rubric import Rubric, load_rubric
from debatelab.scenarios import PairSet, Scenario, load_pair_set, load_scenario_set

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class ExperimentBase(BaseModel):
    """What every experiment kind takes: its name, and how its model calls are spread over hosts."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="the experiment's name in the store (letters, digits, _ . -)")
    description: str = Field(default="", description="one line for people")
    kind: str = Field(description="the study this experiment runs (see `debatelab studies`)")
    concurrency: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_CONCURRENCY),
        description="parallel model calls per host: 'default' (each Ollama host), 'embedded', or a URL",
    )
    max_loaded: dict[str, int] = Field(
        default_factory=dict,
        description="models a host holds at once: 'default' (each Ollama host; 1 unless set), 'embedded' "
                    "(unlimited unless set) or a URL; calls are scheduled around model swaps",
    )
    pools: dict[str, list[str]] = Field(
        default_factory=dict,
        description="tag -> hosts serving it; applies to every agent and judge with that tag, whatever host "
                    "its configuration names",
    )
    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        return self._source

    def resolve(self, ref: str, field: str = "configurations") -> Path:
        """A configuration: a path as given, then beside the experiment file, then a built-in name."""
        try:
            return resolve_config_file(ref, beside=self._source)
        except UserError as exc:
            where = f"{self._source}: " if self._source else ""
            raise UserError(f"{where}field '{field}': {exc}") from None

    def _in_field(self, field: str, error: UserError) -> UserError:
        return UserError(f"{self._source or self.name}: field '{field}': {error}")

    def pooled(self, spec: ModelSpec) -> ModelSpec:
        """The spec served by its tag's pool, if the experiment names one."""
        return spec.model_copy(update={"hosts": tuple(self.pools[spec.model])}) if spec.model in self.pools else spec

    def max_loaded_for(self, host_url: str, is_embedded: bool) -> int | None:
        if host_url in self.max_loaded:
            return self.max_loaded[host_url]
        if is_embedded:
            return self.max_loaded.get("embedded")
        return self.max_loaded.get("default", 1)

    def limit_for(self, host_url: str, is_embedded: bool) -> int:
        """Calls a host takes at once: its own entry, else 'embedded' or 'default' (`concurrency_for`)."""
        return concurrency_for(self.concurrency, host_url, is_embedded)

    def spec_dict(self) -> dict[str, Any]:
        """The experiment as stored with its results (host URLs' passwords redacted)."""
        return redact_all(self.model_dump())

    def check_hosts(self, where: str) -> None:
        """The host tables' entries, each named by its field when wrong."""
        for name, limit in self.concurrency.items():
            if limit < 1:
                raise UserError(f"{where}: field 'concurrency.{name}': must be at least 1")
        for name, limit in self.max_loaded.items():
            if limit < 1:
                raise UserError(f"{where}: field 'max_loaded.{name}': must be at least 1")
        for tag, hosts in self.pools.items():
            try:
                ModelSpec(model=tag, hosts=tuple(hosts))
            except ValidationError as exc:
                raise UserError(f"{where}: field 'pools.{tag}': {exc.errors()[0]['msg']} (give a list of URLs like "
                                f"http://gpu-a:11434, or 'embedded')") from None


def _no_judging() -> Any:
    return Field(default=None, description="not taken by this kind (files may say `judging: null`)")


class DebatesExperiment(ExperimentBase):
    """Rubric debates: scenarios x configurations x baselines x repeats, judged on a rubric."""

    kind: Literal["debates"] = Field(default="debates", description="rubric-judged debates (the default kind)")
    scenarios: ScenarioSelection = Field(default_factory=ScenarioSelection, description="which scenarios")
    configurations: list[str] = Field(default_factory=list, description="ensemble configuration files")
    baselines: list[str] = Field(default_factory=list, description="single-model baseline configuration files")
    repeats: int = Field(default=1, ge=1, le=100,
        description="debates per scenario and configuration (each shifts every seed)")
    overrides: Overrides = Field(default_factory=Overrides, description="applied to every configuration")
    judging: Judging | None = Field(default_factory=Judging, description="how debates are judged; null for none")
    stance: StanceSpec | None = Field(default=None, description="record every argued turn's position and "
                                                                "concessions (stance over a debate); null for none")
    one_model: ModelRef | None = Field(
        default=None,
        description="a compute-matched baseline for every ensemble configuration: the same protocol "
                    "(agents, roles, rounds, sampling, token limits) with every agent on this one model, TAG[@HOST] "
                    "or a spec; the report compares each ensemble with its copy; null for none")

    def debate_configs(self) -> list[tuple[str, DebateConfig]]:
        """(kind, config) for every baseline and configuration, with the experiment's overrides."""
        out: list[tuple[str, DebateConfig]] = []
        seen: set[str] = set()
        for kind, field, paths in (("baseline", "baselines", self.baselines),
                                   ("ensemble", "configurations", self.configurations)):
            for i, p in enumerate(paths):
                cfg = load_debate_config(self.resolve(p, f"{field}.{i}"))
                ov = self.overrides
                cfg = cfg.with_overrides(rounds=ov.rounds, num_predict=ov.num_predict, temperature=ov.temperature,
                                         top_p=ov.top_p, num_ctx=ov.num_ctx, verdict_chars=ov.verdict_chars)
                cfg = cfg.with_pools(self.pools)
                build_graph(cfg)
                if cfg.name in seen:
                    raise UserError(f"{self._source}: configuration name {cfg.name!r} appears twice")
                seen.add(cfg.name)
                out.append((kind, cfg))
        if not out:
            raise UserError(f"{self._source}: field 'configurations': the experiment has no configurations or baselines")
        if self.one_model is not None:
            ensembles = [cfg for kind, cfg in out if kind == "ensemble"]
            if not ensembles:
                raise UserError(f"{self._source}: field 'one_model': the experiment has no ensemble configuration to "
                                "copy (list them under 'configurations')")
            for cfg in ensembles:
                twin = cfg.with_one_model(self.one_model, one_model_name(cfg.name)).with_pools(self.pools)
                build_graph(twin)
                if twin.name in seen:
                    raise UserError(f"{self._source}: field 'one_model': configuration name {twin.name!r} is taken "
                                    f"by another configuration (rename it: {twin.name!r} names {cfg.name!r}'s "
                                    "one-model copy)")
                seen.add(twin.name)
                out.append(("one_model", twin))
        return out

    def scenario_list(self) -> list[Scenario]:
        try:
            scenario_set = load_scenario_set(self.scenarios.set)
        except UserError as exc:
            raise self._in_field("scenarios.set", exc) from None
        try:
            s = scenario_set.select(self.scenarios.ids, study_only=self.scenarios.study_only)
        except UserError as exc:
            raise self._in_field("scenarios.ids", exc) from None
        return s[: self.scenarios.limit] if self.scenarios.limit else s

    def audit_pairs(self) -> PairSet | None:
        """The judge-audit items this experiment asks for (None without `judging.audit`); a file is
        looked for beside the experiment file first."""
        if self.judging is None or self.judging.audit is None:
            return None
        spec = self.judging.audit
        path = self._source.parent / spec.set if self._source and (self._source.parent / spec.set).is_file() else None
        try:
            return load_pair_set(str(path or spec.set)).sample(spec.n, spec.seed)
        except UserError as exc:
            raise self._in_field("judging.audit.set", exc) from None

    def rubric(self) -> Rubric | None:
        """The judging rubric (None without judging), named in errors by its field."""
        if self.judging is None:
            return None
        try:
            return load_rubric(self.judging.rubric)
        except UserError as exc:
            raise self._in_field("judging.rubric", exc) from None


class QuestionDebateExperiment(ExperimentBase):
    """Debate on labelled questions (Du et al.): answerers answer, read each other, answer again."""

    kind: Literal["question_debate"] = Field(default="question_debate", description="debate on labelled questions")
    questions: QuestionSelection = Field(description="the labelled questions")
    debate: QuestionDebate = Field(description="the answerers, rounds and baselines")
    judging: None = _no_judging()


class WeakToStrongExperiment(ExperimentBase):
    """Weak-to-strong: SAMME-weighted weak ensembles and a strong facilitator (EnsemW2S, arXiv 2409.07335)."""

    kind: Literal["weak_to_strong"] = Field(default="weak_to_strong", description="weak-to-strong")
    w2s: WeakToStrong = Field(description="the weak ensemble, the strong model and the splits")
    judging: None = _no_judging()


class OversightExperiment(ExperimentBase):
    """Debate as scalable oversight: agents read a passage the judge cannot; judge accuracy per protocol."""

    kind: Literal["oversight"] = Field(default="oversight", description="debate as scalable oversight")
    questions: QuestionSelection = Field(description="labelled questions with passages")
    judging: None = _no_judging()
    protocols: list[OversightProtocol] = Field(
        default_factory=lambda: ["naive", "expert", "consultancy", "debate"], min_length=1,
        description="the protocols to run on every question")
    debaters: list[Debater] = Field(
        default_factory=lambda: [Debater(model=ModelSpec.parse("smollm2:135m@embedded"))], min_length=1,
        json_schema_extra=one_or_many,
        description="debaters and consultants, TAG[@HOST], a spec or a list; with several, debate runs "
                    "every pairing on both sides (cross-play) and the report rates them")
    judges: list[ModelRef] = Field(
        default_factory=lambda: [ModelSpec.parse("smollm2:135m@embedded")], min_length=1,
        description="the judges who answer without the passage (temperature 0, seed 0 unless a spec "
                    "says otherwise)")
    rounds: int = Field(default=2, ge=1, le=10, description="rounds of argument")
    simultaneous: bool = Field(default=False, description="debaters of a round argue without seeing "
                                                          "each other's turn of that round")
    best_of: int = Field(default=1, ge=1, le=16, description="candidate turns per argument; the one "
                                                             "the preference model rates most persuasive is kept")
    preference_model: ModelRef | None = Field(default=None, description="rates best-of-N candidates in the context "
                                                                         "of the discussion (default: each debater's "
                                                                         "own model, held out from the judges)")
    words: int = Field(default=80, ge=10, le=400, description="words per argument")
    max_attempts: int = Field(default=3, ge=1, le=10, description="attempts per structured call")
    assignments: Literal["both", "one"] = Field(
        default="both", description="both: every question under both assignments (the consultant once on each "
                                    "side); one: each question once, the sides balanced over questions")
    shuffle_options: bool = Field(default=True, description="put the correct answer at A on a seeded half of "
                                                            "the questions (two-option sets included)")
    passage: PassageLimit | None = Field(default=None, description="cut passages longer than max_tokens, visibly "
                                                                   "(default: refuse a passage too long for a model's "
                                                                   "context)")
    beliefs: Literal["final", "every_round"] = Field(
        default="final", description="final: each judge gives its verdict at the end; every_round: it also states "
                                     "its belief (answer and probability) after every round, as the NYU judges did "
                                     "(one more call per judge and round; the report follows the belief round by "
                                     "round)")

    @field_validator("debaters", mode="before")
    @classmethod
    def _debaters_parse(cls, v: Any) -> Any:
        return debaters_parse(v)



Experiment = DebatesExperiment | QuestionDebateExperiment | WeakToStrongExperiment | OversightExperiment
"""An experiment of any built-in kind (a plugin study's model is an `ExperimentBase` too)."""


def repeat_config(config: DebateConfig, repeat: int) -> DebateConfig:
    """Repeat r > 0 shifts every agent's seed, so repeats are different samples, reproducibly."""
    if repeat == 0:
        return config
    data = config.model_dump(exclude_unset=True)
    data.pop("model", None)
    data["agents"] = {}
    for name, agent in config.agents.items():
        model = config.model_for(name)
        base = model.seed if model.seed is not None else 0
        data["agents"][name] = {**agent.model_dump(exclude_unset=True),
                                "model": {**agent.model.model_dump(exclude_unset=True), "seed": base + 1000 * repeat}}
    copy = DebateConfig.model_validate(data)
    copy._source = config._source  # errors about a repeat still name its file
    return copy
