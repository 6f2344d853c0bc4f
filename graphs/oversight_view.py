"""What an oversight judge reads, and its verdict: the question and options, then (by protocol)
nothing, the passage, or the transcript, fenced and neutralised, quotes marked.

Kept apart from the graph so that a judge can read a transcript the graph did not produce (the
released NYU debates, `judge_state`) exactly as it reads one it did."""

from __future__ import annotations

import hashlib
from typing import Any

from langchain_core.language_models import BaseChatModel

from debatelab.agents.roles import Verdict, decide
from debatelab.graphs.judge_input import neutralise
from debatelab.graphs.protocols import protocol_named
from debatelab.graphs.quotes import QUOTE_RULES


def chosen_letter(state: dict[str, Any]) -> str | None:
    """An open protocol's chosen answer: the choice if readable, else the side's fallback."""
    choice = next((t for t in state.get("turns", []) if t["kind"] == "choice"), None)
    if choice is None:
        return None
    chooser = next(s for s in state["sides"] if s.get("chooses"))
    return choice["letter"] or chooser["fallback"]


def side_letters(state: dict[str, Any]) -> list[str | None]:
    """The letter each side argues (None until an open protocol's choice is made)."""
    letters = state["question"]["options"]
    both = [chr(ord("A") + i) for i in range(len(letters))]
    chosen = chosen_letter(state)
    out: list[str | None] = []
    for side in state["sides"]:
        if side.get("letter"):
            out.append(side["letter"])
        elif side.get("chooses"):
            out.append(chosen)
        else:
            out.append(next((x for x in both if x != chosen), None) if chosen else None)
    return out


def speaker_name(side: dict[str, Any]) -> str:
    return "Consultant" if side["position"] == "consultant" else f"Debater {side['position']}"


def _ordered(turns: list[dict[str, Any]], sides: list[dict[str, Any]]) -> list[dict[str, Any]]:
    order = {s["position"]: i for i, s in enumerate(sides)}
    kind = {"choice": 0, "argument": 1, "question": 2}
    return sorted(turns, key=lambda t: (t["round"], kind[t["kind"]], order.get(t["position"], 99)))


def transcript_text(state: dict[str, Any], *, before_round: int | None = None, upto_side: int | None = None) -> str:
    """The discussion as the judge (and the speakers) read it: arguments and the judge's questions,
    quotes marked. `before_round`/`upto_side`: only what a speaker of that round and side may see."""
    question, sides = state["question"], state["sides"]
    letters = side_letters(state)
    order = {s["position"]: i for i, s in enumerate(sides)}
    lines = []
    for t in _ordered(state.get("turns", []), sides):
        if t["kind"] == "choice":
            continue
        if before_round is not None:
            seen_round = t["round"] < before_round or (
                upto_side is not None and t["round"] == before_round and t["kind"] == "argument"
                and order.get(t["position"], 99) < upto_side)
            if not seen_round:
                continue
        if t["kind"] == "question":
            lines.append(f"[Round {t['round']}] Judge asks: {t['shown']}")
        else:
            side = sides[order[t["position"]]]
            letter = letters[order[t["position"]]]
            option = question["options"][ord(letter) - ord("A")] if letter else "?"
            option = " ".join(neutralise(option).split())  # an option is data: no control token, no fake round line
            lines.append(f"[Round {t['round']}] {speaker_name(side)} (argues {letter}: {option}):\n{t['shown']}")
    return "\n\n".join(lines)


def fenced(body: str) -> str:
    """The transcript inside delimiters carrying a nonce made from its content: a debater writing
    earlier cannot guess them, so it cannot close the transcript and address the judge."""
    nonce = hashlib.sha256(body.encode()).hexdigest()[:10]
    return f"<<<TRANSCRIPT {nonce}\n{body}\nTRANSCRIPT {nonce}>>>"


def rendered_question(question: dict[str, Any]) -> str:
    opts = "\n".join(f"{chr(ord('A') + i)}. {neutralise(text)}" for i, text in enumerate(question["options"]))
    return f"{neutralise(question['question'].strip())}\n{opts}"


def judge_evidence(state: dict[str, Any]) -> str:
    """What the judge reads besides the question: nothing (naive), the passage (expert), or the
    transcript of the arguments, fenced."""
    p = protocol_named(state["protocol"])
    if p.shows_passage:
        return f"Passage:\n{fenced(neutralise(state['question']['passage']))}\n"
    if p.speakers == 0:
        return ""
    body = transcript_text(state)
    return f"The discussion:\n{fenced(body or '(nobody said anything)')}\n"


def judge_rules(protocol: str) -> str:
    return QUOTE_RULES if protocol_named(protocol).speakers > 0 else ""


def judge_state(question: dict[str, Any], protocol: str, argued: list[str], turns: list[dict[str, Any]]
                ) -> dict[str, Any]:
    """The oversight state of a finished transcript the graph did not produce. `argued`: the letter
    each speaker argued, in speaking order; `turns`: argument turns with `round`, `letter` (the
    speaker's side) and `shown` (the text as a judge reads it, quotes already marked)."""
    if protocol_named(protocol).speakers == 1:
        sides = [{"position": "consultant", "agent": "consultant", "letter": argued[0]}]
    else:
        sides = [{"position": str(i + 1), "agent": f"debater_{i + 1}", "letter": x} for i, x in enumerate(argued)]
    position = {s["letter"]: s["position"] for s in sides}
    shaped = [{"kind": "argument", "round": t["round"], "position": position[t["letter"]], "shown": t["shown"]}
              for t in turns if t["letter"] in position]
    return {"question": question, "protocol": protocol, "sides": sides, "turns": shaped}


async def verdict_on(model: BaseChatModel, state: dict[str, Any], *, max_attempts: int = 3, limiter: Any = None,
                     run_name: str | None = None) -> Verdict:
    """A judge's answer, probability and reasons on the state's evidence under its protocol."""
    q = state["question"]
    letters = [chr(ord("A") + i) for i in range(len(q["options"]))]
    return await decide(model, setup=protocol_named(state["protocol"]).setup, rules=judge_rules(state["protocol"]),
                        question=rendered_question(q), evidence=judge_evidence(state), letters=letters,
                        limiter=limiter, max_attempts=max_attempts, run_name=run_name)
