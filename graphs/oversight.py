"""Debate as scalable oversight: one labelled question argued before a judge who cannot read its
passage (Khan et al. 2024; Kenton et al. 2024; Michael et al. 2023).

Protocols (each compiled by `build_oversight_graph(protocol)`, listed in langgraph.json):

    naive               the judge answers from the question alone (no passage, no arguments)
    expert              the judge answers with the passage (the ceiling)
    consultancy         one consultant argues an assigned answer (right on half the questions)
    debate              two debaters argue opposite assigned answers; sequential or simultaneous
    interactive_debate  debate in which the judge asks a question after each round but the last
    open_consultancy    the consultant first chooses the answer it will defend
    open_debate         debater 1 chooses its answer, debater 2 argues the other one

The graph is a loop around one router (`step`): it chooses what is missing next (the open
protocols' choice, the next speakers of the earliest unfinished round, the judge's question, the
verdicts of every judge not yet heard) and sends it to a worker node, whose result comes back to
`step`. Checkpointed per trial, a killed run resumes where it stopped without repeating a
finished call; adding a judge to a finished trial runs only the new verdict.

What the judge reads: the question and its options, then (by protocol) nothing, the passage, or
the transcript. Turns are neutralised like every transcript a judge sees, fenced by delimiters
carrying a nonce made from their content, and every `<quote>` is marked verified or unverified
against the passage (`debatelab.graphs.quotes`).
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send
from typing_extensions import TypedDict

from debatelab.agents import CallRecord, ModelSpec, achat_model_for, affinity, call_limit_for, coerce_model
from debatelab.agents.roles import answer_question, argue, ask, best_candidate, persuasiveness
from debatelab.graphs.best_of import checkpointed_call as _checkpointed_call
from debatelab.graphs.best_of import checkpointed_score as _checkpointed_score
from debatelab.graphs.context import context_of
from debatelab.graphs.judge_input import neutralise
from debatelab.graphs.oversight_view import (
    judge_evidence,
    judge_rules,
    judge_setup,
    rendered_question,
    shown_passage,
    side_letters,
    speaker_name,
    story_affinity,
    transcript_text,
    verdict_on,
)
from debatelab.graphs.protocols import protocol_named
from debatelab.graphs.quotes import mark_quotes
from debatelab.graphs.retry import model_retry_policy
from debatelab.scenarios import Question

SETTINGS = {
    "consultancy": "a consultancy: you alone argue before the judge",
    "debate": "a debate against another debater who argues for the other answer",
}
JUDGE_PREFIX = "judge_"


class OversightState(TypedDict, total=False):
    """As input: `question` (a Question with its passage, reduced to two options), `protocol`,
    `sides` (who argues what, see `sides_for`), `rounds`, `simultaneous`, `judges` (agent names whose
    verdicts the trial needs), `every_round` (each judge also states its belief after every round
    but the last, as the NYU judges did). Collected: `turns`, `verdicts` and `beliefs`."""

    question: dict[str, Any]
    protocol: str
    sides: list[dict[str, Any]]
    rounds: int
    simultaneous: bool
    judges: list[str]
    turns: Annotated[list[dict[str, Any]], operator.add]
    verdicts: Annotated[list[dict[str, Any]], operator.add]
    every_round: bool
    beliefs: Annotated[list[dict[str, Any]], operator.add]


@dataclass(kw_only=True)
class OversightContext:
    """Run-time context, data only: every agent's model (`debater_1`, `debater_2`, `consultant`,
    `judge_1`, ..., optionally `preference`, the best-of-N rater; default the speaker's own model) as
    TAG@HOST or a spec, `best_of` per agent, the words an argument may take, and the structured
    calls' attempts. An agent without a model uses `default_model`."""

    models: dict[str, Any] = field(default_factory=dict)
    default_model: str = "smollm2:135m@embedded"
    best_of: dict[str, int] = field(default_factory=dict)
    words: int = 80
    max_attempts: int = 3

    def spec(self, agent: str) -> ModelSpec:
        """The agent's model: from `models`, else `default_model` (a Studio run needs no context)."""
        value = self.models.get(agent) or self.default_model
        return value if isinstance(value, ModelSpec) else ModelSpec.model_validate(coerce_model(value))


def _context(runtime: Runtime[OversightContext]) -> OversightContext:
    return context_of(runtime, OversightContext)


def judge_agent(index: int) -> str:
    """The agent name of the experiment's `index`-th judge (0-based): judge_1, judge_2, ..."""
    return f"{JUDGE_PREFIX}{index + 1}"


def sides_for(protocol: str, correct: str, incorrect: str, *, correct_first: bool) -> list[dict[str, Any]]:
    """Who argues what. Consultancy: the consultant argues the correct answer when `correct_first`,
    else the incorrect one. Debate: debater 1 (who speaks first) argues the correct answer when
    `correct_first`. Open protocols: the consultant (debater 1) chooses; the assigned letter stands
    in only when its choice cannot be read (`fallback`), and debater 2 argues the other answer."""
    first, second = (correct, incorrect) if correct_first else (incorrect, correct)
    p = protocol_named(protocol)
    if p.speakers == 1:
        side = {"position": "consultant", "agent": "consultant", "letter": first}
        return [{**side, "letter": None, "chooses": True, "fallback": first} if p.chooses else side]
    if p.speakers == 2:
        one = {"position": "1", "agent": "debater_1", "letter": first}
        two = {"position": "2", "agent": "debater_2", "letter": second}
        if p.chooses:
            one = {**one, "letter": None, "chooses": True, "fallback": first}
            two = {**two, "letter": None, "opposes": True}
        return [one, two]
    return []


# -- nodes ------------------------------------------------------------------------------------------
Node = Callable[[dict[str, Any], Runtime[OversightContext]], Awaitable[dict[str, Any]]]


async def choose(task: dict[str, Any], runtime: Runtime[OversightContext]) -> dict[str, Any]:
    """An open protocol's agent reads the passage and chooses the answer it will defend."""
    ctx = _context(runtime)
    side = next(s for s in task["sides"] if s.get("chooses"))
    question = Question.model_validate(task["question"])
    rec = await answer_question(await achat_model_for(ctx, side["agent"], ctx.spec(side["agent"])), question,
                                context=f"Passage:\n{question.passage}\n", limiter=call_limit_for(side["agent"]),
                                max_attempts=ctx.max_attempts, run_name=f"{side['agent']}:choice")
    return {"turns": [{"kind": "choice", "round": 0, "position": side["position"], "agent": side["agent"],
                       "letter": rec.letter, "text": rec.reason, "shown": "", "quotes": 0, "verified": 0,
                       "candidates": 1, "preference_scores": [], "unanswered_reason": rec.unanswered_reason,
                       "input_tokens": rec.input_tokens, "output_tokens": rec.output_tokens,
                       "duration_s": rec.duration_s, "calls": rec.calls}]}


async def speak(task: dict[str, Any], runtime: Runtime[OversightContext]) -> dict[str, Any]:
    """One argument of one side in one round; best-of-N samples N and keeps the most persuasive."""
    ctx = _context(runtime)
    index, round_no = task["side"], task["round"]
    side = task["sides"][index]
    letter = side_letters(task)[index]
    assert letter is not None
    q = task["question"]
    option = q["options"][ord(letter) - ord("A")]
    agent = side["agent"]
    spec = ctx.spec(agent)
    consult = protocol_named(task["protocol"]).speakers == 1
    seen = transcript_text(task, before_round=round_no, upto_side=None if task.get("simultaneous") else index)
    common = {"passage": shown_passage(q["passage"]), "question": rendered_question(q), "letter": letter, "option": option,
              "speaker": speaker_name(side).lower() if consult else speaker_name(side),
              "setting": SETTINGS["consultancy" if consult else "debate"],
              "stance": "" if side.get("letter") or side.get("chooses") else " You were given this answer to defend.",
              "transcript": seen, "round_no": round_no, "rounds": task["rounds"], "words": ctx.words,
              "limiter": call_limit_for(agent)}
    n = max(1, ctx.best_of.get(agent, 1))
    records, candidates = [], []
    for k in range(n):
        model_spec = spec if k == 0 else spec.with_options(seed=(spec.seed or 0) + 7919 * k)
        model = await achat_model_for(ctx, agent, model_spec)

        async def one_argument(model: Any = model) -> CallRecord:
            with affinity(story_affinity(q["passage"])) if q["passage"].strip() else contextlib.nullcontext():
                return await argue(model, run_name=f"{agent}:round{round_no}", **common)

        # Best-of-N: each candidate is a LangGraph task, checkpointed as it finishes, so a run
        # killed mid-way resumes with the candidates it had (only the missing ones are drawn).
        rec = await _checkpointed_call(one_argument) if n > 1 else await one_argument()
        records.append(rec)
        candidates.append(rec.text.strip())
    scores: list[int | None] = []
    if n > 1:
        rater_agent = "preference" if "preference" in ctx.models else agent
        rater = await achat_model_for(ctx, rater_agent, ctx.spec(rater_agent))
        for text in candidates:
            rated = await _checkpointed_score(lambda text=text: persuasiveness(
                rater, question=rendered_question(q), letter=letter, option=option, argument=neutralise(text),
                discussion=seen, limiter=call_limit_for(rater_agent)))
            scores.append(rated["score"])
            records.extend(CallRecord(**c) for c in rated["calls"])
    kept = candidates[best_candidate(scores, f"{q.get('id')}|{agent}|{round_no}")] if n > 1 else candidates[0]
    check = mark_quotes(neutralise(kept), q["passage"])
    return {"turns": [{
        "kind": "argument", "round": round_no, "position": side["position"], "agent": agent, "letter": letter,
        "text": kept, "shown": check.text, "quotes": check.quotes, "verified": check.verified, "candidates": n,
        "preference_scores": scores, "unanswered_reason": None,
        "input_tokens": sum(r.input_tokens for r in records), "output_tokens": sum(r.output_tokens for r in records),
        "duration_s": round(sum(r.duration_s for r in records), 4), "calls": len(records)}]}


def _whom(protocol: str) -> str:
    return "the consultant" if protocol_named(protocol).speakers == 1 else "the debaters"


async def ask_question(task: dict[str, Any], runtime: Runtime[OversightContext]) -> dict[str, Any]:
    """Interactive protocols: the trial's judge asks one question after round `round`."""
    ctx = _context(runtime)
    agent = task["judges"][0]
    protocol = task["protocol"]
    passage = task["question"].get("passage") or ""
    rec = await ask(await achat_model_for(ctx, agent, ctx.spec(agent)), setup=judge_setup(protocol, passage),
                    rules=judge_rules(protocol, passage), question=rendered_question(task["question"]),
                    evidence=judge_evidence(task), whom=_whom(protocol), limiter=call_limit_for(agent),
                    run_name=f"{agent}:question")
    text = rec.text.strip()
    return {"turns": [{
        "kind": "question", "round": task["round"], "position": "judge", "agent": agent, "letter": None,
        "text": text, "shown": neutralise(text), "quotes": 0, "verified": 0, "candidates": 1,
        "preference_scores": [], "unanswered_reason": None if text else "the judge asked nothing",
        "input_tokens": rec.input_tokens, "output_tokens": rec.output_tokens, "duration_s": rec.duration_s,
        "calls": 1}]}


async def _judge_answers(task: dict[str, Any], runtime: Runtime[OversightContext], state: dict[str, Any],
                         run_name: str) -> dict[str, Any]:
    """The task's judge reads `state` (its protocol's view) and answers: letter, probability,
    reasons and cost; unreadable -> unanswered."""
    ctx = _context(runtime)
    agent = task["judge"]
    v = await verdict_on(await achat_model_for(ctx, agent, ctx.spec(agent)), state, limiter=call_limit_for(agent),
                         max_attempts=ctx.max_attempts, run_name=run_name)
    return {"judge": agent, "letter": v.letter, "probability": v.probability, "reasons": v.reasons,
            "unanswered_reason": v.unanswered_reason, "input_tokens": v.input_tokens,
            "output_tokens": v.output_tokens, "duration_s": v.duration_s, "calls": v.calls}


async def verdict(task: dict[str, Any], runtime: Runtime[OversightContext]) -> dict[str, Any]:
    """One judge's verdict on the whole trial."""
    return {"verdicts": [await _judge_answers(task, runtime, task, f"{task['judge']}:verdict")]}


async def belief(task: dict[str, Any], runtime: Runtime[OversightContext]) -> dict[str, Any]:
    """A judge's belief after round `round`, read from the transcript up to that round only (so a
    belief added to a finished trial is what the judge would have said then)."""
    round_no = task["round"]
    seen = {**task, "turns": [t for t in task.get("turns", []) if t["round"] <= round_no]}
    answer = await _judge_answers(task, runtime, seen, f"{task['judge']}:belief after round {round_no}")
    return {"beliefs": [{**answer, "round": round_no}]}


# -- routing ----------------------------------------------------------------------------------------
def _spoke(turns: list[dict[str, Any]], round_no: int, position: str) -> bool:
    return any(t["kind"] == "argument" and t["round"] == round_no and t["position"] == position for t in turns)


def _asked(turns: list[dict[str, Any]], round_no: int) -> bool:
    return any(t["kind"] == "question" and t["round"] == round_no for t in turns)


def next_tasks(state: OversightState) -> list[Send] | str:
    """What is missing next, in protocol order; END when every judge has answered."""
    base = dict(state)
    turns, sides = state.get("turns", []), state.get("sides", [])
    if any(s.get("chooses") for s in sides) and not any(t["kind"] == "choice" for t in turns):
        return [Send("choose", base)]
    rounds = state.get("rounds", 0) if sides else 0
    for r in range(1, rounds + 1):
        missing = [i for i, s in enumerate(sides) if not _spoke(turns, r, s["position"])]
        if missing:
            todo = missing if state.get("simultaneous") else missing[:1]
            return [Send("speak", {**base, "side": i, "round": r}) for i in todo]
        if protocol_named(state["protocol"]).interactive and r < rounds and not _asked(turns, r):
            return [Send("ask", {**base, "round": r})]
        if state.get("every_round") and r < rounds:
            stated = {b["judge"] for b in state.get("beliefs", []) if b["round"] == r}
            todo_beliefs = [j for j in state.get("judges", []) if j not in stated]
            if todo_beliefs:
                return [Send("believe", {**base, "judge": j, "round": r}) for j in todo_beliefs]
    heard = {v["judge"] for v in state.get("verdicts", [])}
    pending = [j for j in state.get("judges", []) if j not in heard]
    return [Send("decide", {**base, "judge": j}) for j in pending] or END


def build_oversight_graph(protocol: str) -> StateGraph:
    """The graph of one protocol (the protocol is also checked against the input's)."""
    p = protocol_named(protocol)  # an unknown name is a ValueError naming the known ones
    graph = StateGraph(OversightState, context_schema=OversightContext)
    workers: dict[str, Node] = {"decide": verdict}
    if p.speakers > 0:
        workers["believe"] = belief
    if p.chooses:
        workers["choose"] = choose
    if p.speakers > 0:
        workers["speak"] = speak
    if p.interactive:
        workers["ask"] = ask_question
    for name, fn in workers.items():
        graph.add_node(name, fn, retry_policy=model_retry_policy())
        graph.add_edge(name, "step")

    def step(state: OversightState) -> dict[str, Any]:
        """Checks the protocol; fills what a hand-written input (Studio) may leave out: the sides
        (the first speaker argues the correct answer), one judge, two rounds."""
        if state.get("protocol", protocol) != protocol:
            raise ValueError(f"this graph runs protocol {protocol!r}, the input asks for {state.get('protocol')!r}")
        fill: dict[str, Any] = {}
        if "protocol" not in state:
            fill["protocol"] = protocol
        if "sides" not in state:
            answer = state["question"]["answer"]
            fill["sides"] = sides_for(protocol, answer, "B" if answer == "A" else "A", correct_first=True)
        if not state.get("judges"):
            fill["judges"] = [judge_agent(0)]
        if "rounds" not in state:
            fill["rounds"] = 2
        return fill

    graph.add_node("step", step)
    graph.add_edge(START, "step")
    graph.add_conditional_edges("step", next_tasks, [*workers, END])
    return graph


def compile_oversight(protocol: str, checkpointer: Any = None) -> CompiledStateGraph:
    return build_oversight_graph(protocol).compile(checkpointer=checkpointer, name=f"oversight_{protocol}")
