"""The sections of an experiment file that travel inside one study's spec: which scenarios or
questions, how debates are judged, the weak-to-strong and question-debate sections, oversight's
debaters. Each experiment kind (`debatelab.experiments.spec`) composes the ones it takes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import CoreSchema

from debatelab.agents import JUDGE_DEFAULTS, ModelRef, ModelSpec, coerce_model, with_judge_defaults
from debatelab.base import UserError, sha256_of, string_or_object_schema
from debatelab.graphs import builtin_protocol_names, protocol_named
from debatelab.rubric import DEFAULT_PROMPT_VERSION, PROMPT_VERSIONS, criteria_at_once
from debatelab.scenarios import Question, load_questions, sample_questions, set_provenance


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
    judges: list[ModelRef] = Field(
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
    prompt_version: Literal[PROMPT_VERSIONS] = Field(  # type: ignore[valid-type]
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
        try:
            return criteria_at_once(v, "")
        except UserError as exc:
            raise ValueError(str(exc).strip()) from None

    def judge_specs(self) -> list[ModelSpec]:
        return [with_judge_defaults(spec) for spec in self.judges]


class StanceSpec(BaseModel):
    """Stance over a debate: after the debates, a (cheap) reader model records every argued turn's
    position on the motion and whether it conceded a point; the report gives concession, position
    change and convergence rates per configuration. Answers at temperature 0, seed 0 unless the spec
    says otherwise."""

    model_config = ConfigDict(extra="forbid")

    model: ModelRef = Field(
        default_factory=lambda: ModelSpec.parse("smollm2:135m@embedded"),
        description="the reader, TAG[@HOST] or a model spec (a judge-like model; it sees the debate as a judge does)")
    max_attempts: int = Field(default=3, ge=1, le=10, description="attempts per turn before it is unread")

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
        return {**coerce_model(v), **JUDGE_DEFAULTS} if isinstance(v, str) else v
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

    set: str = Field(description="a shipped question set, a JSONL/YAML file, 'quality' (with 'path': a "
                                 "QuALITY release file) or 'michael2023' (with 'path': the NYU release's pub/ folder)")
    n: int | None = Field(default=None, ge=1, le=100_000, description="questions to draw (default: all)")
    seed: int = Field(default=0, description="seed of the sample of questions")
    path: str | None = Field(default=None, description="set: quality: the QuALITY release file (.jsonl, or a "
                                                       "folder holding QuALITY.v1.0.1.htmlstripped.SPLIT)")
    split: str = Field(default="dev", description="set: quality with a folder path: which split's file")
    hard: bool = Field(default=False, description="set: quality: only questions marked difficult (the HARD subset)")
    options: Literal[2, 4] = Field(default=2, description="set: quality: 2 (the gold answer and the annotators' "
                                                          "best distractor, as Khan et al.) or all 4")
    untimed_accuracy: bool = Field(default=False, description="set: quality: only questions every untimed "
                                                              "annotator answered correctly (Khan et al.)")
    answerable: bool = Field(default=False, description="set: quality: only questions no annotator found "
                                                        "unanswerable")
    context_required: float | None = Field(default=None, ge=1, le=4, description="set: quality: the annotators' "
                                           "mean context rating at least this (Khan et al.: 1.5)")
    per_story: int | None = Field(default=None, ge=1, description="set: quality: at most this many questions per "
                                                                  "story (Khan et al.: 5)")

    @model_validator(mode="after")
    def _quality_needs_a_path(self) -> QuestionSelection:
        if self.set == "quality" and not self.path:
            raise ValueError("set: quality needs 'path': the QuALITY release file you downloaded "
                             "(`debatelab data fetch quality`)")
        if self.set == "michael2023" and not self.path:
            raise ValueError("set: michael2023 needs 'path': the released pub/ folder (`debatelab data fetch "
                             "michael2023`); the shipped metadata holds no story text")
        return self

    def load(self) -> list[Question]:
        """The selected questions, `n` of them drawn with `seed`."""
        if self.set == "quality":
            from debatelab.scenarios import QualityFilters, quality_file, read_quality

            filters = QualityFilters(hard=self.hard, untimed_accuracy=self.untimed_accuracy,
                                     answerable=self.answerable, context_required=self.context_required,
                                     per_story=self.per_story, options=self.options)
            questions = read_quality(quality_file(Path(self.path or ""), self.split), filters, self.seed)
        elif self.set == "michael2023":
            from debatelab.scenarios import release_questions

            questions = release_questions(Path(self.path or ""))
        else:
            questions = load_questions(self.set)
        return sample_questions(questions, self.n, self.seed)

    def provenance(self) -> dict[str, str]:
        """Where the questions came from and under which licence (a user's QuALITY file: its sha256)."""
        if self.set == "quality":
            from debatelab.scenarios import QUALITY_LICENCE, QUALITY_SOURCE, quality_file

            file = quality_file(Path(self.path or ""), self.split)
            return {"source": QUALITY_SOURCE, "license": QUALITY_LICENCE, "file": str(file),
                    "sha256": sha256_of(file)}
        if self.set == "michael2023":
            from debatelab.scenarios import MICHAEL2023_PROVENANCE

            return {"source": MICHAEL2023_PROVENANCE["citation"], "license": MICHAEL2023_PROVENANCE["licence"],
                    "repository": MICHAEL2023_PROVENANCE["repository"], "commit": MICHAEL2023_PROVENANCE["commit"],
                    "path": str(self.path)}
        return set_provenance(self.set)


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
    baseline_agent: str | None = Field(default=None, description="the agent of the single-model baselines, "
                                                                 "fixed in advance (default: the first answerer)")
    self_consistency_extra: int = Field(default=0, ge=0, le=64,
        description="samples beyond the debate's token budget, for the self-consistency curve (accuracy against "
                    "k) past equal compute; the equal-compute baseline uses the budget's samples only")
    probe: bool = Field(default=False, description="also run every debate with a peer that states a wrong answer "
                                                   "with confidence from round 1 (a conformity probe)")
    max_attempts: int = Field(default=3, ge=1, le=10, description="attempts per structured call before unanswered")


def _known_protocol(name: str) -> str:
    """A registered oversight protocol (`debatelab.graphs.protocol`, plugins included)."""
    try:
        protocol_named(name)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    return name


OversightProtocol = Annotated[str, AfterValidator(_known_protocol),
                              WithJsonSchema({"type": "string", "examples": builtin_protocol_names()})]


class PassageLimit(BaseModel):
    """Cut long passages to fit a model's context, visibly (the reader is told, the report says how much)."""

    model_config = ConfigDict(extra="forbid")

    max_tokens: int = Field(ge=200, le=1_000_000, description="passages longer than this (estimated tokens) are "
                                                              "cut at a paragraph or sentence boundary")


class Debater(BaseModel):
    """A debater (or consultant) of an oversight experiment: a model, optionally made stronger by
    best-of-N (N candidate turns, the most persuasive kept), under a name for its ratings."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        """Editors' schema: a debater is also written as its model, TAG[@HOST]."""
        return string_or_object_schema(core_schema, handler, "the debater's model, TAG[@HOST]")

    model: ModelRef = Field(description="TAG[@HOST] or a model spec")
    best_of: int | None = Field(default=None, ge=1, le=16, description="candidates per turn (default: the "
                                                                       "experiment's best_of)")
    name: str | None = Field(default=None, description="the name in ratings (default: the model's tag, with "
                                                       "'bestN' when N > 1)")


DEBATER_FIELDS = ("model", "best_of", "name")


def debaters_parse(v: Any) -> Any:
    """A debater written as its model (TAG[@HOST], or the long form {model: X, provider: openai,
    base_url: ...} the docs show) is the same as {model: ...}; best_of and name stay the debater's."""
    items = v if isinstance(v, list) else [v]
    out = []
    for x in items:
        if isinstance(x, str) or (isinstance(x, dict) and "model" not in x):
            x = {"model": x}
        elif isinstance(x, dict) and set(x) - set(DEBATER_FIELDS):  # the model's own fields, written inline
            x = {**{k: x[k] for k in ("best_of", "name") if k in x},
                 "model": {k: value for k, value in x.items() if k not in ("best_of", "name")}}
        out.append(x)
    return out

