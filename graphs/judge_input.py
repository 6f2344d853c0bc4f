"""What a judge sees of a debate: delimited, neutralised, anonymised, optionally permuted.

Debaters can write anything, including text that imitates the transcript's closing delimiter,
a speaker header or a chat template's control tokens, and then addresses the judge. So:
- the transcript is wrapped in delimiters carrying a nonce derived from its content (unguessable
  by a debater writing earlier);
- a turn's text is normalised first (Unicode NFKC folds full-width and other look-alikes into
  plain characters; zero-width and bidirectional controls are removed), so no disguise survives
  the checks after it;
- delimiter-like sequences are defused, lines that look like a speaker header are quoted, and
  chat-template control tokens (ChatML, Llama, Gemma, `<s>`) are broken up so an engine
  tokenizes them as plain text, never as the end of a turn or the start of a system message.
Speakers become "Debater A/B/..." so the judge cannot favour a model family by name, and model
tags inside the text are masked. Thinking is never shown.
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from typing import Any

from debatelab.agents import split_thinking

ROLE_LABELS = {"critic": "Critic", "facilitator": "Facilitator", "aggregator": "Moderator"}
_DELIMITER_LIKE = re.compile(r"(<{2,}|>{2,}|\[{2,}|\]{2,}|={4,}|#{4,}|`{3,})")


# Zero-width characters, soft hyphen, and bidirectional embeddings/overrides/isolates.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x85\x0b\x0c]")
# Chat-template control tokens of common model families: ChatML and Llama 3 (<|...|>), Llama 2
# ([INST], <<SYS>>), Gemma (<start_of_turn>, <end_of_turn>), sentence markers (<s>, </s>), and the
# bos/eos spellings some templates use.
_CONTROL_TOKEN = re.compile(
    r"<\|[^<>|\n]{0,48}\|>"
    r"|\[\s*/?\s*INST\s*\]"
    r"|<<\s*/?\s*SYS\s*>>"
    r"|</?\s*(?:start_of_turn|end_of_turn|bos|eos|s|pad|unk|im_start|im_end|eot_id|start_header_id|end_header_id)\s*>",
    re.IGNORECASE,
)
# A line that could pass for a header of the view: "[Round 2] Moderator:", "Debater B (for ...):".
_HEADER_LIKE = re.compile(
    r"^(\s*)(?=\[\s*round\b|(?:debater\s+[a-z]|moderator|critic|facilitator)\b[^\n:]{0,40}:"
    r"|(?:judge|system|assistant|user)\s*:)",
    re.IGNORECASE | re.MULTILINE,
)


def normalise(text: str) -> str:
    """NFKC (full-width and compatibility look-alikes become plain characters), no invisible or
    bidirectional control characters, and one kind of line break (so no header hides behind a
    line separator that a tokenizer would read as a new line)."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    return _LINE_BREAKS.sub("\n", text)  # every line break a model may honour becomes a real one


def _break_control_token(match: re.Match[str]) -> str:
    """`<|im_end|>` -> `‹|im_end|›`, `[INST]` -> `(INST)`: readable, never a special token."""
    token = match.group(0)
    return token.replace("<", "\u2039").replace(">", "\u203a").replace("[", "(").replace("]", ")")


def neutralise(text: str) -> str:
    """Normalise, break chat-template control tokens, defuse delimiter-like sequences (<<<, >>>,
    [[[, ====, ```) and quote lines that look like a speaker header."""
    text = _CONTROL_TOKEN.sub(_break_control_token, normalise(text))
    text = _DELIMITER_LIKE.sub(lambda m: " ".join(m.group(0)), text)
    return _HEADER_LIKE.sub(lambda m: f"{m.group(1)}(quoted) ", text)


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


def debate_body(
    transcript: dict[str, Any], *, anonymise: bool = True, permutation_seed: int | None = None,
) -> tuple[str, list[str]]:
    """The transcript's turns as a judge reads them, without delimiters: (text, speaker order).
    Shared by the absolute judge (one body in delimiters) and the pairwise judge (two bodies)."""
    turns = order_turns(transcript["turns"], permutation_seed)
    labels = speaker_labels(turns, anonymise)
    tags = {t.get("model", "").split("@")[0] for t in turns if t.get("model")} if anonymise else set()
    stance_word = {"pro": "for the motion", "con": "against the motion"}
    blocks = []
    for t in turns:
        argument, _thinking = split_thinking(t.get("text") or "")
        body = neutralise(mask_models(normalise(argument), tags)) or "(no argument given)"
        stance = stance_word.get(t.get("stance", ""), "")
        head = f"[Round {t['round']}] {labels[t['agent']]}" + (f" ({stance})" if stance else "")
        blocks.append(f"{head}:\n{body}")
    return "\n\n".join(blocks), [labels[t["agent"]] for t in turns]


def judge_view(
    transcript: dict[str, Any], *, anonymise: bool = True, permutation_seed: int | None = None,
) -> tuple[str, str, list[str]]:
    """Render the transcript for a judge. Returns (text, nonce, speaker order)."""
    body, order = debate_body(transcript, anonymise=anonymise, permutation_seed=permutation_seed)
    nonce = hashlib.sha256(body.encode()).hexdigest()[:10]
    motion = neutralise(transcript.get("motion") or transcript.get("scenario", ""))
    text = (f"Motion: {motion}\n\n<<<TRANSCRIPT {nonce}>>>\n{body}\n<<<END TRANSCRIPT {nonce}>>>")
    return text, nonce, order
