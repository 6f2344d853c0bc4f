"""What a judge sees of a debate: delimited, neutralised, anonymised, optionally permuted.

Debaters can write anything, including text that imitates the transcript's closing delimiter
and then addresses the judge. The transcript is therefore wrapped in delimiters that carry a
nonce derived from its content (unguessable by a debater writing earlier), and delimiter-like
sequences inside it are defused. Speakers become "Debater A/B/..." so the judge cannot favour a
model family by name, and model tags inside the text are masked. Thinking is never shown.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any

from debatelab.agents.thinking import split_thinking

ROLE_LABELS = {"critic": "Critic", "facilitator": "Facilitator", "aggregator": "Moderator"}
_DELIMITER_LIKE = re.compile(r"(<{2,}|>{2,}|\[{2,}|\]{2,}|={4,}|#{4,}|`{3,})")


def neutralise(text: str) -> str:
    """Defuse sequences that could pass for a delimiter (<<<, >>>, [[[, ====, ```)."""
    return _DELIMITER_LIKE.sub(lambda m: " ".join(m.group(0)), text)


def mask_models(text: str, model_tags: set[str]) -> str:
    names = {n for tag in model_tags for n in (tag, tag.split(":")[0]) if len(n) >= 3}
    for name in sorted(names, key=len, reverse=True):  # "mistral:7b" before "mistral"
        text = re.sub(re.escape(name), "[a model]", text, flags=re.IGNORECASE)
    return text


def order_turns(turns: list[dict[str, Any]], permutation_seed: int | None) -> list[dict[str, Any]]:
    """Turns in debate order; with a seed, speakers within each round are shuffled."""
    if permutation_seed is None:
        return list(turns)
    rng = random.Random(permutation_seed)
    by_round: dict[int, list[dict[str, Any]]] = {}
    for t in turns:
        by_round.setdefault(int(t["round"]), []).append(t)
    ordered: list[dict[str, Any]] = []
    for r in sorted(by_round):
        group = by_round[r][:]
        rng.shuffle(group)
        ordered.extend(group)
    return ordered


def speaker_labels(turns: list[dict[str, Any]], anonymise: bool) -> dict[str, str]:
    """Agent -> label, in order of first appearance (so permutation also permutes labels)."""
    labels: dict[str, str] = {}
    letters = iter("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    for t in turns:
        agent = t["agent"]
        if agent in labels:
            continue
        if not anonymise:
            labels[agent] = agent
        elif t["role"] in ROLE_LABELS:
            labels[agent] = ROLE_LABELS[t["role"]]
        else:
            labels[agent] = f"Debater {next(letters)}"
    return labels


def judge_view(
    transcript: dict[str, Any], *, anonymise: bool = True, permutation_seed: int | None = None,
) -> tuple[str, str, list[str]]:
    """Render the transcript for a judge. Returns (text, nonce, speaker order)."""
    turns = order_turns(transcript["turns"], permutation_seed)
    labels = speaker_labels(turns, anonymise)
    tags = {t.get("model", "").split("@")[0] for t in turns if t.get("model")} if anonymise else set()
    stance_word = {"pro": "for the motion", "con": "against the motion"}
    blocks = []
    for t in turns:
        argument, _thinking = split_thinking(t.get("text") or "")
        body = neutralise(mask_models(argument, tags)) or "(no argument given)"
        stance = stance_word.get(t.get("stance", ""), "")
        head = f"[Round {t['round']}] {labels[t['agent']]}" + (f" ({stance})" if stance else "")
        blocks.append(f"{head}:\n{body}")
    body = "\n\n".join(blocks)
    nonce = hashlib.sha256(body.encode()).hexdigest()[:10]
    motion = neutralise(transcript.get("motion") or transcript.get("scenario", ""))
    text = (f"Motion: {motion}\n\n<<<TRANSCRIPT {nonce}>>>\n{body}\n<<<END TRANSCRIPT {nonce}>>>")
    return text, nonce, [labels[t["agent"]] for t in turns]
