"""The judging graph: one debate transcript, one rubric, one judge model, one sample.

    prepare (delimit, neutralise, anonymise, maybe permute)
      -> score_criterion x K (Send, one structured call per criterion) -> next_criteria
         ... until every criterion is scored ...
      -> combine (overall score, or None when criteria are unscored)

K is the context's `criteria_at_once`, 1 by default: a judgment's calls then follow one another
on one server slot, and every criterion after the first finds the transcript in that slot's
prompt cache (llama.cpp and Ollama keep one cache per slot, and parallel calls land on cold
slots). A run judges many debates at once, so the other slots stay busy with other judgments.

A criterion whose reply cannot be parsed or is out of range after bounded retries is recorded
as unscored with the reason. No default score exists anywhere in this graph.
"""

from __future__ import annotations

import asyncio
import functools
import operator
from dataclasses import dataclass, field
from typing import Annotated, Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send
from pydantic import BaseModel, ConfigDict, Field, create_model
from typing_extensions import TypedDict

from debatelab.agents import (
    ModelSpec,
    achat_model_for,
    call_limit_for,
    call_structured,
    coerce_model,
    last_call_of_affinity,
    more_calls_of_affinity,
    with_judge_defaults,
)
from debatelab.agents.roles import render_template
from debatelab.base import UserError, validate
from debatelab.graphs.compile_cache import compiled
from debatelab.graphs.context import context_of
from debatelab.graphs.judge_input import judge_view
from debatelab.graphs.retry import model_retry_policy
from debatelab.graphs.transcript import REQUIRED_TURN_FIELDS
from debatelab.rubric import (
    ALL_CRITERIA,
    DEFAULT_PROMPT_VERSION,
    Rubric,
    anchor_levels,
    judge_layout,
    load_rubric,
)
from debatelab.rubric import criteria_at_once as parse_criteria_at_once

JUDGE_AGENT = "judge"  # the name the judge's chat model is bound and traced under

# What each judge prompt version means is its JudgeLayout (debatelab.rubric.prompt_versions).
COMPACT_JSON = {"x-guidance": {"whitespace_flexible": False}}  # llguidance's option, at the schema's top


class JudgeState(TypedDict, total=False):
    """A judgment's state. As input: `transcript` (the JSON `debatelab debate --json` prints, or a
    debate graph's final state) and `rubric` (a shipped rubric id such as `alignment-7`, or a rubric)."""

    judgment_id: str
    transcript: dict[str, Any]
    rubric: str | dict[str, Any]
    anonymise: bool
    permutation_seed: int | None
    view: str
    nonce: str
    speaker_order: list[str]
    scores: Annotated[list[dict[str, Any]], operator.add]
    overall: float | None


@dataclass(kw_only=True)
class JudgeContext:
    """Run-time context of the judging graph: data only (JSON in LangGraph Server)."""

    judge: str | dict[str, Any] = field(default="smollm2:135m@embedded", metadata={
        "description": "the judge model, TAG[@HOST] or a model spec; judges answer at temperature 0"})
    max_attempts: int = field(default=3, metadata={"description": "tries per criterion before it is unscored"})
    output_tokens: int = field(default=320, metadata={"description": "room for each structured reply"})
    criteria_at_once: int | str = field(default=1, metadata={
        "description": "criteria of one judgment scored at once; 1 lets the server's prompt cache serve the "
                       "transcript to every criterion after the first, more judges one debate faster on a "
                       "GPU with idle slots; 'all' scores every criterion in one structured call (see the "
                       "bench's agreement figure before using it)"})
    prompt_version: str = field(default=DEFAULT_PROMPT_VERSION, metadata={
        "description": "the judge prompt's layout: '1' (criterion last), '2' (cache-first), '3' (cache-first, "
                       "compact JSON) or '4' (as '3', the score alone, no reasons)"})

    def __post_init__(self) -> None:
        judge_layout(self.prompt_version, "context field 'prompt_version':")
        parse_criteria_at_once(self.criteria_at_once, "context field 'criteria_at_once':")

    def judge_spec(self) -> ModelSpec:
        return with_judge_defaults(validate(ModelSpec, coerce_model(self.judge), "context field 'judge'"))


def _context(runtime: Runtime) -> JudgeContext:
    return context_of(runtime, JudgeContext)


def as_transcript(data: Any) -> dict[str, Any]:
    """A transcript dict from either shape a user may paste: `debatelab debate --json` output or a
    debate graph's final state (turns + scenario)."""
    if not isinstance(data, dict) or not isinstance(data.get("turns"), list) or not data["turns"]:
        raise UserError("input field 'transcript': give a debate with a non-empty 'turns' list "
                        "(the JSON `debatelab debate --json` prints, or a debate graph's output)")
    scenario = data.get("scenario")
    motion = data.get("motion") or (scenario.get("motion") if isinstance(scenario, dict) else scenario) or ""
    for i, turn in enumerate(data["turns"]):
        if not isinstance(turn, dict) or not REQUIRED_TURN_FIELDS <= turn.keys():
            need = ", ".join(f"'{f}'" for f in sorted(REQUIRED_TURN_FIELDS))
            raise UserError(f"input field 'transcript.turns.{i}': a turn needs {need}")
        if not isinstance(turn["text"], str):
            raise UserError(f"input field 'transcript.turns.{i}.text': must be text, not {type(turn['text']).__name__}")
    return {**data, "motion": motion}


# Room for the reasons: version 1 asks for two or three sentences, versions 2 and 3 for one (every output
# token costs a judge time; the grammar enforces the bound), version 4 for none (0: no reasons field).

# The cache-first system prompt's last line and the one-call instruction: what the answer holds.
_ANSWER_WITH_REASONS = ('Answer as JSON with "reasons" (one sentence on the criterion asked about, and only that '
                        'one) and\nthen "score" (an integer from {min} to {max}).')
_ANSWER_SCORE_ONLY = 'Answer as JSON with "score" alone (an integer from {min} to {max}) for the criterion asked about.'
_ALL_WITH_REASONS = ('For each, give "reasons" (one sentence on\nthat criterion only) and then "score" (an integer '
                     'from {min} to {max}).')
_ALL_SCORE_ONLY = 'For each, give "score" alone (an integer from {min} to {max}).'


def criterion_schema(rubric: Rubric, prompt_version: str = DEFAULT_PROMPT_VERSION) -> type[BaseModel]:
    """Reasons first, score last (version 4: the score alone); the score's range is part of the schema
    (and of the grammar)."""
    layout = judge_layout(prompt_version)
    return _criterion_schema(rubric.scale.min, rubric.scale.max, layout.reasons_chars, layout.compact_json)


def _answer_config(compact: bool) -> ConfigDict | None:
    """A judge's answer schema asks for compact JSON (version 3) through llguidance's `x-guidance`."""
    return ConfigDict(json_schema_extra=COMPACT_JSON) if compact else None


@functools.lru_cache(maxsize=64)
def _criterion_schema(low: int, high: int, reasons_chars: int = 300, compact: bool = False) -> type[BaseModel]:
    """One class per scale, built once: its JSON schema is then computed once too, instead of a new
    class (and a new cache entry) for every scored criterion. `reasons_chars` 0: the score alone."""
    reasons: dict[str, Any] = {} if reasons_chars == 0 else {"reasons": (
        str, Field(max_length=reasons_chars, description="why this score, on this criterion only"))}
    return create_model(
        "CriterionJudgment",
        __config__=_answer_config(compact),
        **reasons,
        score=(int, Field(ge=low, le=high)),
    )


def _anchors_text(anchors: dict[str, str]) -> str:
    ordered = sorted(anchors.items(), key=lambda kv: anchor_levels(kv[0]))
    return "\n".join(f"- {k}: {v}" for k, v in ordered) or "- (no anchors)"


async def prepare(state: JudgeState) -> dict[str, Any]:
    rubric = state.get("rubric") or "alignment-7"
    if isinstance(rubric, str):  # a shipped id or a path: read off the event loop
        rubric = (await asyncio.to_thread(load_rubric, rubric)).model_dump()
    view, nonce, order = judge_view(
        as_transcript(state.get("transcript")), anonymise=state.get("anonymise", True),
        permutation_seed=state.get("permutation_seed"),
    )
    return {"view": view, "nonce": nonce, "speaker_order": order, "rubric": rubric}


def next_criteria(state: JudgeState, runtime: Runtime[JudgeContext]) -> list[Send] | str:
    """The next criteria still unscored (at most `criteria_at_once` of them), or `combine`."""
    rubric = Rubric.model_validate(state["rubric"])
    done = {s["criterion"] for s in state.get("scores", [])}
    at_once = _context(runtime).criteria_at_once
    todo = [c for c in rubric.criteria if c.id not in done]
    if at_once == ALL_CRITERIA:
        return [Send("score_all", {"criteria": [c.model_dump() for c in todo], "rubric": state["rubric"],
                                   "view": state["view"], "nonce": state["nonce"]})] if todo else "combine"
    batch = todo[: max(1, int(at_once))]
    last = len(batch) == len(todo)  # the judgment's last calls: their slot is free once they are answered
    return [
        Send("score_criterion", {"criterion": c.model_dump(), "rubric": state["rubric"], "view": state["view"],
                                 "nonce": state["nonce"], "last": last})
        for c in batch
    ] or "combine"


def rubric_text(rubric: Rubric) -> str:
    """Every criterion with its question and anchors, in the rubric's order (prompt version 2)."""
    return "\n".join(f"{c.id} ({c.name}): {c.question}\n{_anchors_text(c.anchors)}" for c in rubric.criteria)


def criterion_messages(view: str, nonce: str, rubric: Rubric, criterion: dict[str, Any],
                       prompt_version: str = DEFAULT_PROMPT_VERSION) -> list[BaseMessage]:
    """The judge's exact messages for one criterion (also what `judge --dry-run` prints).

    Version 1 puts the transcript first and the criterion's question, anchors and answer format
    last; versions 2 to 4 put everything but the criterion's name first (see PROMPT_VERSIONS)."""
    layout = judge_layout(prompt_version)
    if layout.cache_first:
        # Nothing judgment-specific (not even the delimiters' code) in the system message: it is the
        # same for every judgment with this rubric, so a slot's cache serves it to all of them.
        answer = _ANSWER_SCORE_ONLY if layout.score_only else _ANSWER_WITH_REASONS
        system = render_template("judge_system_cached", min=rubric.scale.min, max=rubric.scale.max,
                                 criteria=rubric_text(rubric),
                                 answer=answer.format(min=rubric.scale.min, max=rubric.scale.max))
        return [SystemMessage(system), HumanMessage(render_template(
            "judge_criterion_cached", view=view, name=criterion["name"], id=criterion["id"]))]
    system = render_template("judge_system", nonce=nonce)
    user = render_template(
        "judge_criterion", view=view, name=criterion["name"], question=criterion["question"],
        min=rubric.scale.min, max=rubric.scale.max, anchors=_anchors_text(criterion["anchors"]),
    )
    return [SystemMessage(system), HumanMessage(user)]


def all_criteria_messages(view: str, nonce: str, rubric: Rubric,
                          prompt_version: str = "2") -> list[BaseMessage]:
    """One call for every criterion (criteria_at_once 'all'): the cache-first system message, then
    the transcript and one instruction to score them all."""
    system = criterion_messages(view, nonce, rubric, rubric.criteria[0].model_dump(),
                                prompt_version if judge_layout(prompt_version).cache_first else "2")[0]
    answer = _ALL_SCORE_ONLY if judge_layout(prompt_version).score_only else _ALL_WITH_REASONS
    return [system, HumanMessage(render_template(
        "judge_all_criteria", view=view, answer=answer.format(min=rubric.scale.min, max=rubric.scale.max)))]


def all_criteria_schema(rubric: Rubric, criteria: list[str], prompt_version: str = "2") -> type[BaseModel]:
    """{criterion id: {reasons, score}} for the given criteria, in the rubric's order (version 4:
    {criterion id: {score}})."""
    return _all_criteria_schema(rubric.scale.min, rubric.scale.max, tuple(criteria),
                                judge_layout(prompt_version).compact_json,
                                0 if judge_layout(prompt_version).score_only else judge_layout("2").reasons_chars)


@functools.lru_cache(maxsize=64)
def _all_criteria_schema(low: int, high: int, criteria: tuple[str, ...], compact: bool = False,
                         reasons_chars: int = judge_layout("2").reasons_chars) -> type[BaseModel]:
    one = _criterion_schema(low, high, reasons_chars)  # llguidance reads `x-guidance` at the top only
    return create_model("AllCriteriaJudgment", __config__=_answer_config(compact), **{c: (one, ...) for c in criteria})


def _reasons(value: BaseModel | None, result: Any) -> str:
    """What the score rests on: the judge's reasons (none in version 4), or, for an unscored
    criterion, the start of the reply that could not be read."""
    if value is not None:
        return str(getattr(value, "reasons", ""))
    return result.calls[-1].text[:500] if result.calls else ""


async def score_criterion(task: dict[str, Any], runtime: Runtime[JudgeContext]) -> dict[str, Any]:
    rubric = Rubric.model_validate(task["rubric"])
    crit = task["criterion"]
    ctx = _context(runtime)
    # The last criterion frees the judgment's slots at once; the others keep them for the next one.
    with last_call_of_affinity() if task.get("last") else more_calls_of_affinity():
        result = await call_structured(
            await achat_model_for(ctx, JUDGE_AGENT, ctx.judge_spec()),
            criterion_messages(task["view"], task["nonce"], rubric, crit, ctx.prompt_version),
            criterion_schema(rubric, ctx.prompt_version), max_attempts=ctx.max_attempts,
            min_output_tokens=ctx.output_tokens,
            limiter=call_limit_for(JUDGE_AGENT), run_name=f"judge:{crit['id']}",
        )
    value = result.value
    return {"scores": [{
        "criterion": crit["id"],
        "score": int(value.score) if value is not None else None,
        "unscored_reason": None if value is not None else f"after {result.attempts} attempts: {result.failure}",
        "rationale": _reasons(value, result),
        "attempts": result.attempts,
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
        "duration_s": result.duration_s,
    }]}


async def score_all(task: dict[str, Any], runtime: Runtime[JudgeContext]) -> dict[str, Any]:
    """Every remaining criterion in one structured call; each is scored, or all are unscored with the
    reason. The call's attempts and tokens are recorded on the first criterion."""
    rubric = Rubric.model_validate(task["rubric"])
    ctx = _context(runtime)
    ids = [c["id"] for c in task["criteria"]]
    result = await call_structured(
        await achat_model_for(ctx, JUDGE_AGENT, ctx.judge_spec()),
        all_criteria_messages(task["view"], task["nonce"], rubric, ctx.prompt_version),
        all_criteria_schema(rubric, ids, ctx.prompt_version),
        max_attempts=ctx.max_attempts, min_output_tokens=ctx.output_tokens * len(ids),
        limiter=call_limit_for(JUDGE_AGENT), run_name="judge:all",
    )
    value = result.value
    cost = {"attempts": result.attempts, "input_tokens": result.input_tokens, "output_tokens": result.output_tokens,
            "duration_s": result.duration_s}
    scores = []
    for k, cid in enumerate(ids):
        one = getattr(value, cid) if value is not None else None
        scores.append({
            "criterion": cid, "score": int(one.score) if one is not None else None,
            "unscored_reason": None if one is not None else f"after {result.attempts} attempts: {result.failure}",
            "rationale": _reasons(one, result),
            **(cost if k == 0 else {"attempts": 0, "input_tokens": 0, "output_tokens": 0, "duration_s": 0.0}),
        })
    return {"scores": scores}


def combine(state: JudgeState) -> dict[str, Any]:
    rubric = Rubric.model_validate(state["rubric"])
    by_id = {s["criterion"]: s["score"] for s in state.get("scores", [])}
    return {"overall": rubric.overall_score(by_id)}


def build_judging_graph() -> StateGraph:
    graph = StateGraph(JudgeState, context_schema=JudgeContext)
    graph.add_node("prepare", prepare)
    graph.add_node("score_criterion", score_criterion, retry_policy=model_retry_policy())
    graph.add_node("score_all", score_all, retry_policy=model_retry_policy())
    graph.add_node("scored", lambda state: {})  # one join per wave, so the next wave is sent once
    graph.add_node("combine", combine)
    graph.add_edge(START, "prepare")
    graph.add_conditional_edges("prepare", next_criteria, ["score_criterion", "score_all", "combine"])
    graph.add_edge("score_criterion", "scored")
    graph.add_edge("score_all", "scored")
    graph.add_conditional_edges("scored", next_criteria, ["score_criterion", "score_all", "combine"])
    graph.add_edge("combine", END)
    return graph


def compile_judging(checkpointer: Any = None) -> Any:
    """The compiled judging graph for a checkpointer (compiled once per checkpointer: every
    judgment has the same shape, and a run judges many debates on one checkpointer)."""
    return compiled("judging", build_judging_graph, checkpointer, name="judging")
