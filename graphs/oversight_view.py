"""What an oversight judge reads, and its verdict: the question and options, then (by protocol)
nothing, the passage, or the transcript, fenced and neutralised, quotes marked.

Kept apart from the graph so that a judge can read a transcript the graph did not produce (the
released NYU debates, `judge_state`) exactly as it reads one it did."""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from langchain_core.language_models import BaseChatModel

from debatelab.agents import affinity
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
        passage = state["question"].get("passage") or ""
        return f"Passage:\n{fenced(neutralise(passage))}\n" if passage.strip() else ""
    if p.speakers == 0:
        return ""
    body = transcript_text(state)
    return f"The discussion:\n{fenced(body or '(nobody said anything)')}\n"


def judge_rules(protocol: str, passage: str = "x") -> str:
    return QUOTE_RULES if protocol_named(protocol).speakers > 0 and passage.strip() else ""


def judge_setup(protocol: str, passage: str) -> str:
    """What the judge is told about the protocol; on a closed question (no passage, Kenton et al.'s
    symmetric setting) nobody has read anything the judge has not, and `expert` means the judge
    answers alone, thinking it through."""
    p = protocol_named(protocol)
    if passage.strip():
        return p.setup
    if p.shows_passage:
        return "There is no passage: answer from what you know, thinking the question through step by step."
    if p.speakers == 0:
        return "There is no passage and nobody will argue: answer from the question alone."
    return (p.setup.replace("You cannot read the passage.", "There is no passage: you know what they know.")
            .replace(" who has read it", "").replace(" who have read it", ""))


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
    passage = q.get("passage") or ""
    reads = protocol_named(state["protocol"]).shows_passage and passage.strip()
    with affinity(story_affinity(passage)) if reads else contextlib.nullcontext():
        return await decide(model, setup=judge_setup(state["protocol"], passage),
                            rules=judge_rules(state["protocol"], passage), question=rendered_question(q),
                            evidence="" if reads else judge_evidence(state), letters=letters, limiter=limiter,
                            max_attempts=max_attempts, run_name=run_name,
                            passage=shown_passage(passage) if reads else "")


def shown_passage(passage: str) -> str:
    """The passage as every reader's prompt shows it (debaters and the expert judge alike: one prefix)."""
    return neutralise(passage)


def story_affinity(passage: str) -> str:
    """The slot-affinity key of calls that read this passage: they share a slot and its prompt cache;
    calls without the passage (most judges') carry no key, so they keep off the story's slot."""
    return "story:" + hashlib.sha256(passage.encode()).hexdigest()[:16]
