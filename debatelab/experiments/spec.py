"""Experiment files: scenarios x configurations x baselines x repeats, plus judging and concurrency.

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

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PrivateAttr,
    ValidationError,
    field_validator,
)
from pydantic_core import CoreSchema

from debatelab.agents import DEFAULT_CONCURRENCY, ModelSpec, coerce_model, concurrency_for
from debatelab.base import (
    UserError,
    load_yaml_model,
    one_model_name,
    one_or_many,
    redact_all,
    resolve_config_file,
    string_or_object_schema,
)
from debatelab.graphs import DEFAULT_PROMPT_VERSION, DebateConfig, build_graph, load_debate_config
from debatelab.judging import with_judge_defaults
from debatelab.rubric import Rubric, load_rubric
from debatelab.scenarios import PairSet, Scenario, load_pair_set, load_scenario_set


class ScenarioSelection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    set: str = Field(default="alignment-v1", description="a shipped scenario set (alignment-v1, paper) or a YAML path")
    ids: list[str] | None = Field(default=None, description="only these scenario ids (default: all)")
    study_only: bool = Field(default=False, description="paper set: only the 15 scenarios the study used")
    limit: int | None = Field(default=None, ge=1, description="only the first N scenarios")


class Overrides(BaseModel):
    """Applied to every configuration of the experiment (rounds; model options of every agent)."""

    model_config = ConfigDict(extra="forbid")

    rounds: int | None = Field(default=None, ge=1, le=20, description="rounds of every configuration")
    num_predict: int | None = Field(default=None, ge=1, description="output tokens per reply, every agent")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0, description="every agent's temperature")
    top_p: float | None = Field(default=None, gt=0.0, le=1.0, description="every agent's top_p")
    num_ctx: int | None = Field(default=None, ge=256, description="every agent's context window (Ollama)")
    verdict_chars: int | None = Field(default=None, ge=40, le=4000, description=(
        "every aggregator's rationale and recommendation, at most this many characters each (default 400); "
        "a structured verdict is never cut by num_predict, so this is what makes it shorter"))


class AuditSpec(BaseModel):
    """Audit every judge on labelled pairs (both orders) as part of the run; see `debatelab audit-judge`."""

    model_config = ConfigDict(extra="forbid")

    set: str = Field(default="factual-summary-pairs", description="built-in pair set or a JSONL path")
    n: int | None = Field(default=20, ge=1, le=100_000, description="items to sample (each judged twice)")
    seed: int = Field(default=0, description="seed of the sample of items")


class Judging(BaseModel):
    """How an experiment's debates are judged. Judges answer at temperature 0, seed 0 unless a
    spec says otherwise, so re-judging the same transcript is reproducible."""

    model_config = ConfigDict(extra="forbid")

    rubric: str = Field(default="alignment-7", description="a shipped rubric (alignment-7, paper-2025) or a YAML path")
    judges: list[ModelSpec] = Field(
        default_factory=lambda: [ModelSpec.parse("smollm2:135m@embedded")], min_length=1,
        description="TAG[@HOST], or a model spec (for options or a `gguf:` file on the embedded endpoint)",
    )
    samples: int = Field(default=1, ge=1, le=20, description="judgments per debate and judge")
    permute: bool = Field(default=True, description="samples after the first shuffle the speaker order")
    max_attempts: int = Field(default=3, ge=1, le=10, description="attempts per criterion before it is unscored")
    strict: bool = Field(default=False, description="refuse a judge of the same model family as a debater (default: warn)")
    audit: AuditSpec | None = Field(default=None, description="audit every judge on labelled pairs as part of the run")
    pairwise: bool = Field(default=False, description="also compare matched debates pairwise, in both orders")
    against: Literal["baseline", "all"] = Field(default="baseline", description="pairwise: matched baselines or all")
    prompt_version: Literal["1", "2", "3", "4"] = Field(
        default=DEFAULT_PROMPT_VERSION, description="the judge prompt's layout: '1' criterion last, '2' cache-first "
                                                    "(rubric and transcript first, the criterion's name last), '3' "
                                                    "as '2' with the answer asked for as compact JSON, '4' as '3' "
                                                    "with the score alone (no reasons)")
    criteria_at_once: int | Literal["all"] = Field(
        default=1, description="criteria of a judgment scored at once (1 reuses the prompt cache); 'all' scores "
                               "every criterion in one call (see the bench's agreement figure first)")

    @field_validator("criteria_at_once")
    @classmethod
    def _at_least_one(cls, v: int | str) -> int | str:
        if isinstance(v, int) and v < 1:
            raise ValueError("must be at least 1, or 'all'")
        return v

    @field_validator("judges", mode="before")
    @classmethod
    def _judges_parse(cls, judges: Any) -> Any:
        """Check every TAG[@HOST] now, so a bad tag fails at load, not halfway through a run."""
        return [coerce_model(j) for j in judges] if isinstance(judges, list) else judges

    def judge_specs(self) -> list[ModelSpec]:
        return [with_judge_defaults(spec) for spec in self.judges]


class StanceSpec(BaseModel):
    """Stance over a debate: after the debates, a (cheap) reader model records every argued turn's
    position on the motion and whether it conceded a point; the report gives concession, position
    change and convergence rates per configuration. Answers at temperature 0, seed 0 unless the spec
    says otherwise."""

    model_config = ConfigDict(extra="forbid")

    model: ModelSpec = Field(
        default_factory=lambda: ModelSpec.parse("smollm2:135m@embedded"),
        description="the reader, TAG[@HOST] or a model spec (a judge-like model; it sees the debate as a judge does)")
    max_attempts: int = Field(default=3, ge=1, le=10, description="attempts per turn before it is unread")

    @field_validator("model", mode="before")
    @classmethod
    def _model_parse(cls, v: Any) -> Any:
        return coerce_model(v)

    def reader_spec(self) -> ModelSpec:
        return with_judge_defaults(self.model)


class QuestionSplit(BaseModel):
    """Where a split's questions come from: a built-in set (openbookqa, mmlu) or a JSONL/YAML path."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="a shipped set (openbookqa, mmlu, boolq, logiqa) or a JSONL/YAML path")
    limit: int | None = Field(default=None, ge=1, description="only the first N questions")
    difficulty: str | None = Field(default=None, description="only questions of this difficulty label")


class WeakToStrong(BaseModel):
    """A `kind: questions` experiment: weak agents (a `weighted` configuration) and a strong model."""

    model_config = ConfigDict(extra="forbid")

    ensemble: str = Field(description="a configuration with topology 'weighted' whose answerers are the weak agents")
    strong: ModelSpec = Field(description="the strong model (facilitator), TAG[@HOST] or a spec")

    @field_validator("strong", mode="before")
    @classmethod
    def _strong_parse(cls, v: Any) -> Any:
        """`TAG[@HOST]` answers deterministically (temperature 0, seed 0); a spec says for itself."""
        return {**coerce_model(v), "temperature": 0.0, "seed": 0} if isinstance(v, str) else v
    calibration: QuestionSplit = Field(description="labelled split the weights are fitted on (the easy set)")
    evaluation: QuestionSplit = Field(description="split every method is evaluated on (the hard set)")
    seed: int = Field(default=0, description="seed of the debate variant's option order and of sampling")
    self_consistency_temperature: float = Field(default=0.8, ge=0.0, le=2.0,
        description="temperature of the equal-budget self-consistency baseline")
    facilitate: list[str] | None = Field(default=None, description="weak agents to facilitate (default: all)")
    debate_variant: bool = Field(default=True, description="also run the variant where the strong model argues both sides")
    max_attempts: int = Field(default=3, ge=1, le=10, description="attempts per structured call before unanswered")
    top_logprobs: int = Field(default=10, ge=0, le=20, description=(
        "alternatives per token to ask for, to read each weak answer's option probabilities "
        "(EnsemW2S's probability-weighted vote); 0 = letters only"))


class QuestionSelection(BaseModel):
    """Which labelled questions: a shipped set (openbookqa, mmlu, boolq, logiqa) or a JSONL/YAML path,
    `n` of them drawn with `seed` (all when n is not given)."""

    model_config = ConfigDict(extra="forbid")

    set: str = Field(description="a shipped question set or a JSONL/YAML file")
    n: int | None = Field(default=None, ge=1, le=100_000, description="questions to draw (default: all)")
    seed: int = Field(default=0, description="seed of the sample of questions")


class QuestionDebate(BaseModel):
    """A `kind: questions` experiment of debate on labelled questions (Du et al.): the answerers of a
    configuration answer alone, then for `rounds` rounds read each other and answer again; a vote of
    their first answers, self-consistency at the debate's token budget and chain of thought run as
    baselines on the same questions."""

    model_config = ConfigDict(extra="forbid")

    agents: str = Field(description="a configuration whose answerers debate (models and personas may differ)")
    rounds: int = Field(default=2, ge=1, le=10, description="rounds of debate after the first answers")
    self_consistency_temperature: float = Field(default=0.8, ge=0.0, le=2.0,
        description="temperature of the equal-budget self-consistency baseline")
    baseline_agent: str | None = Field(default=None, description="the agent of the single-model baselines "
                                                                 "(default: the most accurate at round 0)")
    probe: bool = Field(default=False, description="also run every debate with a peer that states a wrong answer "
                                                   "with confidence from round 1 (a conformity probe)")
    max_attempts: int = Field(default=3, ge=1, le=10, description="attempts per structured call before unanswered")


OVERSIGHT_PROTOCOLS = ("naive", "expert", "consultancy", "debate", "interactive_debate", "open_consultancy",
                       "open_debate")
OversightProtocol = Literal["naive", "expert", "consultancy", "debate", "interactive_debate", "open_consultancy",
                            "open_debate"]


class Debater(BaseModel):
    """A debater (or consultant) of an oversight experiment: a model, optionally made stronger by
    best-of-N (N candidate turns, the most persuasive kept), under a name for its ratings."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        """Editors' schema: a debater is also written as its model, TAG[@HOST]."""
        return string_or_object_schema(core_schema, handler, "the debater's model, TAG[@HOST]")

    model: ModelSpec = Field(description="TAG[@HOST] or a model spec")
    best_of: int | None = Field(default=None, ge=1, le=16, description="candidates per turn (default: the "
                                                                       "experiment's best_of)")
    name: str | None = Field(default=None, description="the name in ratings (default: the model's tag, with "
                                                       "'bestN' when N > 1)")

    @field_validator("model", mode="before")
    @classmethod
    def _model_parse(cls, v: Any) -> Any:
        return coerce_model(v)


def _debaters_parse(v: Any) -> Any:
    items = v if isinstance(v, list) else [v]
    return [{"model": x} if isinstance(x, str) or (isinstance(x, dict) and "model" not in x) else x for x in items]


class Experiment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="the experiment's name in the store (letters, digits, _ . -)")
    description: str = Field(default="", description="one line for people")
    kind: Literal["debates", "questions", "oversight"] = Field(default="debates",
        description="debates (rubric-judged debates), questions (labelled questions: w2s or debate) or oversight")
    scenarios: ScenarioSelection = Field(default_factory=ScenarioSelection, description="debates: which scenarios")
    configurations: list[str] = Field(default_factory=list, description="ensemble configuration files")
    baselines: list[str] = Field(default_factory=list, description="single-model baseline configuration files")
    repeats: int = Field(default=1, ge=1, le=100,
        description="debates per scenario and configuration (each shifts every seed)")
    overrides: Overrides = Field(default_factory=Overrides, description="applied to every configuration")
    judging: Judging | None = Field(default_factory=Judging, description="how debates are judged; null for none")
    stance: StanceSpec | None = Field(default=None, description="debates: record every argued turn's position and "
                                                                "concessions (stance over a debate); null for none")
    one_model: ModelSpec | None = Field(
        default=None,
        description="debates: a compute-matched baseline for every ensemble configuration: the same protocol "
                    "(agents, roles, rounds, sampling, token limits) with every agent on this one model, TAG[@HOST] "
                    "or a spec; the report compares each ensemble with its copy; null for none")
    w2s: WeakToStrong | None = Field(default=None, description="kind questions: weak-to-strong")
    questions: QuestionSelection | None = Field(default=None, description="labelled questions (kind questions "
                                                                          "with `debate`, kind oversight)")
    debate: QuestionDebate | None = Field(default=None, description="kind questions: debate on labelled questions")
    # kind: oversight (debate as scalable oversight)
    protocols: list[OversightProtocol] = Field(
        default_factory=lambda: ["naive", "expert", "consultancy", "debate"], min_length=1,
        description="oversight: the protocols to run on every question")
    debaters: list[Debater] = Field(
        default_factory=lambda: [Debater(model=ModelSpec.parse("smollm2:135m@embedded"))], min_length=1,
        json_schema_extra=one_or_many,
        description="oversight: debaters and consultants, TAG[@HOST], a spec or a list; with several, debate runs "
                    "every pairing on both sides (cross-play) and the report rates them")
    judges: list[ModelSpec] = Field(
        default_factory=lambda: [ModelSpec.parse("smollm2:135m@embedded")], min_length=1,
        description="oversight: the judges who answer without the passage (temperature 0, seed 0 unless a spec "
                    "says otherwise)")
    rounds: int = Field(default=2, ge=1, le=10, description="oversight: rounds of argument")
    simultaneous: bool = Field(default=False, description="oversight: debaters of a round argue without seeing "
                                                          "each other's turn of that round")
    best_of: int = Field(default=1, ge=1, le=16, description="oversight: candidate turns per argument; the one "
                                                             "the preference model rates most persuasive is kept")
    preference_model: ModelSpec | None = Field(default=None, description="oversight: rates best-of-N candidates "
                                                                         "(default: the first judge's model)")
    words: int = Field(default=80, ge=10, le=400, description="oversight: words per argument")
    max_attempts: int = Field(default=3, ge=1, le=10, description="oversight: attempts per structured call")
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

    @field_validator("debaters", mode="before")
    @classmethod
    def _debaters_parse(cls, v: Any) -> Any:
        return _debaters_parse(v)

    @field_validator("judges", "preference_model", "one_model", mode="before")
    @classmethod
    def _specs_parse(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [coerce_model(x) for x in v]
        return coerce_model(v) if v is not None else v

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

    def _in_field(self, field: str, error: UserError) -> UserError:
        return UserError(f"{self._source or self.name}: field '{field}': {error}")

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


def load_experiment(ref: str | Path) -> Experiment:
    """Load an experiment by path or built-in name (`experiments/demo`)."""
    path = resolve_config_file(ref, what="experiment")
    exp = load_yaml_model(Experiment, path)
    exp._source = path
    if exp.kind == "questions" and (exp.w2s is None) == (exp.debate is None):
        raise UserError(f"{path}: field 'w2s': a 'kind: questions' experiment needs exactly one of a 'w2s' section "
                        f"(weak-to-strong) or a 'debate' section (debate on labelled questions)")
    if exp.kind == "oversight" and exp.questions is None:
        raise UserError(f"{path}: field 'questions': an oversight experiment needs its questions, e.g. "
                        f"questions: {{set: boolq, n: 40, seed: 0}} (a shipped set or a JSONL file)")
    oversight_fields = {"protocols", "debaters", "judges", "rounds", "simultaneous", "best_of", "preference_model",
                        "words", "max_attempts"} & exp.model_fields_set
    if exp.kind != "oversight" and oversight_fields:
        raise UserError(f"{path}: field '{sorted(oversight_fields)[0]}': only an experiment of kind 'oversight' "
                        f"takes it (add kind: oversight, or move judges under 'judging')")
    if exp.kind != "debates" and exp.one_model is not None:
        raise UserError(f"{path}: field 'one_model': only an experiment of kind 'debates' takes it (it copies "
                        "the ensemble configurations of rubric debates)")
    if exp.kind != "debates" and exp.stance is not None:
        raise UserError(f"{path}: field 'stance': only an experiment of kind 'debates' takes it (stance is read "
                        f"from rubric debates' turns)")
    if exp.debate is not None and exp.questions is None:
        raise UserError(f"{path}: field 'questions': a debate on questions needs its questions, e.g. "
                        f"questions: {{set: openbookqa, n: 20, seed: 0}}")
    for name, limit in exp.concurrency.items():
        if limit < 1:
            raise UserError(f"{path}: field 'concurrency.{name}': must be at least 1")
    for name, limit in exp.max_loaded.items():
        if limit < 1:
            raise UserError(f"{path}: field 'max_loaded.{name}': must be at least 1")
    for tag, hosts in exp.pools.items():
        try:
            ModelSpec(model=tag, hosts=tuple(hosts))
        except ValidationError as exc:
            raise UserError(f"{path}: field 'pools.{tag}': {exc.errors()[0]['msg']} (give a list of URLs like "
                            f"http://gpu-a:11434, or 'embedded')") from None
    return exp


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
